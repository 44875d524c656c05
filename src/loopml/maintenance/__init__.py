"""Maintenance: garbage collection of the artifact store.

An object stays while any record refers to it: a dataset version (its manifest and every
file and profile the manifest names), a run's files (soft-deleted runs included, until
``loopml runs gc``), a model version (its manifest and files), a saved schema, an
evaluation report, a step output or a lineage edge. Everything else is freed, except
objects written within a grace period, which a concurrent writer may be about to record.
"""

from loopml.maintenance._gc import DEFAULT_GRACE_S, GarbageReport, collect_garbage, live_digests

__all__ = ["DEFAULT_GRACE_S", "GarbageReport", "collect_garbage", "live_digests"]
