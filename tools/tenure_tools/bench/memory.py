"""RSS of every service process (APIs with their uvicorn children, workers), sampled in a thread
while a benchmark runs; and an optional py-spy profile of every service process over the same stretch."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil

from tenure_tools.stack import Stack

WORKER_RSS_LIMIT_MIB = 300


def service_processes(stack: Stack) -> dict[str, psutil.Process]:
    """`<service>-<role>` (and `<service>-api-child<n>` for uvicorn's worker processes) → process.
    A key of the stack's processes is joined with dashes whatever its length (several workers of a
    service may carry a number)."""
    found: dict[str, psutil.Process] = {}
    for key, managed in stack.processes.items():
        if not managed.alive():
            continue
        name = "-".join(str(part) for part in key)
        try:
            process = psutil.Process(managed.running().pid)
            found[name] = process
            for n, child in enumerate(process.children()):
                found[f"{name}-child{n}"] = child
        except psutil.NoSuchProcess:
            continue
    return found


class RssSampler:
    """Peak and last RSS (MiB) of each service process, every `interval` seconds until stopped."""

    def __init__(self, stack: Stack, interval: float = 0.5):
        self._processes = service_processes(stack)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak_mib: dict[str, float] = {}
        self.first_mib: dict[str, float] = {}
        self.samples = 0

    def _sample(self) -> None:
        while True:
            for name, process in self._processes.items():
                try:
                    rss = process.memory_info().rss / 2**20
                except psutil.NoSuchProcess:
                    continue
                self.first_mib.setdefault(name, rss)
                self.peak_mib[name] = max(rss, self.peak_mib.get(name, 0.0))
            self.samples += 1
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        return {
            name: {"start_mib": round(self.first_mib[name], 1), "peak_mib": round(peak, 1)}
            for name, peak in sorted(self.peak_mib.items())
        }


class ServiceProfiler:
    """`py-spy record` on each service process, workers and APIs (due work on a test clock runs in
    the APIs, asked by the coordinator's `run-due`; an API with several uvicorn workers is recorded
    with its children), stopped with SIGINT on exit: collapsed stacks (one line per stack with its
    sample count) in `folder`, one file per process. Sampling costs CPU on a 2-core machine:
    figures measured under the profiler say so in the report."""

    def __init__(self, stack: Stack, folder: Path, rate: int = 50):
        self.folder = folder
        self._targets = {"-".join(str(part) for part in key): p.running().pid for key, p in stack.processes.items() if p.alive()}
        self._rate = rate
        self._recorders: list[subprocess.Popen] = []
        self.files: dict[str, str] = {}

    def __enter__(self) -> ServiceProfiler:
        binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")  # the venv's, when not on PATH
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, pid in self._targets.items():
            out = self.folder / f"{name}.txt"
            self.files[name] = str(out)
            self._recorders.append(
                subprocess.Popen(
                    [
                        # --nonblocking: read the stacks without stopping the process at each sample
                        # (with a dozen processes sampled, stopping them cost the run much of its pace).
                        *(binary, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--rate", str(self._rate)),
                        *("--format", "raw", "--output", str(out)),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        return self

    def __exit__(self, *exc: object) -> None:
        for recorder in self._recorders:
            recorder.send_signal(signal.SIGINT)
        for recorder in self._recorders:
            try:
                recorder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()
