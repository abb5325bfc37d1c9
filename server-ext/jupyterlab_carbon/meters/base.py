"""The one interface every power-meter source implements.

A source yields *channels*. A channel is either a cumulative energy counter (joules,
unwrapped by the source) or a power gauge (watts, integrated by the sampler). Every
channel carries its method so that no number downstream loses its provenance.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any


class Method(str, Enum):
    """How a channel's figures are obtained, from most to least trustworthy."""

    MEASURED_COUNTER = "measured-counter"
    MEASURED_POWER = "measured-power"
    MODELED = "modeled"


class Kind(str, Enum):
    """What :meth:`MeterSource.read` returns for a channel."""

    ENERGY = "energy"  # cumulative joules since the source was opened
    POWER = "power"  # instantaneous watts


class Domain(str, Enum):
    """The part of the node a channel covers; selection keeps domains from overlapping."""

    PSYS = "psys"  # the whole platform as RAPL sees it (package + dram + more)
    CPU = "cpu"
    DRAM = "dram"
    GPU = "gpu"
    OTHER = "other"


class Status(str, Enum):
    OK = "ok"
    NOT_PRESENT = "not-present"
    PERMISSION_DENIED = "permission-denied"
    UNAVAILABLE = "unavailable"
    ERROR = "error"
    DROPPED = "dropped"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Channel:
    """One measured (or modeled) quantity of the node."""

    id: str  # e.g. "cpu/package-0", "gpu/0"
    domain: Domain
    label: str  # human name, e.g. "CPU package 0", "NVIDIA A100-SXM4-40GB"
    kind: Kind
    method: Method
    source: str  # "rapl", "nvml", "amdsmi", "hwmon", "model"
    resolution_j: float = 0.0  # smallest energy step the counter can show
    device: dict[str, str] = field(default_factory=dict)  # uuid, path, index...

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["domain"] = self.domain.value
        data["kind"] = self.kind.value
        data["method"] = self.method.value
        return data


@dataclass(frozen=True)
class Diagnosis:
    """Why a meter is (or is not) used: shown verbatim to the user, with the fix."""

    source: str
    status: Status
    message: str
    path: str | None = None
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass
class Reading:
    """A channel's value at one read: joules (ENERGY) or watts (POWER), with flags.

    ``read_at`` is when this channel was read, on the source's monotonic clock (the midpoint of
    the calls around its own read), so that a slow channel does not misdate the others of the
    same sample. None: the source did not time its channels; the sampler then dates the reading
    by the source's whole read.
    """

    value: float
    flags: tuple[str, ...] = ()
    read_at: float | None = field(default=None, compare=False)


class MeterSource(abc.ABC):
    """A family of meters opened once and read many times by the sampler thread.

    Subclasses fill ``_channels`` and ``_diagnoses`` when opened and implement :meth:`read`
    over ``_channels`` only, so that dropping a channel is the same for every source.
    """

    name: str = "meter"
    # Reads of files under /sys or /proc take microseconds; driver calls (NVML, amdsmi) can take
    # milliseconds. Only the former may be read on the server's event loop at a cell's edge.
    reads_in_microseconds: bool = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._channels: list[Channel] = []
        self._diagnoses: list[Diagnosis] = []
        self._clock = clock  # must be the sampler's clock: it dates each channel's read

    def _stamped(self, reading: Reading, started: float) -> Reading:
        """Date ``reading`` at the middle of its own read, which began at ``started``."""
        reading.read_at = (started + self._clock()) / 2
        return reading

    def channels(self) -> list[Channel]:
        """The channels this source reads."""
        return list(self._channels)

    @abc.abstractmethod
    def read(self) -> dict[str, Reading]:
        """Read every channel now. Must not block for long: it runs in the sampler loop."""

    def diagnoses(self) -> list[Diagnosis]:
        """What this source found out about its meters (missing, denied, dropped...)."""
        return list(self._diagnoses)

    def drop_channel(self, channel_id: str, diagnosis: Diagnosis) -> None:
        """Stop reading a channel that failed validation, and say why."""
        self._channels = [c for c in self._channels if c.id != channel_id]
        self._diagnoses.append(diagnosis)

    def power_now(self, channel_id: str) -> float | None:
        """A power reading independent of the channel's counter, where the device has one."""
        return None

    def fall_back_to_power(self, channel_id: str, diagnosis: Diagnosis) -> None:
        """Replace a counter that failed validation by the same device's power gauge."""
        if self.power_now(channel_id) is None:
            self.drop_channel(channel_id, diagnosis)
            return
        self._channels = [
            replace(c, kind=Kind.POWER, method=Method.MEASURED_POWER, resolution_j=0.0) if c.id == channel_id else c
            for c in self._channels
        ]
        self._diagnoses.append(diagnosis)

    def min_wrap_seconds(self) -> float | None:
        """Shortest time in which a counter could wrap at full power; the sampler reads faster."""
        return None

    def process_gpu_use(self) -> dict[str, dict[int, float]]:
        """Per GPU channel id, the share of the device each process id used recently (0..1)."""
        return {}

    def close(self) -> None:  # noqa: B027  (an optional hook: most sources hold no handle)
        """Release handles (NVML, amdsmi)."""
