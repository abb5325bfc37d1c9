"""Power meters: one module per source, one interface (:class:`MeterSource`), one detector.

The server's sampler, headless runs and the kernel's ``%carbon status`` all open meters
through :func:`open_meters`, so every host sees the same meters and the same diagnoses.
"""

from .base import Channel, Diagnosis, Domain, Kind, MeterSource, Method, Reading, Status
from .detect import MeterConfig, MeterSet, open_meters, validate_meters

__all__ = [
    "Channel",
    "Diagnosis",
    "Domain",
    "Kind",
    "MeterConfig",
    "MeterSet",
    "MeterSource",
    "Method",
    "Reading",
    "Status",
    "open_meters",
    "validate_meters",
]
