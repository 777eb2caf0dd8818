"""One running `zelly dev` or `zelly stack` per data directory (issue 19, item 8).

A second one on the same ZELLY_DATA_DIR used to fail deep inside chDB ("cannot
lock file .../analytics/status"), reported as a ZELLY_ANALYTICS_URL problem,
after it had already run migrations and touched the SQLite files and Caddy's
storage. Now the first takes an exclusive ``flock`` on ``<data dir>/zelly.lock``
and writes its pid and command there; the second reads them and stops with one
line before it touches anything. The kernel drops the lock when the process
dies, however it dies, so a stale file never blocks the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from origin.settings import ConfigurationError

LOCK_NAME = "zelly.lock"


@contextlib.contextmanager
def hold_data_dir(data_dir: Path, command: str) -> Iterator[Path]:
    """Hold ``data_dir`` for this process, or raise ConfigurationError naming the holder."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 512, 0).decode(errors="replace").strip() or "a process"
            raise ConfigurationError(
                "ZELLY_DATA_DIR",
                f"another {holder} is running on {data_dir.resolve()}; stop it first, or give this one "
                "its own ZELLY_DATA_DIR (and its own ports)",
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"`zelly {command}` (pid {os.getpid()})\n".encode(), 0)
        yield path
    finally:
        os.close(descriptor)  # releases the lock; the file stays, harmless without it
