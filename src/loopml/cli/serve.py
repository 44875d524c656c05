"""``loopml serve``: the prediction server on uvicorn."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loopml.cli._helpers import console, err_console, workspace_for
from loopml.cli._text import esc
from loopml.errors import InvalidInput

if TYPE_CHECKING:
    from loopml.entities import Deployment
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
    from loopml.serving import create_app, create_deployment_app, load_served

    workspace = workspace_for(ctx)
    if (model_uri is None) == (deployment is None):
        raise InvalidInput(
            "give a MODEL_URI or --deployment NAME (exactly one)",
            hint="`loopml serve models:/fraud@champion` or `loopml serve --deployment fraud`.",
        )
    options: dict[str, Any] = {
        "batching": not no_batching,
        "max_latency_ms": max_latency_ms,
        "prediction_log": not no_log,
        "runtime": runtime,
        "model_threads": model_threads or None,
    }
    if deployment is not None:
        options |= {"refresh_s": refresh_s, "switch_back_s": switch_back_s}
        dep = workspace.store.get_deployment(deployment)  # NotFound: exit 2 with its hint
        preloaded = _preload(dep, workspace, runtime)
        arms = ", ".join(f"{a.name} {a.model}/{a.version} {a.weight}%" for a in dep.arms)
        what = f"deployment {esc(deployment)} ({dep.strategy.value}, revision {dep.revision}: "
        console.print(f"serving {what}{esc(arms)}) at http://{host}:{port}", highlight=False)
        spec: dict[str, Any] = {"deployment": deployment}
        make = partial(
            create_deployment_app, deployment, workspace=workspace, _preloaded=preloaded, **options
        )
    else:
        assert model_uri is not None
        # Loaded (and verified) here, so a tampered model stops the command with exit 2.
        served = load_served(model_uri, workspace=workspace, runtime=runtime)
        console.print(
            f"serving {esc(served.name)} v{served.version_text} ({served.model.flavor}, "
            f"{runtime}) at http://{host}:{port}",
            highlight=False,
        )
        spec = {"model_uri": model_uri}
        make = partial(create_app, model_uri, workspace=workspace, _served=served, **options)
    _run(make, spec | {"workspace": workspace.spec(), "options": options}, host, port, workers)


def _preload(dep: Deployment, workspace: Workspace, runtime: str) -> dict[tuple[str, int], Any]:
    """Every arm's version loaded (and verified) before binding.

    A stable arm that cannot load stops the command (exit 2); another arm that cannot is
    reported and left to the server, which routes its share to the stable arm.
    """
    from loopml.errors import LoopmlError
    from loopml.serving import load_served

    loaded: dict[tuple[str, int], Any] = {}
    for i, arm in enumerate(dep.arms):
        try:
            loaded[(arm.model, arm.version)] = load_served(
                f"models:/{arm.model}/{arm.version}", workspace=workspace, runtime=runtime
            )
        except LoopmlError as exc:
            if i == 0:
                raise
            err_console.print(
                f"warning: arm {esc(arm.name)} ({esc(arm.model)}/{arm.version}) cannot be "
                f"served and gets no traffic: {esc(exc.message)}",
                highlight=False,
            )
    return loaded


def _run(make: Callable[[], Any], spec: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Run the app on uvicorn: built here, or from ``spec`` in each of ``workers`` processes."""
    import json

    import uvicorn

    from loopml.serving import SERVE_SPEC_ENV, freeze_heap

    if workers > 1:
        os.environ[SERVE_SPEC_ENV] = json.dumps(spec)
        uvicorn.run(
            "loopml.serving:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
        )
        return
    app = make()
    freeze_heap()
    uvicorn.run(app, host=host, port=port, log_level="warning")
