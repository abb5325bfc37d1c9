"""The predictions the server answered, kept briefly so the measured run can be compared with them."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

KEEP_S = 600.0  # a cell starts within seconds of its lookup; ten minutes covers a dialog left open
MAX_ENTRIES = 4096  # one entry per (kernel, code) predicted: bounded whatever the clients send


class PredictionMemo:
    """Thread-safe, bounded map of ``(kernel_id, code_hash)`` to the last prediction answered for it."""

    def __init__(
        self, keep_s: float = KEEP_S, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._keep_s = keep_s
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], tuple[float, dict[str, Any]]] = OrderedDict()

    def remember(self, kernel_id: str, code_hash: str, prediction: dict[str, Any]) -> None:
        """Keep ``prediction`` for this kernel and code (replacing an older one); the oldest go first when full."""
        key = (kernel_id, code_hash)
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (self._clock(), prediction)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def take(self, kernel_id: str, code_hash: str) -> dict[str, Any] | None:
        """The prediction remembered for this kernel and code, removed; None when none or expired."""
        with self._lock:
            entry = self._entries.pop((kernel_id, code_hash), None)
        if entry is None:
            return None
        stored_at, prediction = entry
        return prediction if self._clock() - stored_at <= self._keep_s else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
