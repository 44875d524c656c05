"""Pipelines: reproducible step graphs with caching, retries, resume and schedules.

Decorate functions with :func:`step`, wire them in a :func:`pipeline` function, and call
it: the graph is checked before anything runs, independent steps run in parallel (worker
processes, or a Dask cluster with ``executor="dask"``), every output is stored by digest
with lineage, and unchanged steps are served from the cache. See docs/pipelines.md.
"""

from loopml.pipelines._api import PipelineResult, load_pipeline, resume, run_pipeline
from loopml.pipelines._dask import DaskExecutor
from loopml.pipelines._definition import OutputRef, Pipeline, Step, pipeline, step
from loopml.pipelines._executors import Executor, LocalExecutor
from loopml.pipelines._graph import Graph, Input, Node
from loopml.pipelines._logs import read_step_log
from loopml.pipelines._materialisers import Materialiser, register_materialiser
from loopml.pipelines._params import parse_params, read_config
from loopml.pipelines._schedules import (
    create_schedule,
    next_time_ms,
    remove_schedule,
    run_agent,
    run_due,
    update_schedule,
)
from loopml.pipelines._template import TEMPLATES, write_template
from loopml.pipelines._worker import current_step_run

__all__ = [
    "TEMPLATES",
    "DaskExecutor",
    "Executor",
    "Graph",
    "Input",
    "LocalExecutor",
    "Materialiser",
    "Node",
    "OutputRef",
    "Pipeline",
    "PipelineResult",
    "Step",
    "create_schedule",
    "current_step_run",
    "load_pipeline",
    "next_time_ms",
    "parse_params",
    "pipeline",
    "read_config",
    "read_step_log",
    "register_materialiser",
    "remove_schedule",
    "resume",
    "run_agent",
    "run_due",
    "run_pipeline",
    "step",
    "update_schedule",
    "write_template",
]
