"""Content-addressed artifact store over fsspec.

Objects are stored by the sha256 of their bytes under ``objects/ab/cdef...`` of any fsspec
URL (a local folder by default, ``memory://`` in tests, ``s3://`` with the ``s3`` extra).
Writes stream through a temporary name and are moved into place, so no partial object is
ever visible; equal bytes are stored once (a batch of small local files goes into one
pack file, see ``_packs``); every read verifies the digest and raises
:class:`~loopml.errors.DigestMismatch` when stored bytes were altered.
"""

from loopml.artifacts._copy import SupportsRead
from loopml.artifacts._inventory import StoredObject
from loopml.artifacts._reader import ArtifactReader
from loopml.artifacts._store import (
    DEFAULT_CHUNK_SIZE,
    PACK_MIN_FILES,
    ArtifactStore,
    PutSource,
    open_artifact_store,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "PACK_MIN_FILES",
    "ArtifactReader",
    "ArtifactStore",
    "PutSource",
    "StoredObject",
    "SupportsRead",
    "open_artifact_store",
]
