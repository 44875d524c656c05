"""Where batch chunks are scored: in this process, a process pool, or a Dask cluster.

A scorer takes the feature columns of a chunk (an Arrow table) and returns the prediction
columns as numpy arrays. Each worker process loads the model once (verified against its
manifest digest) and keeps it for every chunk it scores.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from loopml.errors import InvalidInput, MissingExtra

if TYPE_CHECKING:
    import pyarrow as pa

    from loopml.models import LoadedModel
    from loopml.workspace import Workspace

#: Models loaded in this process, by manifest digest: a worker loads each model once.
_MODELS: dict[str, LoadedModel] = {}


@dataclass(frozen=True)
class ModelRef:
    """What a worker needs to load the model: a local directory or URI and its digest."""

    path: str
    uri: str
    digest: str
    workspace: Workspace | None
    proba: bool


def worker_model(ref: ModelRef) -> LoadedModel:
    """The model of ``ref`` in this process, loaded and verified on first use."""
    model = _MODELS.get(ref.digest)
    if model is None:
        from loopml.models import load_model

        # A remote Dask worker may not see the driver's cache folder: resolve the URI there.
        source = ref.path if os.path.isdir(ref.path) else ref.uri
        model = load_model(source, expected_digest=ref.digest, workspace=ref.workspace)
        _MODELS[ref.digest] = model
    return model


def remember(model: LoadedModel) -> None:
    """Make an already loaded model the one this process scores with."""
    _MODELS[model.digest] = model


def score(ref: ModelRef, features: pa.Table) -> dict[str, np.ndarray]:
    """Predictions (and probabilities with ``ref.proba``) for one chunk's feature columns."""
    model = worker_model(ref)
    frame = features.to_pandas()
    out = {"prediction": np.asarray(model.predict(frame))}
    if ref.proba:
        out["proba"] = np.asarray(model.predict_proba(frame))
    return out


def proba_labels(model: LoadedModel, width: int) -> list[str]:
    """Column suffixes for the probability columns (the classes, when the model has them)."""
    classes = getattr(model.raw, "classes_", None)
    if classes is not None and len(classes) == width:
        return [str(c) for c in classes]
    return [str(i) for i in range(width)]


class Scorer(Protocol):
    """Runs :func:`score` somewhere; ``submit`` returns an object with ``result()``."""

    def submit(self, features: pa.Table) -> Any:
        """Start scoring one chunk."""
        ...

    def close(self) -> None:
        """Stop workers this scorer started."""
        ...


class InlineScorer:
    """Scores in this process (one worker: no pickling, no start-up)."""

    def __init__(self, ref: ModelRef) -> None:
        self.ref = ref

    def submit(self, features: pa.Table) -> Future[dict[str, np.ndarray]]:
        """Score now; the returned future is already done."""
        future: Future[dict[str, np.ndarray]] = Future()
        try:
            future.set_result(score(self.ref, features))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        """Nothing to stop."""


def _init_worker(ref: ModelRef) -> None:
    worker_model(ref)


class PoolScorer:
    """Scores in ``workers`` processes of this machine; each loads the model at start."""

    def __init__(self, ref: ModelRef, workers: int) -> None:
        self.ref = ref
        methods = multiprocessing.get_all_start_methods()
        # forkserver/spawn: no threads or sockets of this process are inherited.
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(ref,)
        )

    def submit(self, features: pa.Table) -> Future[dict[str, np.ndarray]]:
        """Queue one chunk for the pool."""
        return self._pool.submit(score, self.ref, features)

    def close(self) -> None:
        """Shut the pool down (queued chunks are dropped)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskScorer:
    """Scores chunks as tasks on a Dask cluster (``dask`` extra).

    Connects to ``address`` (the ``dask_address`` setting, ``LOOPML_DASK_ADDRESS``) or
    starts a ``LocalCluster`` of ``workers`` processes bound to 127.0.0.1.
    """

    def __init__(self, ref: ModelRef, workers: int, address: str | None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise MissingExtra("dask", "batch scoring on Dask") from exc
        self.ref = ref
        self._cluster: Any = None
        if address:
            self._client = Client(address, set_as_default=False)  # type: ignore[no-untyped-call]
        else:
            self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
            )
            self._client = Client(self._cluster, set_as_default=False)  # type: ignore[no-untyped-call]
        self._ref_future = self._client.scatter(  # type: ignore[no-untyped-call]
            ref, broadcast=True
        )

    def submit(self, features: pa.Table) -> Any:
        """Submit one chunk as a task."""
        return self._client.submit(score, self._ref_future, features, pure=False)

    def close(self) -> None:
        """Close the client and the local cluster it started."""
        self._client.close()  # type: ignore[no-untyped-call]
        if self._cluster is not None:
            self._cluster.close()


def make_scorer(
    ref: ModelRef, *, executor: str, workers: int, address: str | None = None
) -> Scorer:
    """The scorer for ``executor`` (``local`` or ``dask``) with ``workers`` processes."""
    if workers < 1:
        raise InvalidInput(
            f"workers must be at least 1, got {workers}", hint="Pass --workers 1 or more."
        )
    if executor == "dask":
        return DaskScorer(ref, workers, address)
    if executor != "local":
        raise InvalidInput(
            f"unknown batch executor {executor!r}", hint="Use 'local' or 'dask'.", executor=executor
        )
    return InlineScorer(ref) if workers == 1 else PoolScorer(ref, workers)
