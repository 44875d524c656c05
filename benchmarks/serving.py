"""Prediction serving: loopml's server beside ``mlflow models serve``, a minimal BentoML
service and a Starlette hello-world (the HTTP floor), same models, same load generator.

    .venv/bin/python benchmarks/serving.py                 # loopml (or the local harness)
    .venv/bin/python benchmarks/serving.py --peers         # + MLflow and BentoML (own venvs)
    .venv/bin/python benchmarks/serving.py --quick         # one short run of each case

Models: LogisticRegression on 30 features and RandomForest(50), trained here on the same
synthetic data. Cases: single-row JSON at concurrency 1 and 8, one 1,000-row request
(concurrency 1), batching on and off, and the time from process start to the first 200 of
the ready endpoint. Every server gets the same body on MLflow's ``/invocations``
(``{"inputs": [[...]]}``), one worker, 127.0.0.1; servers are interleaved within each
repeat so they share the machine's load (in an order that rotates each repeat), and
medians of the repeats are printed with the ratios to each peer. Results:
``benchmarks/results/serving.json``.

Targets: ``loopml`` is ``loopml serve MODEL_DIR`` (prediction log on, as the issue's
targets say; ``--no-log`` to switch it off); ``local`` is a benchmark-local Starlette app
over :class:`loopml.serving.MicroBatcher` (``_serving_app.py``), which proves the harness
and the batcher without the full server. By default ``loopml`` is used when ``loopml
serve`` exists, else ``local``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _serving_load as load  # noqa: E402
import _serving_peers as peers  # noqa: E402

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

FEATURES = 30


def _models(work: Path) -> dict[str, dict[str, Any]]:
    """Train both models; save each for loopml (a model dir) and as a pickle (peers)."""
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    from loopml.models import save_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10_000, FEATURES))
    y = (x @ rng.normal(size=FEATURES) + rng.normal(scale=0.5, size=len(x)) > 0).astype(int)
    example = work / "example.npy"
    np.save(example, x[:5])
    out: dict[str, dict[str, Any]] = {}
    for name, est in (
        ("logreg", LogisticRegression(max_iter=1000)),
        ("forest", RandomForestClassifier(n_estimators=50, random_state=0)),
    ):
        est.fit(x, y)
        pkl = work / f"{name}.pkl"
        pkl.write_bytes(pickle.dumps(est))
        model_dir = work / f"{name}-model"
        save_model(est, model_dir, input_example=x[:5], options={"serialization": "pickle"})
        one, many = x[:1], x[:1000]
        out[name] = {
            "est": est,
            "dir": model_dir,
            "pickle": pkl,
            "example": example,
            "bodies": {
                "row": json.dumps({"inputs": one.tolist()}).encode(),
                "rows1000": json.dumps({"inputs": many.tolist()}).encode(),
            },
            "expect": {"row": est.predict(one).tolist(), "rows1000": est.predict(many).tolist()},
            "alone_ms": {
                "row": _time_ms(lambda e=est, a=one: e.predict(a), 200),
                "rows1000": _time_ms(lambda e=est, a=many: e.predict(a), 30),
            },
        }
    return out


def _time_ms(fn: Any, n: int) -> float:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _check(server: peers.Server, body: bytes, expect: list[Any]) -> None:
    """One request: a 200 whose predictions are the model's (warns otherwise)."""
    req = urllib.request.Request(
        server.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as response:
        got = json.loads(response.read())
    if isinstance(got, dict):
        got = got.get("predictions", got.get("outputs", got))
    if isinstance(got, list) and got and isinstance(got[0], dict):
        got = [next(iter(row.values())) for row in got]
    if server.name != "starlette-hello" and got != expect:
        print(f"  warning: {server.name} answered {str(got)[:80]} (expected {str(expect)[:80]})")


def _has_loopml_serve() -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "loopml", "serve", "--help"], capture_output=True, check=False
    )
    return done.returncode == 0


def _servers(
    target: str, model: dict[str, Any], args: argparse.Namespace, work: Path, logs: Path
) -> list[peers.Server]:
    servers = []
    for batching in (True, False):
        if target == "loopml":
            home = work / "home"
            servers.append(
                peers.loopml_server(
                    model["dir"], home, batching=batching, log=not args.no_log, logs=logs
                )
            )
        else:
            servers.append(peers.local_server(model["dir"], batching=batching, logs=logs))
    if args.log_cost and target == "loopml" and not args.no_log:
        servers.append(
            peers.loopml_server(model["dir"], work / "home", batching=True, log=False, logs=logs)
        )
    if args.router and target == "loopml":
        home = work / "home"
        router = peers.loopml_router(_deployment(model, home), home, log=not args.no_log, logs=logs)
        servers.append(router)
    if args.peers:
        servers.append(peers.mlflow_server(model["pickle"], model["example"], work, logs))
        servers.append(peers.bentoml_server(model["pickle"], work, logs))
    return servers


def _deployment(model: dict[str, Any], home: Path) -> str:
    """A canary deployment at 50 % of the model against itself (two registered versions)."""
    import numpy as np

    import loopml
    from loopml import deploy, registry

    name = f"bench-{model['dir'].name}"
    with loopml.Workspace.open(home=home) as ws:
        if name not in {d.name for d in ws.store.list_deployments()}:
            example = np.load(model["example"])
            for _ in range(2):
                registry.register_model(
                    name, model["est"], input_example=example, store=ws.store,
                    artifacts=ws.artifacts,
                )  # fmt: skip
            deploy.create(name, f"{name}/1", candidate=f"{name}/2", steps=[50, 100], workspace=ws)
            deploy.advance(name, workspace=ws)
    return name


CASES = (
    ("row-c1", "row", 1),
    ("row-c8", "row", 8),
    ("rows1000-c1", "rows1000", 1),
)


def _summary(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "errors")
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def run(args: argparse.Namespace) -> dict[str, Any]:
    client = args.client
    if client == "auto":
        client = "wrk" if load.ensure_wrk() else "python"
    target = args.target
    if target == "auto":
        target = "loopml" if _has_loopml_serve() else "local"
    work = Path(tempfile.mkdtemp(prefix="loopml-bench-serving-"))
    logs = work / "logs"
    logs.mkdir()
    print(f"client {client}, target {target}, {args.repeat} x {args.seconds:g} s a case; {work}")
    _compile_loopml()
    models = _models(work)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "client": client,
        "target": target,
        "repeat": args.repeat,
        "seconds": args.seconds,
        "prediction_log": target == "loopml" and not args.no_log,
        "model_alone_ms": {name: m["alone_ms"] for name, m in models.items()},
        "ready_s": {},
        "ready_cpu_s": {},
        "import_floor_s": _import_floor(max(args.ready_repeat, 3)),
        "cases": {},
        "loadavg": {},
    }
    hello = peers.hello_server(logs)
    hello.start()
    try:
        for name, model in models.items():
            servers = _servers(target, model, args, work, logs)
            try:
                for server in servers:
                    ready = server.start()
                    result["ready_s"].setdefault(f"{server.name}/{name}", []).append(ready)
                    _add_cpu(result, f"{server.name}/{name}", server)
                    print(
                        f"  {server.name:16} {name}: ready in {ready:.2f} s "
                        f"({server.ready_cpu_s or 0:.2f} s CPU), load {_load()}"
                    )
                    _check(server, model["bodies"]["row"], model["expect"]["row"])
                    _check(server, model["bodies"]["rows1000"], model["expect"]["rows1000"])
                for case, body_key, conns in CASES:
                    if body_key == "rows1000" and name != "forest":
                        continue
                    everyone = servers + ([hello] if body_key == "row" and name == "logreg" else [])
                    runs: dict[str, list[dict[str, float]]] = {s.name: [] for s in everyone}
                    load_before = _load()
                    for turn in range(args.repeat):
                        # A different server goes first each repeat: the order itself
                        # showed up in the c=1 medians.
                        shift = turn % len(everyone)
                        for server in everyone[shift:] + everyone[:shift]:
                            runs[server.name].append(
                                load.measure(
                                    server.url,
                                    model["bodies"][body_key],
                                    connections=conns,
                                    seconds=args.seconds,
                                    client=client,
                                )
                            )
                    key = f"{name}/{case}"
                    result["cases"][key] = {
                        s: {"median": _summary(r), "runs": r} for s, r in runs.items()
                    }
                    result["loadavg"][key] = [load_before, _load()]
                    _print_case(key, result["cases"][key], result["loadavg"][key])
            finally:
                for server in servers:
                    server.stop()
            for server in servers if name == "logreg" else []:
                for _ in range(args.ready_repeat - 1):
                    result["ready_s"][f"{server.name}/{name}"].append(server.start())
                    _add_cpu(result, f"{server.name}/{name}", server)
                    server.stop()
    finally:
        hello.stop()
    result["ready_s"] = {k: statistics.median(v) for k, v in result["ready_s"].items()}
    result["ready_cpu_s"] = {k: statistics.median(v) for k, v in result["ready_cpu_s"].items()}
    result["ratios"] = _ratios(result, target)
    return result


def _compile_loopml() -> None:
    """Write loopml's bytecode first, as installing a wheel does.

    Under ``PYTHONDONTWRITEBYTECODE=1`` (set on the CI machines) an editable checkout
    compiles every loopml module from source at each start, ~0.45 s of the time to ready
    measured here; the peers, installed by pip, start from bytecode.
    """
    import loopml

    package = Path(loopml.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


#: The library each model's server must import, and so the floor of its start.
_LIBRARIES = {"logreg": "sklearn.linear_model", "forest": "sklearn.ensemble"}


def _import_floor(repeat: int) -> dict[str, float]:
    """Seconds a bare ``python -c "import <the model's library>"`` takes (median)."""
    floor = {}
    for name, module in _LIBRARIES.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
            times.append(time.perf_counter() - started)
        floor[name] = statistics.median(times)
    return floor


def _load() -> str:
    """The 1-minute load average (the machine may be shared: quote it beside a figure)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _add_cpu(result: dict[str, Any], key: str, server: peers.Server) -> None:
    if server.ready_cpu_s is not None:
        result["ready_cpu_s"].setdefault(key, []).append(server.ready_cpu_s)


def _print_case(key: str, case: dict[str, Any], load: list[str]) -> None:
    print(f"\n{key}  (load average {load[0]} before, {load[1]} after)")
    print(f"  {'server':16} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for server, figures in case.items():
        m = figures["median"]
        print(
            f"  {server:16} {m['rps']:9.0f} {m['p50_ms']:8.2f} {m['p90_ms']:8.2f} "
            f"{m['p99_ms']:8.2f} {m['errors']:7.0f}"
        )


def _ratios(result: dict[str, Any], target: str) -> dict[str, dict[str, float]]:
    """Ours against each other server: throughput ratio and p50 ratio (theirs / ours)."""
    out: dict[str, dict[str, float]] = {}
    for key, case in result["cases"].items():
        ours = case.get(target)
        if ours is None:
            continue
        for other, figures in case.items():
            if other == target:
                continue
            mine, theirs = ours["median"], figures["median"]
            out.setdefault(key, {})[f"rps_vs_{other}"] = round(mine["rps"] / theirs["rps"], 3)
            out[key][f"p50_{other}_over_ours"] = round(theirs["p50_ms"] / mine["p50_ms"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", action="store_true", help="also MLflow and BentoML")
    parser.add_argument("--quick", action="store_true", help="one run of 2 s a case")
    parser.add_argument(
        "--repeat", "--runs", type=int, default=3, help="runs of each case (medians printed)"
    )
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--ready-repeat", type=int, default=3)
    parser.add_argument("--target", choices=["auto", "loopml", "local"], default="auto")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--no-log", action="store_true", help="loopml serve --no-log")
    parser.add_argument(
        "--log-cost",
        action="store_true",
        help="also `loopml serve --no-log` in the same runs (what the prediction log costs)",
    )
    parser.add_argument(
        "--router",
        action="store_true",
        help="also `loopml serve --deployment` over two arms of the model at 50 %% each",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "serving.json")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.seconds, args.ready_repeat = 1, 2.0, 1
    result = run(args)
    print("\nready after start (s, median):")
    for key, value in result["ready_s"].items():
        cpu = result["ready_cpu_s"].get(key)
        print(f"  {key:28} {value:.2f}" + ("" if cpu is None else f"   ({cpu:.2f} s CPU)"))
    floor = result["import_floor_s"]
    print(
        "  floor: `python -c 'import <library>'` alone: "
        + ", ".join(f"{name} ({_LIBRARIES[name]}) {value:.2f} s" for name, value in floor.items())
    )
    print("\nmodel alone (ms):", json.dumps(result["model_alone_ms"]))
    print("\nratios (ours / theirs for req/s; theirs / ours for p50):")
    for key, ratios in result["ratios"].items():
        print(f"  {key:20} " + "  ".join(f"{k} {v:g}" for k, v in ratios.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
