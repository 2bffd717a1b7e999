"""What the benchmarks read of a process from /proc: its memory, and its CPU with its workers'."""

import os
import signal
import subprocess
import sys
import time

import pytest

from relais_platform.testing import cpu_seconds, rss_mib

pytestmark = pytest.mark.unit

SPIN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\ntime.sleep(30)"
PARENT = f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', {SPIN!r}])\ntime.sleep(30)"


def test_a_process_is_charged_the_cpu_of_its_workers() -> None:
    # The parent sleeps while its child spins: its own CPU stays near zero, its tree's does not.
    parent = subprocess.Popen([sys.executable, "-c", PARENT])
    try:
        deadline = time.monotonic() + 20
        while cpu_seconds(parent.pid) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cpu_seconds(parent.pid) >= 0.25
        assert rss_mib(parent.pid) > 1
    finally:
        children = subprocess.run(
            ["pgrep", "-P", str(parent.pid)], capture_output=True, text=True, check=False
        )
        for child in children.stdout.split():
            os.kill(int(child), signal.SIGKILL)
        parent.kill()
        parent.wait()


def test_a_process_that_is_gone_has_no_memory() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert rss_mib(gone.pid) == 0.0
