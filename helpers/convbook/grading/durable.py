"""Writes that a killed ``convbook grade`` leaves whole or not at all, and the points at
which the tests kill it.

Every file the command writes into OUT goes through ``write_atomic`` (a temporary file in
the same folder, flushed, then renamed over the target), so a reader, or the next run,
finds the old file or the new one, never half of one. The gradebook is a database and has
transactions of its own (see ``gradebook``).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

__all__ = ["FAILPOINT_ENV", "copy_atomic", "failpoint", "write_atomic"]

# "<name>:<n>": the process kills itself (SIGKILL) the n-th time it passes ``name``. For
# the crash tests only; unset, it costs one dictionary lookup.
FAILPOINT_ENV = "CONVBOOK_FAILPOINT"
_passes: dict[str, int] = {}


def write_atomic(path: Path, data: str | bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one step (text is written as UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data.encode("utf-8") if isinstance(data, str) else data)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` over ``target`` in one step."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def failpoint(name: str) -> None:
    """Kill this process here when ``CONVBOOK_FAILPOINT`` names this point and pass."""
    wanted = os.environ.get(FAILPOINT_ENV)
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
