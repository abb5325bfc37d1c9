"""Carbon intensity (bundled, cloud, live) and the impact of energy: gCO2e, cost, equivalents.

Only the standard library is used, so the kernel side (``%%carbon`` in headless runs) can
compute impacts without the server's dependencies.
"""

from .forecast import ForecastCache
from .impact import DEFAULT_EQUIVALENTS, JOULES_PER_KWH, Equivalent, Impact, compute_impact
from .live import (
    ElectricityMapsProvider,
    ForecastPoint,
    GBCarbonIntensityProvider,
    LiveIntensity,
    LiveIntensityError,
    LiveIntensityProvider,
    TTLCache,
    WattTimeProvider,
)
from .resolve import (
    METHODS,
    IntensitySettings,
    ResolvedIntensity,
    find_cloud_region,
    find_zone,
    resolve_intensity,
    resolve_live,
)

__all__ = [
    "DEFAULT_EQUIVALENTS",
    "JOULES_PER_KWH",
    "METHODS",
    "ElectricityMapsProvider",
    "Equivalent",
    "ForecastCache",
    "ForecastPoint",
    "GBCarbonIntensityProvider",
    "Impact",
    "IntensitySettings",
    "LiveIntensity",
    "LiveIntensityError",
    "LiveIntensityProvider",
    "ResolvedIntensity",
    "TTLCache",
    "WattTimeProvider",
    "compute_impact",
    "find_cloud_region",
    "find_zone",
    "resolve_intensity",
    "resolve_live",
]
