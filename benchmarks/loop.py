"""The closed loop on the generator's drift scenarios: detection, promotion, recovery.

Run: .venv/bin/python benchmarks/loop.py [--seeds 2] [--budget-s 280] [--json out.json]

For each scenario and seed, a fresh workspace gets a champion trained on 12 days of
transactions (a run of the demo's training pipeline on a committed dataset version,
registered and aliased; the demo's full evaluation is skipped here), then the demo's live
loop runs on it (:func:`loopml.demo._loop.run_loop`, quick sizes: 400-row monitor windows,
labels 200 rows late): the champion served by a deployment's router on loopback, the
stream, the monitor, the drift trigger and its chain (its retrain is a run of the same
pipeline), the canary and the promotion. Scenarios:

- ``covariate+concept``: amounts x1.7, 3x mobile payments, and a new fraud pattern (0.7);
- ``covariate``: the inputs change, the fraud rule does not;
- ``concept``: the fraud rule changes, the inputs do not (no input drift to see: the decay
  alert from the labels is what detects it, and the drift rule does not act);
- ``stable``: nothing changes, a stream of the same length: every firing is a false one.

Printed per scenario, medians over the seeds: rows and seconds from the drift onset to the
first window where a quarter of the inputs drifted (drift: what the drift rule acts on) and
to the live-ROC-AUC alert (decay), to a promoted model,
the live ROC-AUC (from the labels) before drift, after drift (the old champion's drifted
rows) and after recovery (the promoted version's rows), and the triggers fired (drift rule)
and would-have-fired (the dry-run decay rule). Bounded: no new run starts after
``--budget-s`` seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from contextlib import ExitStack, closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

import loopml
from loopml import registry
from loopml.data import DataRepo
from loopml.demo import QUICK, QUICK_LOOP
from loopml.demo._data import START, prepare_data
from loopml.demo._figures import phase_metrics, served_rows
from loopml.demo._loop import DECAY_TRIGGER, TRIGGER, Agent, run_loop
from loopml.demo._release import APPROVER, MODEL, write_gates
from loopml.demo._train import train_pipeline
from loopml.entities import TriggerEventKind
from loopml.pipelines import LocalExecutor

SCENARIOS = {
    "covariate+concept": {"covariate": True, "strength": 0.7},
    "covariate": {"covariate": True, "strength": 0.0},
    "concept": {"covariate": False, "strength": 0.7},
    "stable": {"covariate": False, "strength": 0.0},
}


def champion(ws: loopml.Workspace, seed: int, executor: LocalExecutor) -> int:
    """A champion trained on 12 days by the demo's training pipeline, alias set."""
    days, per_day = QUICK["days"], QUICK["rows_per_day"]
    data = prepare_data(
        DataRepo.for_workspace(ws), ws.home / "data", days=days, rows_per_day=per_day, seed=seed
    )
    gates = write_gates(ws.home / "release")
    training = train_pipeline(ws, data.version, gates=gates, seed=seed, executor=executor)
    registry.set_alias(MODEL, "champion", training.version_number, store=ws.store)
    return training.version_number


def one_run(scenario: str, seed: int) -> dict[str, Any]:
    """One scenario on one seed, in a fresh temporary home."""
    with tempfile.TemporaryDirectory(prefix="loopml-loop-bench-") as tmp:
        ws = loopml.Workspace.open(home=Path(tmp) / "home")
        try:
            with (
                closing(LocalExecutor(max_workers=1)) as executor,
                threadpool_limits(limits=1),
                loopml.use_workspace(ws),
            ):
                before = champion(ws, seed, executor)
                cfg = replace(
                    QUICK_LOOP, seed=seed, rows_per_day=QUICK["rows_per_day"], **SCENARIOS[scenario]
                )
                agent = Agent(ws, executor)
                start = pd.Timestamp(START) + pd.Timedelta(days=QUICK["days"])
                with ExitStack() as servers:
                    run = run_loop(
                        ws,
                        ws.home / "loop",
                        start=start,
                        cfg=cfg,
                        approver=APPROVER,
                        servers=servers,
                        agent=agent,
                        say=lambda _msg: None,
                    )
                chain = run.chain
                promoted = chain is not None and chain.outcome == "promoted"
                after = int(chain.output("candidate")) if promoted and chain else None
                phases = phase_metrics(run, served_rows(run, ws), before=before, after=after)
                fired = ws.store.count_trigger_events(TRIGGER, TriggerEventKind.FIRED, since_ms=0)
                would = ws.store.count_trigger_events(
                    DECAY_TRIGGER, TriggerEventKind.DRY_RUN, since_ms=0
                )
        finally:
            ws.close()
    return {
        "scenario": scenario,
        "seed": seed,
        "rows_sent": run.traffic.cursor,
        "drift_rows": run.detected_rows,
        "drift_s": run.detected_s,
        "decay_rows": run.decay_rows,
        "decay_s": run.decay_s,
        "outcome": None if chain is None else chain.outcome,
        "why": None if chain is None else chain.output("why"),
        "promoted_rows": run.promoted_rows if promoted else None,
        "promoted_s": run.promoted_s if promoted else None,
        "auc_before": phases.get("before drift", {}).get("auc"),
        "auc_after_drift": phases.get("after drift", {}).get("auc"),
        "auc_after_recovery": phases.get("after recovery", {}).get("auc"),
        "drift_triggers": fired,
        "decay_would_fire": would,
        "seconds": run.seconds,
    }


def _median(values: list[Any]) -> float | None:
    got = [float(v) for v in values if v is not None]
    return statistics.median(got) if got else None


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(runs: list[dict[str, Any]]) -> str:
    """Medians per scenario, one line each."""
    head = (
        f"{'scenario':<18} {'n':>2} {'drift rows/s':>13} {'decay rows/s':>13} "
        f"{'promoted rows/s':>16} {'AUC before':>10} {'after drift':>11} {'recovered':>9} "
        f"{'fired':>5} {'would':>5}"
    )
    lines = [head, "-" * len(head)]
    for scenario in SCENARIOS:
        mine = [r for r in runs if r["scenario"] == scenario]
        if not mine:
            continue

        def med(key: str, mine: list[dict[str, Any]] = mine) -> float | None:
            return _median([r[key] for r in mine])

        lines.append(
            f"{scenario:<18} {len(mine):>2} "
            f"{_cell(med('drift_rows'), '.0f'):>6}/{_cell(med('drift_s'), '.1f'):>6} "
            f"{_cell(med('decay_rows'), '.0f'):>6}/{_cell(med('decay_s'), '.1f'):>6} "
            f"{_cell(med('promoted_rows'), '.0f'):>8}/{_cell(med('promoted_s'), '.1f'):>7} "
            f"{_cell(med('auc_before'), '.3f'):>10} {_cell(med('auc_after_drift'), '.3f'):>11} "
            f"{_cell(med('auc_after_recovery'), '.3f'):>9} "
            f"{sum(r['drift_triggers'] for r in mine):>5} "
            f"{sum(r['decay_would_fire'] for r in mine):>5}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="Seeds per scenario.")
    parser.add_argument("--budget-s", type=float, default=280.0, help="Start no run after.")
    parser.add_argument("--json", type=Path, help="Also write every run as JSON here.")
    args = parser.parse_args()
    began = time.perf_counter()
    runs: list[dict[str, Any]] = []
    skipped = 0
    for seed in range(7, 7 + args.seeds):
        for scenario in SCENARIOS:
            if time.perf_counter() - began > args.budget_s:
                skipped += 1
                continue
            result = one_run(scenario, seed)
            runs.append(result)
            print(
                f"{scenario:<18} seed {seed}: {result['outcome'] or 'no chain'}"
                f"{' (' + result['why'] + ')' if result['why'] else ''}, drift after "
                f"{result['drift_rows']} rows, decay after {result['decay_rows']} rows "
                f"({result['seconds']:.0f} s)",
                flush=True,
            )
    print()
    print(table(runs))
    print(
        f"\nrows/s: stream rows and seconds from the drift onset; AUC: live ROC-AUC from the "
        f"labels; fired: drift-rule firings; would: dry-run decay-rule firings. "
        f"{len(runs)} runs in {time.perf_counter() - began:.0f} s"
        + (f"; {skipped} skipped by the budget" if skipped else "")
    )
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1, default=str))


if __name__ == "__main__":
    main()
