"""The fluent API: ``loopml.start_run`` over a default client, current run in a ContextVar.

No module-level mutable run state: the current run and the current client live in
ContextVars (each thread and asyncio task sees its own). The default client belongs to the
current workspace (built once per workspace), so every ``start_run`` shares one writer.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from loopml.tracking._client import TrackingClient

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from loopml.tracking._run import ActiveRun

_current_run: ContextVar[ActiveRun | None] = ContextVar("loopml_current_run", default=None)
_current_client: ContextVar[TrackingClient | None] = ContextVar(
    "loopml_current_tracking_client", default=None
)


def activate(run: ActiveRun) -> None:
    """Make ``run`` the current run of this context (remembering the previous one)."""
    run.token = _current_run.set(run)


def deactivate(run: ActiveRun) -> None:
    """Restore the run that was current before ``run`` started."""
    if _current_run.get() is not run or run.token is None:
        return
    try:
        _current_run.reset(run.token)
    except ValueError:  # ended from another context: fall back to its parent, if open
        _current_run.set(None)
    run.token = None


def active_run() -> ActiveRun | None:
    """The run started last and not yet ended in this context, if any."""
    return _current_run.get()


@contextmanager
def use_tracking(client: TrackingClient) -> Iterator[TrackingClient]:
    """Make ``client`` the one :func:`start_run` uses in this context."""
    token = _current_client.set(client)
    try:
        yield client
    finally:
        _current_client.reset(token)


def default_client() -> TrackingClient:
    """The client set by :func:`use_tracking`, else the current workspace's."""
    client = _current_client.get()
    if client is not None:
        return client
    from loopml.workspace import current_workspace

    return current_workspace().service("tracking.client", TrackingClient.for_workspace)


def start_run(
    name: str | None = None,
    *,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
    parent: str | ActiveRun | None = None,
    nested: bool = True,
    resume: str | None = None,
    notes: str | None = None,
    system_metrics: bool | float = False,
    sync: bool = False,
    client: TrackingClient | None = None,
) -> ActiveRun:
    """Start a run; inside another run it becomes that run's child.

    A thin layer over :meth:`TrackingClient.start_run` on the default client (the current
    workspace's, or the one set by :func:`use_tracking`).

    Args:
        name: Run name (default: the script's name).
        params: Params recorded with the run.
        tags: Tags recorded with the run.
        parent: Explicit parent run (id or ActiveRun).
        nested: With no ``parent``, nest under the current run if there is one.
        resume: Reopen this existing run instead of creating one.
        notes: Free-text notes.
        system_metrics: Sample ``system/*`` metrics (True: every 10 s; or seconds).
        sync: Every ``log_metric`` durable before it returns.
        client: Use this client instead of the default one.

    Returns:
        The open run; use it as a context manager.

    Example:
        >>> import loopml
        >>> with loopml.start_run(name="baseline", params={"C": 1.0}) as run:  # doctest: +SKIP
        ...     run.log_metric("auc", 0.97, step=3)
    """
    if parent is None and nested:
        parent = _current_run.get()
    return (client or default_client()).start_run(
        name,
        params=params,
        tags=tags,
        parent=parent,
        resume=resume,
        notes=notes,
        system_metrics=system_metrics,
        sync=sync,
    )


def _require_run() -> ActiveRun:
    run = _current_run.get()
    if run is None:
        from loopml.errors import InvalidInput

        raise InvalidInput("no active run", hint="Call this inside `with loopml.start_run(...):`.")
    return run


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log a metric point to the current run (see :meth:`ActiveRun.log_metric`)."""
    _require_run().log_metric(key, value, step)


def log_params(params: Mapping[str, Any]) -> None:
    """Log params to the current run (see :meth:`ActiveRun.log_params`)."""
    _require_run().log_params(params)
