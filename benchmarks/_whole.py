"""Whole-process timing shared by the benchmarks: a command from its start to its exit.

Each figure is the wall time of a fresh process (interpreter start, imports, the work and
the exit), as a user waits for it, measured the same way for loopml, MLflow and DVC, and
the CPU time (user + system) the process and its children used: on a shared machine the
wall time moves with the neighbours' load, the CPU time much less.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import loopml

LOOPML = [sys.executable, "-m", "loopml"]
CPU: list[float] = []  # CPU seconds of each process run_timed ran, in order


def last_cpu() -> float:
    """CPU seconds (user + system) of the last process :func:`run_timed` ran."""
    return CPU[-1]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without LOOPML_* variables, bytecode writing allowed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"NO_COLOR": "1", "COLUMNS": "120", **(extra or {})})
    return env


def compile_loopml() -> None:
    """Write loopml's bytecode once, as ``pip install`` does (a checkout may lack it)."""
    package = Path(loopml.__file__).parent
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package)],
        check=True,
        env=clean_env(),
        capture_output=True,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``command`` to its end; return its wall time and result (raises on failure).

    The process's CPU time is appended to :data:`CPU` (read it with :func:`last_cpu`).
    """
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(list(command), cwd=cwd, env=dict(env), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    CPU.append(_children_cpu() - cpu)
    if done.returncode != 0:
        tail = f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        raise SystemExit(f"{' '.join(command)} failed:\n{tail}")
    return elapsed, done


def summary(values: Sequence[float]) -> str:
    """Median with min and max, in seconds."""
    return f"{statistics.median(values):7.3f} s  (min {min(values):.3f}, max {max(values):.3f})"
