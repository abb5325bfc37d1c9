"""The intensity, PUE and price in force on this server, and the impact of each run under them.

JupyterLab's settings (per user) are sent here by the frontend; the server configuration can
pin a zone or a number for a whole deployment; live providers are configured server-side
because they need credentials. Every run is stamped with the impact computed at the time, so
history does not change when settings change.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .intensity import (
    ElectricityMapsProvider,
    ForecastCache,
    ForecastPoint,
    GBCarbonIntensityProvider,
    IntensitySettings,
    LiveIntensityProvider,
    ResolvedIntensity,
    WattTimeProvider,
    compute_impact,
    resolve_intensity,
    resolve_live,
)
from .intensity.resolve import ZONE_METHODS
from .private_files import PRIVATE_FILE_MODE, tighten, write_private_text


@dataclass(frozen=True)
class NumberRange:
    """The plausible values of a numeric setting; anything outside is a typo or an attack."""

    minimum: float
    maximum: float
    unit: str
    why: str

    def check(self, name: str, value: Any) -> float | None:
        """``value`` as a float (None stays None), or a ValueError naming ``name`` and the range."""
        if value is None:
            return None
        # bool is an int to Python, not a number to a user; a huge int is compared before float() could overflow.
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(value, float) and math.isnan(value))
        ):
            raise ValueError(f"'{name}' must be a number or null, got {_shorten(value)}")
        if not self.minimum <= value <= self.maximum:
            unit = f" {self.unit}" if self.unit else ""
            raise ValueError(
                f"'{name}' must be between {self.minimum:g} and {self.maximum:g}{unit} ({self.why}), "
                f"got {_shorten(value)}"
            )
        return float(value)


@dataclass(frozen=True)
class TextRule:
    """What a string setting may hold; it is stored with surrounding spaces removed."""

    pattern: str  # the same regular expression as in openapi.yaml, which a test compares
    max_length: int
    expected: str  # said to the user when the value does not match

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"'{name}' must be a string, got {_shorten(value)}")
        if len(value) > self.max_length:
            raise ValueError(f"'{name}' must be at most {self.max_length} characters, got {len(value)}")
        if not re.fullmatch(self.pattern, value):
            raise ValueError(f"'{name}' must be {self.expected}, got {_shorten(value)}")
        return value.strip()


# Bounds of the numeric settings (documented in openapi.yaml and the README).
NUMBER_RANGES: dict[str, NumberRange] = {
    "intensity": NumberRange(0.0, 2000.0, "gCO2e/kWh", "the most carbon-intensive grids, on lignite, emit about 1,200"),
    "pue": NumberRange(1.0, 3.0, "", "1.0 is no overhead at all; the least efficient data centres report about 2.5"),
    "price": NumberRange(
        0.0, 10000.0, "per kWh", "room for currencies with small units, such as IDR or VND, whose kWh costs thousands"
    ),
}
IDENTIFIER = r"[A-Za-z0-9 _-]*"  # grid zones (US-CA, SE-SE3) and cloud regions (us-east-1, West Europe)
TEXT_RULES: dict[str, TextRule] = {
    "zone": TextRule(IDENTIFIER, 64, "a grid zone code such as FR, US-CA or SE-SE3 (letters, digits, '-')"),
    "cloudProvider": TextRule("|aws|azure|gcp", 64, "one of aws, azure, gcp, or empty"),
    "cloudRegion": TextRule(IDENTIFIER, 64, "a cloud region such as us-east-1, westeurope or europe-west1"),
    "currency": TextRule(" *([A-Za-z]{3})? *", 64, "a 3-letter ISO 4217 currency code such as EUR or USD, or empty"),
    "liveProvider": TextRule(
        "|gb-carbon-intensity|electricitymaps|watttime",
        64,
        "one of gb-carbon-intensity, electricitymaps, watttime, or empty",
    ),
}


def _shorten(value: Any, limit: int = 40) -> str:
    """A value for an error message, cut short: the message must not echo a megabyte back."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


@dataclass
class UserIntensitySettings:
    """What JupyterLab's "Carbon: badges" settings say (camelCase as in the schema)."""

    intensity: float | None = None  # gCO2e/kWh the user typed
    zone: str = ""  # grid zone picked in settings, e.g. "FR", "US-CA"
    cloudProvider: str = ""  # aws, azure, gcp
    cloudRegion: str = ""
    pue: float | None = None
    price: float | None = None  # per kWh, in `currency`
    currency: str = ""  # ISO 4217, upper case
    liveProvider: str = ""  # "", gb-carbon-intensity, electricitymaps, watttime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UserIntensitySettings:
        """Validate a settings body; a ValueError says which field is wrong and what it may hold."""
        known = cls.__dataclass_fields__
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"Unknown setting(s): {', '.join(_shorten(name) for name in unknown[:5])}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in NUMBER_RANGES:
                values[name] = NUMBER_RANGES[name].check(name, value)
            else:
                values[name] = TEXT_RULES[name].check(name, value)
        if "currency" in values:
            values["currency"] = values["currency"].upper()
        return cls(**values)


def check_deployment(settings: IntensitySettings) -> None:
    """Refuse server configuration numbers outside the ranges users are held to."""
    options = {
        "intensity": ("intensity_gco2e_per_kwh", settings.user_gco2e_per_kwh),
        "pue": ("pue", settings.pue),
        "price": ("price_per_kwh", settings.price_per_kwh),
    }
    for name, (option, value) in options.items():
        try:
            NUMBER_RANGES[name].check(name, value)
        except ValueError as err:
            raise ValueError(
                f"c.CarbonConfig.{option} = {value!r} is refused: {err}. Fix it in jupyter_server_config.py."
            ) from None


class ImpactService:
    """Resolves the intensity in force and computes the impact of runs."""

    def __init__(
        self,
        state_file: Path,
        deployment: IntensitySettings,
        providers: dict[str, LiveIntensityProvider],
        log: logging.Logger | None = None,
    ) -> None:
        """``state_file`` keeps the user's settings across restarts (owner-only, like the ledger).

        Raises ValueError when the deployment's numbers are outside the plausible ranges.
        """
        check_deployment(deployment)
        self._state_file = state_file
        self._deployment = deployment
        self._providers = providers
        self._log = log or logging.getLogger(__name__)
        self._lock = threading.Lock()
        self._user = self._load()
        self._forecasts = ForecastCache(log=self._log)

    def _load(self) -> UserIntensitySettings:
        """The saved settings; a file that fails today's checks is not trusted, and says so."""
        try:
            text = self._state_file.read_text()
        except FileNotFoundError:
            return UserIntensitySettings()  # nothing saved yet
        except OSError as err:
            self._log.warning(
                "jupyterlab-carbon: cannot read the intensity settings %s (%s); using defaults", self._state_file, err
            )
            return UserIntensitySettings()
        tighten(self._state_file, PRIVATE_FILE_MODE)  # written world-readable by earlier versions
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("it is not a JSON object of settings")
            return UserIntensitySettings.from_json(data)
        except (ValueError, RecursionError) as err:
            self._log.warning(
                "jupyterlab-carbon: ignoring the intensity settings in %s: %s. Defaults apply until the "
                "settings are saved again from JupyterLab's Settings (Carbon).",
                self._state_file,
                err,
            )
            return UserIntensitySettings()

    @property
    def user_settings(self) -> UserIntensitySettings:
        return self._user

    @property
    def live_providers(self) -> list[str]:
        return sorted(self._providers)

    def settings(self, user: UserIntensitySettings | None = None) -> IntensitySettings:
        """The deployment's settings (server config) merged with the user's."""
        user = user or self._user
        deployment = self._deployment
        return IntensitySettings(
            user_gco2e_per_kwh=user.intensity if user.intensity is not None else deployment.user_gco2e_per_kwh,
            user_zone=deployment.user_zone,
            cloud_provider=user.cloudProvider or deployment.cloud_provider,
            cloud_region=user.cloudRegion or deployment.cloud_region,
            settings_zone=user.zone or deployment.settings_zone,
            pue=user.pue if user.pue is not None else deployment.pue,
            price_per_kwh=user.price if user.price is not None else deployment.price_per_kwh,
            currency=user.currency or deployment.currency,
        )

    def _provider(self, user: UserIntensitySettings) -> LiveIntensityProvider | None:
        if not user.liveProvider:
            return None
        if user.liveProvider not in self._providers:
            raise ValueError(
                f"Live provider '{user.liveProvider}' is not configured on this server; available: "
                f"{', '.join(sorted(self._providers)) or 'none'} (see CarbonConfig.live_* options)"
            )
        return self._providers[user.liveProvider]

    def update(self, data: dict[str, Any]) -> ResolvedIntensity:
        """Check new settings by resolving them (no network), then keep and save them.

        Blocks on the file system: the server calls it from a thread, never on the event loop.
        """
        user = UserIntensitySettings.from_json(data)
        self._provider(user)
        resolved = resolve_intensity(self.settings(user))
        with self._lock:
            write_private_text(self._state_file, json.dumps(asdict(user), indent=1, allow_nan=False))
            self._user = user
        return resolved

    def resolved(self) -> ResolvedIntensity:
        """The intensity in force now (may ask a live provider: call it off the event loop)."""
        user = self._user
        try:
            provider = self._provider(user)
        except ValueError:
            provider = None  # a provider dropped from the config since: the bundled value applies
        return resolve_live(self.settings(user), provider)

    def lowest_forecast(self) -> ForecastPoint | None:
        """The greenest time of the next 24 hours by the user's live provider, as far as known now.

        None without a live provider, for an intensity that is not a grid zone's, or until the
        forecast has been fetched (in the background: this never waits for the network).
        """
        user = self._user
        try:
            provider = self._provider(user)
        except ValueError:
            return None
        if provider is None:
            return None
        resolved = resolve_intensity(self.settings(user))
        if resolved.method not in ZONE_METHODS or resolved.zone is None:
            return None
        return self._forecasts.lowest(provider, resolved.zone)

    def impact(self, energy_joules: float) -> dict[str, Any]:
        settings = self.settings()
        result = compute_impact(energy_joules, self.resolved(), settings.price_per_kwh, settings.currency)
        return result.to_json()


def build_providers(config: Any) -> dict[str, LiveIntensityProvider]:
    """The live providers the server configuration enables (GB needs no account)."""
    providers: dict[str, LiveIntensityProvider] = {"gb-carbon-intensity": GBCarbonIntensityProvider()}
    if config.live_electricitymaps_token:
        providers["electricitymaps"] = ElectricityMapsProvider(config.live_electricitymaps_token)
    if config.live_watttime_username and config.live_watttime_password:
        providers["watttime"] = WattTimeProvider(
            config.live_watttime_username, config.live_watttime_password, dict(config.live_watttime_regions)
        )
    return providers
