"""System metrics: CPU, memory, disk and network I/O, and GPUs, sampled in the background.

A daemon thread per run samples every ``interval_s`` seconds (psutil) and logs
``system/*`` metrics through the run's buffer, so sampling costs the training loop nothing.
GPUs are read through NVML (``pynvml``) when importable, else ``nvidia-smi`` when on PATH.
Disk and network figures are MiB since the run started (machine-wide counters).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from collections.abc import Callable

_MB = 1024 * 1024


def _gpu_reader() -> Callable[[], dict[str, float]] | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

        def read_nvml() -> dict[str, float]:
            out: dict[str, float] = {}
            for i, handle in enumerate(handles):
                util = pynvml.nvmlDeviceGetUtilizationRates(handle)
                mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
                out[f"system/gpu{i}_utilization_percent"] = float(util.gpu)
                out[f"system/gpu{i}_memory_used_mb"] = mem.used / _MB
                out[f"system/gpu{i}_memory_percent"] = 100.0 * mem.used / max(mem.total, 1)
            return out

        return read_nvml
    except Exception:
        pass
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None

    def read_smi() -> dict[str, float]:
        text = subprocess.run(
            [
                smi,
                "--query-gpu=utilization.gpu,memory.used,memory.total",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        out: dict[str, float] = {}
        for i, line in enumerate(text.strip().splitlines()):
            util, used, total = (float(x) for x in line.split(","))
            out[f"system/gpu{i}_utilization_percent"] = util
            out[f"system/gpu{i}_memory_used_mb"] = used
            out[f"system/gpu{i}_memory_percent"] = 100.0 * used / max(total, 1.0)
        return out

    return read_smi


class SystemSampler:
    """Samples system metrics into ``log(key, value, step)`` until stopped."""

    def __init__(self, log: Callable[[str, float, int], Any], interval_s: float) -> None:
        self._log = log
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first call only sets the baseline
        self._disk0 = psutil.disk_io_counters()
        self._net0 = psutil.net_io_counters()
        self._gpu = _gpu_reader()
        self._step = 0
        self._thread = threading.Thread(
            target=self._loop, name="loopml-system-metrics", daemon=True
        )

    def start(self) -> None:
        """Start sampling (a first sample is taken right away)."""
        self._thread.start()

    def stop(self) -> None:
        """Take a last sample and stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.sample()

    def _loop(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a failed sample is skipped, never fatal
                self.sample()
            if self._stop.wait(self.interval_s):
                return

    def sample(self) -> dict[str, float]:
        """Read every metric once, log it, and return it."""
        proc = self._process
        mem = psutil.virtual_memory()
        values = {
            "system/cpu_percent": proc.cpu_percent(None),
            "system/machine_cpu_percent": psutil.cpu_percent(None),
            "system/process_rss_mb": proc.memory_info().rss / _MB,
            "system/process_memory_percent": proc.memory_percent(),
            "system/memory_used_mb": (mem.total - mem.available) / _MB,
            "system/memory_percent": mem.percent,
        }
        disk, net = psutil.disk_io_counters(), psutil.net_io_counters()
        if disk is not None and self._disk0 is not None:
            values["system/disk_read_mb"] = (disk.read_bytes - self._disk0.read_bytes) / _MB
            values["system/disk_write_mb"] = (disk.write_bytes - self._disk0.write_bytes) / _MB
        if net is not None and self._net0 is not None:
            values["system/network_sent_mb"] = (net.bytes_sent - self._net0.bytes_sent) / _MB
            values["system/network_recv_mb"] = (net.bytes_recv - self._net0.bytes_recv) / _MB
        if self._gpu is not None:
            with contextlib.suppress(Exception):
                values.update(self._gpu())
        step, self._step = self._step, self._step + 1
        for key, value in values.items():
            self._log(key, float(value), step)
        return values
