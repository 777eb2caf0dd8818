"""A stopped child leaves nothing behind: what it started goes with it (its process group)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ops.child_processes import Child

# The child starts a grandchild and dies on SIGTERM without passing it on, as a supervisor that is
# killed mid-restart does; PR_SET_PDEATHSIG (set on the child) does not reach the grandchild.
SCRIPT = """
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open(sys.argv[1], "w").write(str(grandchild.pid))
time.sleep(300)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for init to reap it is gone too
        return stat.read().split(") ")[1][0] != "Z"


async def test_stopping_a_child_stops_what_it_started(tmp_path: Path):
    pid_file = tmp_path / "grandchild.pid"
    child = Child("supervisor", [sys.executable, "-c", SCRIPT, str(pid_file)], dict(os.environ), tmp_path / "child.log")
    await child.start()
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, (tmp_path / "child.log").read_text()
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert alive(grandchild)

    await child.stop(timeout=5)

    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)
