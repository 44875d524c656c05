"""The metadata store: protocols capabilities call, and the SQL implementation."""

from loopml.store._open import current_store, open_store, use_store
from loopml.store.protocols import LeaseStore, LineageStore, PipelineStore, RunStore, Store

__all__ = [
    "LeaseStore",
    "LineageStore",
    "PipelineStore",
    "RunStore",
    "Store",
    "current_store",
    "open_store",
    "use_store",
]
