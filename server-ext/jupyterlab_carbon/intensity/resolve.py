"""Decide which carbon intensity and PUE apply, and say in words where they come from.

The order is fixed and explicit, because the user must be able to predict which setting wins:

1. a number the user set (``user-value``);
2. a grid zone the user set (``user-zone``);
3. a cloud region the user set (``cloud-region``);
4. the zone picked in the settings (``settings-zone``);
5. the world average, 475 gCO2e/kWh, flagged as an assumption (``assumed-world-average``).

A live value replaces the bundled one when it is for the zone that steps 2-4 chose
(``live``); when the live provider failed, the bundled value is used and the message says
that the live provider failed and why. A typo in a zone or region name is an error listing
close matches, never a silent fall-through to the next step.

PUE: the user's value, else the cloud region's (or provider's) PUE, else 1.0 for a machine
that is not in a data centre.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from ..data import CloudRegion, GridZone, cloud_provider_pue, cloud_regions, grid_zones
from .live import LiveIntensity, LiveIntensityError, LiveIntensityProvider

WORLD_ZONE = "WORLD"
METHODS = ("user-value", "user-zone", "live", "cloud-region", "settings-zone", "assumed-world-average")
# Methods whose zone a live provider can be asked about.
ZONE_METHODS = ("user-zone", "cloud-region", "settings-zone")
DESK_PUE = 1.0
SETTINGS_HINT = "Pick your region in Settings > Carbon."


@dataclass
class IntensitySettings:
    """What the user (or the server configuration) said about intensity, PUE and price."""

    user_gco2e_per_kwh: float | None = None
    user_zone: str | None = None
    cloud_provider: str | None = None
    cloud_region: str | None = None
    settings_zone: str | None = None
    pue: float | None = None
    price_per_kwh: float | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ResolvedIntensity:
    """The intensity and PUE in use, with their provenance and one sentence for the user."""

    gco2e_per_kwh: float
    method: str  # one of METHODS
    zone: str | None
    zone_name: str | None
    source: str
    year: int | None
    license: str | None
    pue: float
    pue_source: str
    is_assumption: bool
    message: str
    cloud_provider: str | None = None
    cloud_region: str | None = None
    observed_at: str | None = None  # the live provider's timestamp, for method "live"
    live_error: str | None = None  # why the live provider failed, when it did

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def fmt_intensity(value: float) -> str:
    """An intensity for people: whole grams from 100 up, three significant digits below."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _cite(source: str, year: int | None) -> str:
    return f"{source}, {year}" if year is not None else source


def _suggest(wanted: str, choices: dict[str, str]) -> str:
    """'Close matches: A (name), B (name).' from codes and their names, or ''."""
    lowered = {code.lower(): code for code in choices}
    hits = difflib.get_close_matches(wanted.lower(), list(lowered), n=5, cutoff=0.6)
    by_name = {name.lower(): code for code, name in choices.items() if name}
    hits += [by_name[n] for n in difflib.get_close_matches(wanted.lower(), list(by_name), n=3)]
    codes = list(dict.fromkeys(lowered.get(h, h) for h in hits))
    if not codes:
        return ""
    return (
        " Close matches: " + ", ".join(f"{code} ({choices[code]})" if choices[code] else code for code in codes) + "."
    )


def find_zone(code: str) -> GridZone:
    """The bundled zone for ``code`` (case-insensitive), or ValueError with close matches."""
    zones = grid_zones()
    zone = zones.get(code.strip().upper())
    if zone is None:
        names = {z.zone: z.name for z in zones.values()}
        raise ValueError(
            f"Unknown grid zone {code!r}.{_suggest(code.strip(), names)} Zones are ISO 3166 codes "
            "such as 'FR', sub-national codes such as 'US-CA' or 'SE-SE3', or 'WORLD'."
        )
    return zone


def _region_key(provider: str, region: str) -> str:
    region = region.strip().lower()
    # Azure regions are written 'West Europe' on the portal and 'westeurope' in APIs.
    return re.sub(r"[^a-z0-9]", "", region) if provider == "azure" else region


def _check_provider(provider: str) -> str:
    providers = cloud_provider_pue()
    key = provider.strip().lower()
    if key not in providers:
        raise ValueError(f"Unknown cloud provider {provider!r}. Known providers: {', '.join(sorted(providers))}.")
    return key


def find_cloud_region(provider: str | None, region: str) -> CloudRegion:
    """The bundled region, looked up in ``provider`` or, without one, in all providers."""
    regions = cloud_regions()
    providers = [_check_provider(provider)] if provider else sorted(cloud_provider_pue())
    found = [regions[(p, _region_key(p, region))] for p in providers if (p, _region_key(p, region)) in regions]
    if len(found) == 1:
        return found[0]
    if found:
        raise ValueError(
            f"Cloud region {region!r} exists for {', '.join(r.provider for r in found)}: set the cloud provider too."
        )
    elsewhere = [p for p in cloud_provider_pue() if (p, _region_key(p, region)) in regions]
    if elsewhere:
        raise ValueError(f"{region!r} is not a {providers[0]} region; it is a {' and '.join(elsewhere)} region.")
    names = {f"{p}/{r}": regions[(p, r)].location for (p, r) in regions if p in providers}
    where = f"{providers[0]} region" if provider else "cloud region"
    raise ValueError(f"Unknown {where} {region!r}.{_suggest(region.strip(), names)}")


def _check_number(name: str, value: float | None, minimum: float) -> None:
    if value is not None and (not math.isfinite(value) or value < minimum):
        raise ValueError(f"{name} must be a number >= {minimum:g}, got {value!r}")


def _pue(settings: IntensitySettings, region: CloudRegion | None, provider: str | None) -> tuple[float, str]:
    if settings.pue is not None:
        return settings.pue, "your setting"
    if region is not None:
        return region.pue, f"{region.pue_source}, {region.provider} {region.region}"
    if provider is not None:
        fleet = cloud_provider_pue()[provider]
        return fleet.pue, f"{fleet.source} {provider} fleet average"
    return DESK_PUE, "1.0: no data-centre overhead assumed (no cloud provider or PUE set)"


def _zone_name(code: str | None) -> str | None:
    zone = grid_zones().get(code) if code else None
    return zone.name if zone else None


def resolve_intensity(
    settings: IntensitySettings,
    live: LiveIntensity | LiveIntensityError | None = None,
) -> ResolvedIntensity:
    """The intensity in use for ``settings``, optionally with a live reading (or its failure).

    Raises ValueError for an unknown zone, provider or region (even one that a higher-priority
    setting overrides: a typo should be reported, not hidden) and for impossible numbers.
    """
    _check_number("The carbon intensity", settings.user_gco2e_per_kwh, 0.0)
    _check_number("The PUE", settings.pue, 1.0)
    _check_number("The price per kWh", settings.price_per_kwh, 0.0)
    user_zone = find_zone(settings.user_zone) if settings.user_zone else None
    settings_zone = find_zone(settings.settings_zone) if settings.settings_zone else None
    provider = _check_provider(settings.cloud_provider) if settings.cloud_provider else None
    region = find_cloud_region(provider, settings.cloud_region) if settings.cloud_region else None
    pue, pue_source = _pue(settings, region, provider or (region.provider if region else None))
    common: dict[str, Any] = {
        "pue": pue,
        "pue_source": pue_source,
        "cloud_provider": region.provider if region else provider,
        "cloud_region": region.region if region else None,
    }

    if settings.user_gco2e_per_kwh is not None:
        value = settings.user_gco2e_per_kwh
        resolved = ResolvedIntensity(
            gco2e_per_kwh=value,
            method="user-value",
            zone=None,
            zone_name=None,
            source="your setting",
            year=None,
            license=None,
            is_assumption=False,
            message=f"Using the carbon intensity you set: {fmt_intensity(value)} gCO2e/kWh.",
            **common,
        )
    elif user_zone is not None:
        resolved = _from_zone(user_zone, "user-zone", common)
    elif region is not None:
        resolved = ResolvedIntensity(
            gco2e_per_kwh=region.gco2e_per_kwh,
            method="cloud-region",
            zone=region.zone,
            zone_name=_zone_name(region.zone),
            source=region.source,
            year=region.year,
            license=region.license,
            is_assumption=False,
            message=f"Using {region.provider} {region.region} ({region.location}): "
            f"{fmt_intensity(region.gco2e_per_kwh)} gCO2e/kWh ({_cite(region.source, region.year)}).",
            **common,
        )
    elif settings_zone is not None:
        resolved = _from_zone(settings_zone, "settings-zone", common)
    else:
        world = grid_zones()[WORLD_ZONE]
        resolved = ResolvedIntensity(
            gco2e_per_kwh=world.gco2e_per_kwh,
            method="assumed-world-average",
            zone=world.zone,
            zone_name=world.name,
            source=world.source,
            year=world.year,
            license=world.license,
            is_assumption=True,
            message=f"Region unknown: using the world average {fmt_intensity(world.gco2e_per_kwh)} "
            f"gCO2e/kWh ({_cite(world.source, world.year)}). {SETTINGS_HINT}",
            **common,
        )
    return _apply_live(resolved, live) if live is not None else resolved


def _from_zone(zone: GridZone, method: str, common: dict[str, Any]) -> ResolvedIntensity:
    return ResolvedIntensity(
        gco2e_per_kwh=zone.gco2e_per_kwh,
        method=method,
        zone=zone.zone,
        zone_name=zone.name,
        source=zone.source,
        year=zone.year,
        license=zone.license,
        is_assumption=False,
        message=f"Using {zone.name} ({zone.zone}): {fmt_intensity(zone.gco2e_per_kwh)} "
        f"gCO2e/kWh ({_cite(zone.source, zone.year)}).",
        **common,
    )


def _apply_live(resolved: ResolvedIntensity, live: LiveIntensity | LiveIntensityError) -> ResolvedIntensity:
    """Replace the bundled value by a live one for the same zone, or explain why not."""
    if resolved.method not in ZONE_METHODS or resolved.zone != live.zone:
        why = (
            f"the intensity in use is for {resolved.zone}"
            if resolved.method in ZONE_METHODS and resolved.zone
            else "the intensity in use does not come from a grid zone"
        )
        return _with_message(resolved, f"{resolved.message} (Live data for {live.zone} not used: {why}.)")
    if isinstance(live, LiveIntensityError):
        return ResolvedIntensity(
            **{
                **asdict(resolved),
                "live_error": live.reason,
                "message": f"Live intensity from {live.provider} failed: {live.reason}. "
                f"Using the bundled value instead. {resolved.message}",
            }
        )
    return ResolvedIntensity(
        **{
            **asdict(resolved),
            "gco2e_per_kwh": live.gco2e_per_kwh,
            "method": "live",
            "source": f"{live.provider_label} (live, {live.signal})",
            "year": None,
            "license": None,
            "observed_at": live.observed_at,
            "message": f"Using live data for {resolved.zone_name or live.zone} ({live.zone}): "
            f"{fmt_intensity(live.gco2e_per_kwh)} gCO2e/kWh from {live.provider_label}, "
            f"{live.signal}" + (f", at {live.observed_at}" if live.observed_at else "") + ".",
        }
    )


def _with_message(resolved: ResolvedIntensity, message: str) -> ResolvedIntensity:
    return ResolvedIntensity(**{**asdict(resolved), "message": message})


def resolve_live(settings: IntensitySettings, provider: LiveIntensityProvider | None) -> ResolvedIntensity:
    """Resolve, then ask ``provider`` about the chosen zone and let its answer (or failure) in.

    The provider is asked only when the bundled resolution picked a grid zone, so a number
    the user typed or the assumed world average never cost a network request.
    """
    resolved = resolve_intensity(settings)
    if provider is None or resolved.method not in ZONE_METHODS or resolved.zone is None:
        return resolved
    try:
        live: LiveIntensity | LiveIntensityError = provider.fetch(resolved.zone)
    except LiveIntensityError as exc:
        live = exc
    return resolve_intensity(settings, live)
