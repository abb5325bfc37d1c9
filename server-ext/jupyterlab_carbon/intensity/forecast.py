"""The lowest-intensity time of the next 24 hours, from the live provider's forecast, without waiting for it.

The prediction gate shows it as a greener option, and a gate's lookup must answer in milliseconds:
so a lookup reads only what was fetched before, and a missing or stale forecast is fetched on a
background thread (one per provider and zone at a time) for the next lookup. A failed fetch keeps
what was known and is logged; the gate then simply shows no forecast.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .live import ForecastPoint, LiveIntensityError, LiveIntensityProvider

REFRESH_S = 15 * 60.0  # the providers' own data changes about this often
HORIZON_S = 24 * 3600.0
CURRENT_PERIOD_S = 30 * 60.0  # a point that started up to half an hour ago is still now (GB's periods)


@dataclass(frozen=True)
class _Known:
    checked_at: float  # monotonic
    points: tuple[ForecastPoint, ...]


class ForecastCache:
    def __init__(
        self,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        log: logging.Logger | None = None,
    ) -> None:
        self._refresh_s = refresh_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._log = log or logging.getLogger(__name__)
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], _Known] = {}
        self._in_flight: dict[tuple[str, str], threading.Thread] = {}

    def lowest(self, provider: LiveIntensityProvider, zone: str) -> ForecastPoint | None:
        """The lowest-intensity point from now to 24 hours ahead, from what is known now (never blocks)."""
        key = (provider.name, zone)
        with self._lock:
            known = self._known.get(key)
            stale = known is None or self._clock() - known.checked_at >= self._refresh_s
            if stale and key not in self._in_flight:
                thread = threading.Thread(
                    target=self._refresh, args=(provider, zone, key), name="carbon-forecast", daemon=True
                )
                self._in_flight[key] = thread
                thread.start()
        now = self._wall_clock()
        ahead = [
            point for point in (known.points if known else ()) if now - CURRENT_PERIOD_S <= point.at <= now + HORIZON_S
        ]
        return min(ahead, key=lambda point: (point.gco2e_per_kwh, point.at)) if ahead else None

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait for the fetches in flight (tests, and a caller that can afford to)."""
        with self._lock:
            threads = list(self._in_flight.values())
        for thread in threads:
            thread.join(timeout_s)

    def _refresh(self, provider: LiveIntensityProvider, zone: str, key: tuple[str, str]) -> None:
        try:
            points: tuple[ForecastPoint, ...] | None = tuple(provider.forecast(zone))
        except LiveIntensityError as err:
            self._log.info("jupyterlab-carbon: no intensity forecast for the gate: %s", err)
            points = None
        with self._lock:
            previous = self._known.get(key)
            kept = points if points is not None else (previous.points if previous else ())
            self._known[key] = _Known(self._clock(), kept)
            self._in_flight.pop(key, None)
