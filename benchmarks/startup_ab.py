"""Start-up of two loopml trees side by side: rounds alternate, so both see the same load.

Run:
    git archive <old-commit> src | tar -x -C /tmp/old
    .venv/bin/python benchmarks/startup_ab.py /tmp/old/src src [--rounds 7] [--folder DIR]

Per tree: the in-process time from ``import loopml`` to the first ``log_metric`` returning
on an existing home, the whole script, ``loopml --help``, ``loopml runs list`` on 10,000
runs and, with ``--folder``, ``loopml data commit`` of that folder (first commit, one file
changed, none changed) of a copy of it. Medians, wall and CPU seconds of the whole process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _startup import FIRST_METRIC, N_LIST_RUNS, _populate_loopml
from _whole import clean_env, last_cpu, run_timed


def _tree_env(src: Path, extra: dict[str, str]) -> dict[str, str]:
    return clean_env({"PYTHONPATH": str(src), **extra})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the src folder of the older tree")
    parser.add_argument("after", type=Path, help="the src folder of the newer tree")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--folder", type=Path, help="a folder to commit with `data commit`")
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    figures: dict[str, dict[str, list[tuple[float, float]]]] = {name: {} for name in trees}
    firsts: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="loopml-bench-ab-") as tmp:
        root = Path(tmp)
        listing = root / "list-home"
        _populate_loopml(listing / "loopml.db")
        folder = None
        if args.folder is not None:  # a copy: one of its files is changed each round
            folder = root / "folder"
            shutil.copytree(args.folder, folder)
        for name, src in trees.items():  # bytecode as an install has it; homes at their head
            run_timed(
                [sys.executable, "-m", "compileall", "-q", str(src / "loopml")],
                cwd=root,
                env=clean_env(),
            )
            env = _tree_env(
                src, {"LOOPML_HOME": str(root / name), "XDG_CACHE_HOME": str(root / "xdg")}
            )
            run_timed([sys.executable, "-c", FIRST_METRIC], cwd=root, env=env)

        def record(name: str, case: str, command: list[str], env: dict[str, str]) -> str:
            wall, done = run_timed(command, cwd=root, env=env)
            figures[name].setdefault(case, []).append((wall, last_cpu()))
            return done.stdout

        for r in range(args.rounds):
            for name, src in trees.items():
                env = _tree_env(src, {"XDG_CACHE_HOME": str(root / "xdg")})
                home = {**env, "LOOPML_HOME": str(root / name)}
                out = record(
                    name, "first-metric script", [sys.executable, "-c", FIRST_METRIC], home
                )
                firsts[name].append(json.loads(out.split("RESULT ")[1])["first"])
                cli = [sys.executable, "-m", "loopml"]
                record(name, "--help", [*cli, "--help"], env)
                record(
                    name,
                    f"runs list ({N_LIST_RUNS:,} runs)",
                    [*cli, "--home", str(listing), "runs", "list"],
                    env,
                )
                if folder is not None:
                    data_home = str(root / f"data-{name}-{r}")
                    commit = [*cli, "--home", data_home, "data", "commit", "ab", str(folder)]
                    record(name, "data commit, first", commit, env)
                    touched = next(p for p in sorted(folder.rglob("*")) if p.is_file())
                    touched.write_bytes(touched.read_bytes() + b"\n")
                    time.sleep(0.2)
                    record(name, "data commit, one changed", commit, env)
                    record(name, "data commit, none changed", commit, env)
    med = statistics.median
    print(f"# {args.rounds} rounds, {os.cpu_count()} CPUs; wall / CPU seconds, medians")
    for name in trees:
        print(f"\n## {name} ({trees[name]})")
        print(f"{'import -> first metric (in process)':40} {med(firsts[name]) * 1000:7.0f} ms")
        for case, values in figures[name].items():
            wall, cpu = med(v[0] for v in values), med(v[1] for v in values)
            print(f"{case:40} {wall:7.3f} / {cpu:.3f}")


if __name__ == "__main__":
    main()
