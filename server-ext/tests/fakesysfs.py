"""Fake powercap and hwmon trees whose counters follow a known power profile.

Tests drive time by hand: ``advance(seconds)`` integrates each zone's power profile and
writes the wrapped counter, exactly as the kernel's RAPL driver would present it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PowerProfile = Callable[[float], float]  # watts at time t (seconds since the tree was made)


def constant(watts: float) -> PowerProfile:
    return lambda _t: watts


def steps(*segments: tuple[float, float]) -> PowerProfile:
    """Piecewise-constant power: ((until_t, watts), ...); the last value holds afterwards."""

    def profile(t: float) -> float:
        for until, watts in segments:
            if t < until:
                return watts
        return segments[-1][1]

    return profile


@dataclass
class FakeZone:
    path: Path
    profile: PowerProfile
    max_range_uj: int
    energy_uj: float = 0.0  # true, unwrapped
    offset_uj: int = 0
    in_place: bool = False

    def write(self) -> None:
        raw = (int(self.energy_uj) + self.offset_uj) % self.max_range_uj
        if self.in_place:
            # The same file rewritten, as sysfs's is: a reader's kept descriptor stays valid
            # (a replaced file makes it reopen). Fixed width, so no write leaves a longer old
            # tail; a read racing the write may mix digits (a copy of 21 bytes: benchmarks only).
            with open(self.path / "energy_uj", "r+b" if (self.path / "energy_uj").exists() else "wb") as file:
                file.write(f"{raw:020d}\n".encode())
            return
        # sysfs reads are atomic: replace the file so a reader never sees it half written.
        staging = self.path / ".energy_uj.new"
        staging.write_text(f"{raw}\n")
        staging.replace(self.path / "energy_uj")


@dataclass
class FakePowercap:
    """``in_place``: counters rewritten in their file (see ``FakeZone.write``), for benchmarks
    of what reading them costs; tests keep the default, whose reads are never torn."""

    root: Path
    now: float = 0.0
    zones: dict[str, FakeZone] = field(default_factory=dict)
    in_place: bool = False

    def add_zone(
        self,
        directory: str,
        name: str,
        profile: PowerProfile,
        max_range_uj: int = 262_143_328_850,
        start_uj: int = 0,
    ) -> FakeZone:
        path = self.root / directory
        path.mkdir(parents=True, exist_ok=True)
        (path / "name").write_text(f"{name}\n")
        (path / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
        zone = FakeZone(path, profile, max_range_uj, offset_uj=start_uj, in_place=self.in_place)
        zone.write()
        self.zones[directory] = zone
        return zone

    def advance(self, seconds: float, step: float = 0.01) -> None:
        """Integrate every zone's profile over ``seconds`` (midpoint rule, fine steps)."""
        end = self.now + seconds
        while self.now < end - 1e-12:
            dt = min(step, end - self.now)
            for zone in self.zones.values():
                zone.energy_uj += zone.profile(self.now + dt / 2) * dt * 1e6
            self.now += dt
        for zone in self.zones.values():
            zone.write()

    def true_joules(self, directory: str) -> float:
        return self.zones[directory].energy_uj / 1e6


def make_hwmon(root: Path, device: str, driver: str, files: dict[str, str]) -> Path:
    path = root / device
    path.mkdir(parents=True, exist_ok=True)
    (path / "name").write_text(f"{driver}\n")
    for name, value in files.items():
        (path / name).write_text(f"{value}\n")
    return path


class RealTimeDriver:
    """Advances a fake tree in wall-clock time, for tests of a running server.

    In a child process (forked, so the profiles need no pickling), at a raised priority where
    allowed: a real counter never lags, and a thread of the test process would, waiting for the
    GIL behind the in-process server on a busy machine (a cell then saw no energy at all).
    """

    def __init__(self, fake: FakePowercap, period_s: float = 0.01) -> None:
        import multiprocessing

        self._fake = fake
        self._period = period_s
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        self._process = context.Process(target=self._run, daemon=True)

    def _run(self) -> None:
        import contextlib
        import os
        import time

        with contextlib.suppress(OSError):
            os.nice(-5)  # only root may; elsewhere the default priority
        last = time.monotonic()
        while not self._stop.wait(self._period):
            now = time.monotonic()
            self._fake.advance(now - last, step=now - last)
            last = now

    def __enter__(self) -> RealTimeDriver:
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
