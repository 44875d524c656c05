"""Conformance kits every back-end implementation must pass (used by loopml's own tests).

Subclass :class:`StoreConformance` in a test module and provide a ``store`` fixture that
yields a fresh, empty store; pytest then runs every check against it.
"""

from loopml.testing._store_suite import StoreConformance
from loopml.testing._tracking_suite import TrackingStoreConformance

__all__ = ["StoreConformance", "TrackingStoreConformance"]
