"""Serving: the ASGI prediction server (Open Inference Protocol v2 and MLflow's scoring
format), adaptive micro-batching, the durable prediction log with feedback, and batch
scoring."""

from loopml.serving._batcher import BatchObserver, MicroBatcher

__all__: list[str] = ["BatchObserver", "MicroBatcher"]
