"""Stopping child processes (servers started for a run, a benchmark or a test): ask each to end,
give them a grace period, then kill what is left, so nothing outlives its owner."""

from __future__ import annotations

import subprocess


def stop_processes(*procs: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Terminate every process that still runs, wait up to `grace_s` for each, kill the rest."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
