"""Files read again and again at each cell's edges: kept open, read from their start each time."""

from __future__ import annotations

import os
import weakref
from pathlib import Path


class RereadFile:
    """A sysfs or procfs file read from offset 0 through one open descriptor.

    The server reads every meter counter and the kernel's /proc entries at each cell's start and
    end, on its event loop. Opening, reading and closing a file costs ~4-14 µs a read here, a read
    at offset 0 of a kept descriptor ~1-9 µs; sysfs and procfs make a file's content afresh for
    each read from its start. A failed read closes the descriptor, so that the next one opens
    the file again (a driver reloaded), and the error propagates; a file replaced by another
    (renamed over it) is opened again. A process's /proc file read through a kept descriptor
    fails once the process is gone, even if its PID is reused.
    """

    def __init__(self, path: str | Path, size: int = 4096) -> None:
        self.path = str(path)
        self._size = size
        # sysfs and procfs files are never replaced: checking costs a syscall per read, at
        # every edge, for each of a node's meters and /proc entries.
        self._replaceable = not os.path.abspath(self.path).startswith(("/sys/", "/proc/"))
        self._fd: int | None = None
        self._closer: weakref.finalize[[int], RereadFile] | None = None

    def open(self) -> RereadFile:
        """Open it now (raising OSError if it cannot be): a reader known to work."""
        if self._fd is None:
            fd = os.open(self.path, os.O_RDONLY)
            self._fd, self._closer = fd, weakref.finalize(self, os.close, fd)
        return self

    def read(self) -> bytes:
        fd = self.open()._fd
        assert fd is not None
        try:
            if self._replaceable and os.fstat(fd).st_nlink == 0:
                # Replaced: a file renamed over this one (fake meter trees are written so, for
                # atomic reads) leaves the descriptor on the old, unlinked copy.
                self.close()
                fd = self.open()._fd
                assert fd is not None
            return os.pread(fd, self._size, 0)
        except OSError:
            self.close()
            raise

    def read_int(self) -> int:
        return int(self.read())

    def close(self) -> None:
        if self._closer is not None:
            self._closer()  # closes the descriptor once, now rather than when collected
        self._fd = self._closer = None
