"""Serving: the ASGI prediction server (Open Inference Protocol v2 and MLflow's scoring
format), adaptive micro-batching, the durable prediction log with feedback, and batch
scoring (:func:`score_batch`: chunked, resumable, on processes or Dask, with lineage)."""

from loopml.serving._batch import BatchProgress, BatchResult, score_batch

__all__ = ["BatchProgress", "BatchResult", "score_batch"]
