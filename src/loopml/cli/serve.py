"""``loopml serve``: the prediction server on uvicorn."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli._helpers import console, workspace_for
from loopml.cli._text import esc
from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from loopml.workspace import Workspace


def serve(
    ctx: typer.Context,
    model_uri: Annotated[
        str | None,
        typer.Argument(
            metavar="MODEL_URI|BUNDLE_DIR",
            help="models:/NAME@ALIAS, models:/NAME/N, runs:/ID/NAME, a model directory or a "
            "`loopml models package` folder (omit with --deployment).",
            show_default=False,
        ),
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option(
            "--deployment",
            help="Serve the stored deployment NAME: route its arms by weight (sticky by the "
            "X-Loopml-Key header), shadow copies, and pick up changes without a restart.",
            show_default=False,
        ),
    ] = None,
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
    refresh_s: Annotated[
        float,
        typer.Option(
            "--refresh-s", min=0.05, help="With --deployment: how often the store is re-read."
        ),
    ] = 1.0,
    switch_back_s: Annotated[
        float,
        typer.Option(
            "--switch-back-s",
            min=0,
            help="With --deployment: how long a version that left the deployment stays "
            "loaded, so switching back to it is instant.",
        ),
    ] = 600.0,
) -> None:
    """Serve a model over HTTP (Open Inference Protocol v2 and MLflow's scoring format).

    With --deployment NAME, serve a stored deployment, routed across its versions by weight.
    """
    import json

    import uvicorn

    from loopml.serving import SERVE_SPEC_ENV, create_app, load_served

    workspace = workspace_for(ctx)
    if (model_uri is None) == (deployment is None):
        raise InvalidInput(
            "give a MODEL_URI or --deployment NAME (exactly one)",
            hint="`loopml serve models:/fraud@champion` or `loopml serve --deployment fraud`.",
        )
    if deployment is not None:
        _serve_deployment(
            workspace, deployment, host=host, port=port, workers=workers,
            options={
                "batching": not no_batching, "max_latency_ms": max_latency_ms,
                "prediction_log": not no_log, "runtime": runtime,
                "model_threads": model_threads or None, "refresh_s": refresh_s,
                "switch_back_s": switch_back_s,
            },
        )  # fmt: skip
        return
    assert model_uri is not None
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


def _serve_deployment(
    workspace: Workspace,
    name: str,
    *,
    host: str,
    port: int,
    workers: int,
    options: dict[str, Any],
) -> None:
    """``loopml serve --deployment NAME``: every arm loaded (and verified) before binding."""
    import json

    import uvicorn

    from loopml.serving import SERVE_SPEC_ENV, create_deployment_app, load_served

    dep = workspace.store.get_deployment(name)  # NotFound: exit 2 with its hint
    preloaded = {
        (arm.model, arm.version): load_served(
            f"models:/{arm.model}/{arm.version}", workspace=workspace, runtime=options["runtime"]
        )
        for arm in dep.arms
    }
    arms = ", ".join(f"{a.name} {a.model}/{a.version} {a.weight}%" for a in dep.arms)
    console.print(
        f"serving deployment {esc(name)} ({dep.strategy.value}, revision {dep.revision}: "
        f"{esc(arms)}) at http://{host}:{port}",
        highlight=False,
    )
    if workers > 1:
        os.environ[SERVE_SPEC_ENV] = json.dumps(
            {"deployment": name, "workspace": workspace.spec(), "options": options}
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
    app = create_deployment_app(name, workspace=workspace, _preloaded=preloaded, **options)
    uvicorn.run(app, host=host, port=port, log_level="warning")
