"""Demo step 1: generate a month of transactions, version them, infer a schema, validate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from loopml.data import DataRepo, infer_schema, save_schema, validate
from loopml.datasets import CovariateShift, generate_transactions

if TYPE_CHECKING:
    from pathlib import Path

    from loopml.data import ValidationReport
    from loopml.entities import DatasetVersion

DATASET = "transactions"
START = "2026-10-01"


@dataclass(frozen=True)
class DemoData:
    """The month, its version, and what validation said about it and a drifted window."""

    frame: pd.DataFrame
    version: DatasetVersion
    clean_report: ValidationReport
    drifted_report: ValidationReport


def prepare_data(
    repo: DataRepo, folder: Path, *, days: int, rows_per_day: int, seed: int
) -> DemoData:
    """Generate, commit and validate; a covariate-shifted next week shows what drift looks like."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = generate_transactions(start=START, days=days, rows_per_day=rows_per_day, seed=seed)
    month = folder / "transactions.parquet"
    frame.to_parquet(month, index=False)
    version = repo.commit(DATASET, month, message=f"{days} days of card transactions from {START}")

    ref = f"{DATASET}@main"
    schema = infer_schema(ref, repo=repo)
    save_schema(ref, schema, repo=repo)
    clean = validate(ref, schema, reference=ref, repo=repo)

    next_start = pd.Timestamp(START) + pd.Timedelta(days=days)
    shift = CovariateShift(
        start=next_start.date(), amount_factor=1.8, new_country="BR", new_country_share=0.15
    )
    drifted_frame = generate_transactions(
        start=next_start.date(), days=3, rows_per_day=rows_per_day, seed=seed + 1, drift=[shift]
    )
    drifted_file = folder / "next-window.parquet"
    drifted_frame.to_parquet(drifted_file, index=False)
    drifted = validate(str(drifted_file), schema, reference=ref, repo=repo)
    return DemoData(frame, version, clean, drifted)
