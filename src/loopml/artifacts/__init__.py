"""Content-addressed artifact store over fsspec.

Objects are stored by the sha256 of their bytes under ``objects/ab/cdef...`` of any fsspec
URL (a local folder by default, ``memory://`` in tests, ``s3://`` with the ``s3`` extra).
Writes stream through a temporary name and are moved into place, so no partial object is
ever visible; equal bytes are stored once (a batch of small local files goes into one
pack file, see ``_packs``); every read verifies the digest and raises
:class:`~loopml.errors.DigestMismatch` when stored bytes were altered. Objects can be
encrypted at rest (``_crypto``), and :class:`RemoteArtifactStore` is the same interface
over a loopml server's API (``_remote``; loaded on first use, it imports httpx).
"""

from typing import TYPE_CHECKING

from loopml.artifacts._copy import SupportsRead
from loopml.artifacts._crypto import (
    Keyring,
    MasterKey,
    generate_key,
    keyring_from_env,
    parse_key,
    read_key_file,
)
from loopml.artifacts._inventory import StoredObject
from loopml.artifacts._reader import ArtifactReader
from loopml.artifacts._store import (
    DEFAULT_CHUNK_SIZE,
    PACK_MIN_FILES,
    ArtifactStore,
    PutSource,
    open_artifact_store,
)
from loopml.plugins import lazy_exports

if TYPE_CHECKING:
    from loopml.artifacts._remote import RemoteArtifactStore

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "PACK_MIN_FILES",
    "ArtifactReader",
    "ArtifactStore",
    "Keyring",
    "MasterKey",
    "PutSource",
    "RemoteArtifactStore",
    "StoredObject",
    "SupportsRead",
    "generate_key",
    "keyring_from_env",
    "open_artifact_store",
    "parse_key",
    "read_key_file",
]

_LAZY = {"RemoteArtifactStore": "loopml.artifacts._remote:RemoteArtifactStore"}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__, globals())
