"""Owner-only files and directories for what the extension keeps on disk.

The ledger holds notebook paths and the first line of cells, the settings file the user's
region: like Jupyter's own secrets they are readable by their owner only. Nothing here imports
tornado or the server: the ledger (also used by headless runs) creates its files through it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def tighten(path: Path, mode: int) -> None:
    """Drop every permission bit of ``path`` that ``mode`` lacks (a missing path is left alone)."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        os.chmod(path, current & mode)


def private_directory(path: Path) -> Path:
    """Create ``path`` (and its parents) owner-only, or tighten it to 0700 if it is wider."""
    path.mkdir(mode=PRIVATE_DIRECTORY_MODE, parents=True, exist_ok=True)
    tighten(path, PRIVATE_DIRECTORY_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create an empty ``path`` 0600 if it does not exist, or tighten it to 0600 if it is wider.

    Created with its final mode in one call, so it is never readable by others, not even for
    the moment between a create and a chmod.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        tighten(path, PRIVATE_FILE_MODE)
    return path


def write_private_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically; the file is 0600 from its creation on.

    A reader sees the old content or the new one, never half of it, and a crash leaves at
    worst a stray temporary file beside it.
    """
    private_directory(path.parent)
    descriptor, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:  # mkstemp creates it 0600
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
