"""``loopml serve``: the prediction server on uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from loopml.cli._helpers import console, workspace_for
from loopml.cli._text import esc


def serve(
    ctx: typer.Context,
    model_uri: Annotated[
        str,
        typer.Argument(
            metavar="MODEL_URI|BUNDLE_DIR",
            help="models:/NAME@ALIAS, models:/NAME/N, runs:/ID/NAME, a model directory or a "
            "`loopml models package` folder.",
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8080,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes (each loads the model).")
    ] = 1,
    no_batching: Annotated[
        bool, typer.Option("--no-batching", help="Predict each request alone.")
    ] = False,
    max_latency_ms: Annotated[
        float,
        typer.Option("--max-latency-ms", min=0, help="Longest a request waits for a batch."),
    ] = 20.0,
    no_log: Annotated[bool, typer.Option("--no-log", help="Keep no prediction log.")] = False,
    runtime: Annotated[
        str, typer.Option("--runtime", help="native (the model's library) or onnx.")
    ] = "native",
    model_threads: Annotated[
        int,
        typer.Option(
            "--model-threads",
            min=0,
            help="Native threads per predict call (0: one per core); scale with --workers.",
        ),
    ] = 1,
) -> None:
    """Serve a model over HTTP (Open Inference Protocol v2 and MLflow's scoring format)."""
    import json

    import uvicorn

    from loopml.serving import SERVE_SPEC_ENV, create_app, load_served

    workspace = workspace_for(ctx)
    # Loaded (and verified) here, so a tampered model stops the command with exit 2.
    served = load_served(model_uri, workspace=workspace, runtime=runtime)
    options = {
        "batching": not no_batching,
        "max_latency_ms": max_latency_ms,
        "prediction_log": not no_log,
        "runtime": runtime,
        "model_threads": model_threads or None,
    }
    console.print(
        f"serving {esc(served.name)} v{served.version_text} ({served.model.flavor}, "
        f"{runtime}) at http://{host}:{port}",
        highlight=False,
    )
    if workers > 1:
        os.environ[SERVE_SPEC_ENV] = json.dumps(
            {"model_uri": model_uri, "workspace": workspace.spec(), "options": options}
        )
        uvicorn.run(
            "loopml.serving:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
        )
        return
    app = create_app(model_uri, workspace=workspace, _served=served, **options)  # type: ignore[arg-type]
    uvicorn.run(app, host=host, port=port, log_level="warning")
