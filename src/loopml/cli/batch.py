"""``loopml batch``: score a table with a model into Parquet, chunked and resumable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from loopml.cli._helpers import console, err_console, print_json, workspace_for
from loopml.cli._text import esc

if TYPE_CHECKING:
    from loopml.serving import BatchProgress


def batch(
    ctx: typer.Context,
    model_uri: Annotated[
        str,
        typer.Argument(
            help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/ID/PATH or a model directory."
        ),
    ],
    input: Annotated[
        str,
        typer.Option(
            "--input", "-i", help="A .parquet or .csv file, a folder of them, or NAME@REF."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The Parquet file to write.")],
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Processes scoring chunks.")
    ] = 1,
    executor: Annotated[
        str, typer.Option("--executor", help="local (this machine) or dask (a Dask cluster).")
    ] = "local",
    chunk_rows: Annotated[
        int,
        typer.Option("--chunk-rows", min=1, help="Rows per chunk (unit of memory and of resume)."),
    ] = 100_000,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", help="Input column to copy into the output (repeat; default all)."),
    ] = None,
    proba: Annotated[
        bool, typer.Option("--proba", help="Add a probability column per class.")
    ] = False,
    prediction_column: Annotated[
        str, typer.Option("--prediction-column", help="Name of the prediction column.")
    ] = "prediction",
    restart: Annotated[
        bool,
        typer.Option("--restart", help="Discard the chunks of an interrupted run; start over."),
    ] = False,
    no_store: Annotated[
        bool,
        typer.Option(
            "--no-store-output", help="Record the output's digest only (do not store a copy)."
        ),
    ] = False,
    dask_address: Annotated[
        str | None, typer.Option("--dask-address", help="Dask scheduler (default: local cluster).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Score a table with a model into Parquet: chunked, resumable, on processes or Dask."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from loopml.serving import score_batch

    workspace = workspace_for(ctx)
    bar = Progress(
        TextColumn("[bold]scoring"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("rows · {task.fields[speed]} rows/s · {task.fields[chunks]} chunks"),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json,
        transient=False,
    )
    tasks: list[TaskID] = []

    def advance(p: BatchProgress) -> None:
        if not tasks:  # the job passed its checks: show the bar from now on
            bar.start()
            tasks.append(bar.add_task("scoring", total=p.total_rows, speed="–", chunks=0))
        speed = f"{p.scored_rows / p.seconds:,.0f}" if p.seconds > 0 else "–"
        bar.update(tasks[0], completed=p.rows, total=p.total_rows, speed=speed, chunks=p.chunks)

    try:
        result = score_batch(
            model_uri,
            input,
            output,
            workers=workers,
            executor=executor,
            chunk_rows=chunk_rows,
            keep=keep,
            proba=proba,
            prediction_column=prediction_column,
            restart=restart,
            store_output=not no_store,
            dask_address=dask_address,
            progress=advance,
            workspace=workspace,
        )
    finally:
        if tasks:  # stopping a bar never started still prints a line
            bar.stop()
    if as_json:
        print_json(result.to_dict())
        return
    resumed = f", {result.skipped_chunks} resumed" if result.skipped_chunks else ""
    console.print(
        f"scored {result.rows:,} rows into {esc(str(result.output))} in {result.seconds:.2f} s "
        f"({result.rows_per_s:,.0f} rows/s, {result.chunks} chunks{resumed}); "
        f"run {result.run_id}"
    )
