"""The intensity, PUE and price in force on this server, and the impact of each run under them.

JupyterLab's settings (per user) are sent here by the frontend; the server configuration can
pin a zone or a number for a whole deployment; live providers are configured server-side
because they need credentials. Every run is stamped with the impact computed at the time, so
history does not change when settings change.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .intensity import (
    ElectricityMapsProvider,
    GBCarbonIntensityProvider,
    IntensitySettings,
    LiveIntensityProvider,
    ResolvedIntensity,
    WattTimeProvider,
    compute_impact,
    resolve_intensity,
    resolve_live,
)


@dataclass
class UserIntensitySettings:
    """What JupyterLab's "Carbon: badges" settings say (camelCase as in the schema)."""

    intensity: float | None = None  # gCO2e/kWh the user typed
    zone: str = ""  # grid zone picked in settings, e.g. "FR", "US-CA"
    cloudProvider: str = ""  # aws, azure, gcp
    cloudRegion: str = ""
    pue: float | None = None
    price: float | None = None  # per kWh, in `currency`
    currency: str = ""
    liveProvider: str = ""  # "", gb-carbon-intensity, electricitymaps, watttime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UserIntensitySettings:
        """Validate a settings body; a ValueError says which field is wrong."""
        known = cls.__dataclass_fields__
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"Unknown setting(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in ("intensity", "pue", "price"):
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                ):
                    raise ValueError(f"'{name}' must be a number or null, got {value!r}")
                values[name] = None if value is None else float(value)
            else:
                if not isinstance(value, str):
                    raise ValueError(f"'{name}' must be a string, got {value!r}")
                values[name] = value.strip()
        return cls(**values)


class ImpactService:
    """Resolves the intensity in force and computes the impact of runs."""

    def __init__(
        self,
        state_file: Path,
        deployment: IntensitySettings,
        providers: dict[str, LiveIntensityProvider],
    ) -> None:
        self._state_file = state_file
        self._deployment = deployment
        self._providers = providers
        self._lock = threading.Lock()
        self._user = self._load()

    def _load(self) -> UserIntensitySettings:
        try:
            return UserIntensitySettings.from_json(json.loads(self._state_file.read_text()))
        except (OSError, ValueError):
            return UserIntensitySettings()  # nothing saved yet, or a file from elsewhere: start clean

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
        """Check new settings by resolving them (no network), then keep and save them."""
        user = UserIntensitySettings.from_json(data)
        self._provider(user)
        resolved = resolve_intensity(self.settings(user))
        with self._lock:
            self._user = user
            self._state_file.parent.mkdir(parents=True, exist_ok=True)
            staging = self._state_file.with_suffix(".tmp")
            staging.write_text(json.dumps(asdict(user), indent=1))
            staging.replace(self._state_file)
        return resolved

    def resolved(self) -> ResolvedIntensity:
        """The intensity in force now (may ask a live provider: call it off the event loop)."""
        user = self._user
        try:
            provider = self._provider(user)
        except ValueError:
            provider = None  # a provider dropped from the config since: the bundled value applies
        return resolve_live(self.settings(user), provider)

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
