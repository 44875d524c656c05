"""Dataset versioning, diff and profile speed, side by side with DVC and the floors.

Run: .venv/bin/python benchmarks/data.py [--repeat 3] [--compare dvc] [--big-mib 1024] [--cli]

Inputs live in a temporary folder outside the repository (removed at the end): one 1 GiB
file of random bytes, 10,000 files of 10 KiB in 100 folders, and two 1,000,000-row Parquet
tables (the synthetic transactions plus derived columns: 20 columns). Timed, each the
median of ``--repeat`` runs with a fresh store: first commit of the big file and of the
folder; re-commit with nothing changed and with one small file changed; the row diff by
key; the 1,000,000 x 20 profile. Floors: hashlib sha256 over the same bytes, coreutils
``sha256sum``, a plain copy, hashing + copying the 10,000 files in plain Python, stat-ing
them. ``--compare dvc`` installs DVC into its own venv (/tmp/loopml-bench-dvc) and times
``dvc add`` on the same inputs. ``--cli`` also times ``loopml data commit`` as a whole
process (interpreter start to exit), the figure to set beside ``dvc add``'s, and prints the
ratios; ``--big-mib 0`` leaves out the 1 GiB file (and ``--cli-only`` everything but the
folder cases of both command lines).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _whole import LOOPML, clean_env, compile_loopml, last_cpu, run_timed

from loopml.artifacts import ArtifactStore
from loopml.data import DataRepo, profile_table
from loopml.data._diff import row_diff
from loopml.datasets import generate_transactions
from loopml.store.sql import SqlStore

DVC_VENV = Path("/tmp/loopml-bench-dvc")
CLI = "loopml (loopml data commit, CLI, whole process)"
DVC = "DVC (dvc add, CLI, whole process)"
DVC_SPEC = "dvc==3.67.*"


# Nothing is deleted until the whole run is over: these disks are mounted with online
# `discard`, and removing 10,000 files queues TRIMs that slowed the next case's file
# creation from ~1 s to 3-6 s of kernel time (tool-independent noise, not a cost of either).


def timed(fn: Callable[[], object]) -> float:
    # Write back what earlier cases and the setup left dirty, so no case pays for another's
    # writes (loopml's bulk commit ends with a sync barrier; DVC and the floors do not).
    os.sync()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> str:
    return f"{statistics.median(values):7.3f} s  (min {min(values):.3f}, max {max(values):.3f})"


def make_inputs(root: Path, big_mib: int) -> tuple[Path | None, Path]:
    big = root / "big.bin" if big_mib else None
    if big is not None:
        with open(big, "wb") as out:
            rng = np.random.default_rng(0)
            for _ in range(big_mib):
                out.write(rng.bytes(1 << 20))
    folder = root / "small"
    for i in range(10_000):
        sub = folder / f"d{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(os.urandom(10 * 1024))
    time.sleep(0.3)  # beyond the stat cache's 100 ms "racy" window
    return big, folder


def touch_one(folder: Path, n: int) -> None:
    (folder / "d07" / "f00007.bin").write_bytes(os.urandom(10 * 1024) + bytes([n % 256]))
    time.sleep(0.2)


def ours_once(
    repo: DataRepo, big: Path | None, folder: Path, r: int, out: dict[str, list[float]]
) -> None:
    def record(name: str, fn: Callable[[], object]) -> None:
        out.setdefault(name, []).append(timed(fn))

    if big is not None:
        record("1 GiB file, first commit", lambda: repo.commit("big", big))
        record("1 GiB file, unchanged", lambda: repo.commit("big", big))
    record("10,000 files, first commit", lambda: repo.commit("small", folder))
    touch_one(folder, r)
    record("10,000 files, one changed", lambda: repo.commit("small", folder))
    record("10,000 files, none changed", lambda: repo.commit("small", folder))


def ours(root: Path, big: Path | None, folder: Path, repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for r in range(repeat):
        home = root / f"home-{r}"
        store = SqlStore(f"sqlite:///{home / 'loopml.db'}")
        repo = DataRepo(store, ArtifactStore(str(home / "artifacts")), home / "cache")
        ours_once(repo, big, folder, r, out)
        store.close()  # the home is kept until the end (see the note above timed)
    return out


def ours_cli(root: Path, folder: Path, repeat: int) -> dict[str, list[float]]:
    """``loopml data commit`` of the folder, each call a whole process, a fresh home a round."""
    compile_loopml()
    env = clean_env({"XDG_CACHE_HOME": str(root / "env-cache")})
    out: dict[str, list[float]] = {}
    for r in range(repeat):
        home = root / f"cli-home-{r}"
        command = [*LOOPML, "--home", str(home), "data", "commit", "small", str(folder)]

        def commit(name: str, c: list[str] = command) -> None:
            out.setdefault(name, []).append(timed(lambda: run_timed(c, cwd=root, env=env)))
            out.setdefault(f"{name} [CPU]", []).append(last_cpu())

        commit("10,000 files, first commit")
        touch_one(folder, r + 100)
        commit("10,000 files, one changed")
        commit("10,000 files, none changed")
    return out


def floors(root: Path, big: Path | None, folder: Path, repeat: int) -> dict[str, list[float]]:
    files = sorted(p for p in folder.rglob("*.bin"))
    out: dict[str, list[float]] = {}

    def sha_file() -> None:
        sha = hashlib.sha256()
        buf = memoryview(bytearray(4 << 20))
        assert big is not None
        with open(big, "rb", buffering=0) as handle:
            while n := handle.readinto(buf):
                sha.update(buf[:n])

    copies = iter(range(1_000_000))

    def copy_small() -> None:
        dest = root / f"copy-small-{next(copies)}"
        dest.mkdir()
        for i, p in enumerate(files):
            data = p.read_bytes()
            hashlib.sha256(data).hexdigest()
            (dest / f"{i}").write_bytes(data)

    for _ in range(repeat):
        if big is not None:
            out.setdefault("hashlib sha256, 1 GiB", []).append(timed(sha_file))
            out.setdefault("sha256sum, 1 GiB", []).append(
                timed(
                    lambda: subprocess.run(["sha256sum", str(big)], check=True, capture_output=True)
                )
            )
            out.setdefault("plain copy, 1 GiB", []).append(
                timed(lambda: shutil.copyfile(big, root / f"copy-{next(copies)}.bin"))
            )
        out.setdefault("hash+copy 10,000 files (Python)", []).append(timed(copy_small))
        out.setdefault("stat 10,000 files", []).append(timed(lambda: [p.stat() for p in files]))
    return out


def tables(root: Path, repeat: int) -> dict[str, list[float]]:
    frame = generate_transactions(days=50, rows_per_day=20_000)
    frame["amount_log"] = np.log1p(frame["amount"])
    frame["amount_x_hour"] = frame["amount"] * frame["hour"]
    frame["age_bucket"] = (frame["customer_age"] // 10).astype(str)
    frame["weekday"] = frame["timestamp"].dt.day_name()
    old = pa.Table.from_pandas(frame, preserve_index=False)
    changed = frame.copy()
    changed.loc[changed.index[::100], "amount"] += 1.0
    changed = changed.iloc[1000:]
    new = pa.Table.from_pandas(changed, preserve_index=False)
    pq.write_table(old, root / "a.parquet")
    pq.write_table(new, root / "b.parquet")
    out: dict[str, list[float]] = {}
    for _ in range(repeat):
        out.setdefault("row diff 1,000,000 rows by key (read+diff)", []).append(
            timed(
                lambda: row_diff(
                    pq.read_table(root / "a.parquet"),
                    pq.read_table(root / "b.parquet"),
                    ["transaction_id"],
                )
            )
        )
        out.setdefault(f"profile 1,000,000 x {old.num_columns}", []).append(
            timed(lambda: profile_table(old))
        )
    return out


def dvc(root: Path, big: Path | None, folder: Path, repeat: int) -> dict[str, list[float]]:
    exe = DVC_VENV / "bin" / "dvc"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DVC_VENV)], check=True)
        subprocess.run([str(DVC_VENV / "bin" / "pip"), "install", "--quiet", DVC_SPEC], check=True)
    out: dict[str, list[float]] = {}

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}

    def add(work: Path, target: str, name: str) -> None:
        command = [str(exe), "add", "--quiet", target]
        out.setdefault(name, []).append(timed(lambda: run_timed(command, cwd=work, env=env)))
        out.setdefault(f"{name} [CPU]", []).append(last_cpu())

    for r in range(repeat):
        work = root / f"dvc-{r}"
        work.mkdir()
        subprocess.run([str(exe), "init", "--no-scm", "-q"], cwd=work, check=True)
        shutil.copytree(folder, work / "small")
        if big is not None:
            shutil.copyfile(big, work / "big.bin")
            time.sleep(0.3)
            add(work, "big.bin", "1 GiB file, first commit")
            add(work, "big.bin", "1 GiB file, unchanged")
        time.sleep(0.3)
        add(work, "small", "10,000 files, first commit")
        touch_one(work / "small", r)
        add(work, "small", "10,000 files, one changed")
        add(work, "small", "10,000 files, none changed")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", choices=["dvc"], default=None)
    parser.add_argument("--big-mib", type=int, default=1024, help="0: no 1 GiB file cases")
    parser.add_argument("--cli", action="store_true", help="also `loopml data commit`, CLI")
    parser.add_argument("--cli-only", action="store_true", help="only the CLI folder cases")
    args = parser.parse_args()
    if args.cli_only:
        args.cli, args.big_mib = True, 0
    root = Path(tempfile.mkdtemp(prefix="loopml-bench-data-"))
    sections: dict[str, dict[str, list[float]]] = {}
    try:
        big, folder = make_inputs(root, args.big_mib)
        if not args.cli_only:
            sections["loopml (SDK, in process)"] = ours(root, big, folder, args.repeat)
        if args.cli:
            sections[CLI] = ours_cli(root, folder, args.repeat)
        if args.compare == "dvc":
            sections[DVC] = dvc(root, big, folder, args.repeat)
        if not args.cli_only:
            sections["floors"] = floors(root, big, folder, args.repeat)
            sections["tables (loopml)"] = tables(root, args.repeat)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"# data benchmark, {os.cpu_count()} CPUs, median of {args.repeat}")
    for title, results in sections.items():
        print(f"\n## {title}")
        for name, values in results.items():
            print(f"{name:45} {median(values)}")
    if CLI in sections and DVC in sections:
        print("\n## dvc add / loopml data commit, whole process against whole process (wall; CPU)")
        for name, ours_times in sections[CLI].items():
            ratio = statistics.median(sections[DVC][name]) / statistics.median(ours_times)
            print(f"{name:45} {ratio:7.1f}x")


if __name__ == "__main__":
    main()
