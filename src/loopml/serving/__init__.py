"""Serving: the ASGI prediction server (Open Inference Protocol v2 and MLflow's scoring
format), adaptive micro-batching, the durable prediction log with feedback, and batch
scoring.

:func:`create_app` returns the Starlette app serving one model (``loopml serve`` runs it on
uvicorn); :func:`create_deployment_app` the router of a stored deployment (``loopml serve
--deployment NAME``: weights, sticky keys, shadow copies, live reload; :func:`pick` and
:func:`route_table` are its routing); :func:`predict` scores rows in-process with the
same validation;
:class:`MicroBatcher` gathers concurrent requests into one predict call;
:class:`PredictionLog` keeps every prediction durably (a :class:`BatchRecord` per
predict call), :func:`log_feedback` joins ground
truth to it and :func:`read_predictions` reads both back; :func:`score_batch` scores files
or dataset versions in chunks (resumable, on processes or Dask, with lineage).
"""

from loopml.serving._app import SERVE_SPEC_ENV, app_from_env, create_app, freeze_heap
from loopml.serving._batch import BatchProgress, BatchResult, score_batch
from loopml.serving._batcher import BatchObserver, MicroBatcher
from loopml.serving._feedback import (
    FeedbackResult,
    log_feedback,
    prediction_segments,
    read_predictions,
)
from loopml.serving._predict import predict
from loopml.serving._predlog import PredictionLog, live_logs
from loopml.serving._records import BatchRecord, PredictionRecord
from loopml.serving._routed import create_deployment_app
from loopml.serving._routing import KEY_HEADER, ArmRoute, RouteTable, pick, route_table
from loopml.serving._runtime import ServedModel, load_served
from loopml.serving._validate import RequestError

__all__ = [
    "KEY_HEADER",
    "SERVE_SPEC_ENV",
    "ArmRoute",
    "BatchObserver",
    "BatchProgress",
    "BatchRecord",
    "BatchResult",
    "FeedbackResult",
    "MicroBatcher",
    "PredictionLog",
    "PredictionRecord",
    "RequestError",
    "RouteTable",
    "ServedModel",
    "app_from_env",
    "create_app",
    "create_deployment_app",
    "freeze_heap",
    "live_logs",
    "load_served",
    "log_feedback",
    "pick",
    "predict",
    "prediction_segments",
    "read_predictions",
    "route_table",
    "score_batch",
]
