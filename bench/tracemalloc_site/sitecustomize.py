"""Debug only: tracemalloc snapshots of the soak's origin processes (``bench/soak.py --tracemalloc DIR``).

Imported by Python's ``site`` at start-up because bench/soak.py puts this
directory first on the stack's PYTHONPATH when, and only when, it is asked to;
no production code path imports it. In a process whose command line is
``ops.cli origin`` it starts tracemalloc and writes a snapshot every
``SOAK_TRACEMALLOC_SECONDS`` (60) to ``$SOAK_TRACEMALLOC_DIR/<pid>-<n>.snapshot``;
``bench/tracemalloc_diff.py`` compares two of them. Every other process of the
stack is left alone.
"""

import os
import threading
import time
import tracemalloc
from pathlib import Path


def _is_origin() -> bool:
    try:
        arguments = Path("/proc/self/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"ops.cli" in arguments and b"origin" in arguments


def _dump_every(directory: Path, seconds: float) -> None:
    number = 0
    while True:
        time.sleep(seconds)
        number += 1
        tracemalloc.take_snapshot().dump(str(directory / f"{os.getpid()}-{number:03d}.snapshot"))


if os.environ.get("SOAK_TRACEMALLOC_DIR") and _is_origin():
    _directory = Path(os.environ["SOAK_TRACEMALLOC_DIR"])
    _directory.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(int(os.environ.get("SOAK_TRACEMALLOC_FRAMES", "12")))
    threading.Thread(target=_dump_every, args=(_directory, float(os.environ.get("SOAK_TRACEMALLOC_SECONDS", "60"))),
                     daemon=True, name="soak-tracemalloc").start()
