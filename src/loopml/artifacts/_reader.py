"""The streaming reader handed out by ``ArtifactStore.open``: it verifies while it reads."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from loopml.errors import DigestMismatch


class _VerifyingRaw(io.RawIOBase):
    """Raw stream over a stored object that hashes every byte it passes on.

    The digest is checked when the stream reaches the length the object had when it was
    opened, *before* the final bytes are returned, and again at end of file should the
    object have grown meanwhile. On a mismatch the read raises and so does every later one.
    """

    def __init__(self, source: Any, digest: str, location: str, size: int | None) -> None:
        super().__init__()
        self._source = source
        self._digest = digest
        self._location = location
        self._size = size
        self._hash = hashlib.sha256()
        self._pos = 0
        self._verified = False
        self._actual: str | None = None

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        self._raise_if_mismatched()
        view = memoryview(buffer).cast("B")
        if not view.nbytes:
            return 0
        read_into = getattr(self._source, "readinto", None)
        if read_into is not None:
            count = read_into(view) or 0
        else:
            data = self._source.read(view.nbytes)
            count = len(data)
            view[:count] = data
        if count:
            self._hash.update(view[:count])
            self._pos += count
            if self._size is None or self._pos < self._size:
                return count
            # At (or, if the object grew, past) its length: check before handing bytes out.
            self._verified = False
        self._check()
        return count

    def readall(self) -> bytes:
        chunks = []
        while chunk := self.read(1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if not self.closed:
            try:
                self._source.close()
            finally:
                super().close()

    @property
    def verified(self) -> bool:
        return self._verified

    def _check(self) -> None:
        if self._verified:
            return
        actual = self._hash.hexdigest()
        if actual != self._digest:
            self._actual = actual
            self._raise_if_mismatched()
        self._verified = True

    def _raise_if_mismatched(self) -> None:
        if self._actual is not None:
            raise DigestMismatch(self._digest, self._actual, self._location)


class ArtifactReader(io.BufferedReader):
    """A read-only binary stream over one stored object, verified as it is read.

    Returned by :meth:`ArtifactStore.open`; use it like any binary file (``read``,
    ``readinto``, ``readline``, iteration, ``with``). It is not seekable.

    Verification semantics: the digest covers the whole object, so it can only be checked
    once the last byte has been read. The read that reaches the end of the object checks it
    and, if the bytes were altered, raises :class:`~loopml.errors.DigestMismatch` *instead
    of returning the final bytes*; every later read raises too. Because the reader reads
    ahead into a buffer of up to 1 MiB, that read may come earlier than the caller's last
    one, never later. A consumer that stops before the end has received bytes that were
    never verified, and :attr:`verified` stays False. Use :meth:`ArtifactStore.get` or
    :meth:`ArtifactStore.get_file` for all-or-nothing access.

    Args:
        raw: The verifying raw stream.
        digest: The digest the object is stored under.
        buffer_size: Size of the read buffer in bytes.
    """

    def __init__(self, raw: _VerifyingRaw, digest: str, buffer_size: int) -> None:
        super().__init__(raw, buffer_size)
        self._verifier = raw
        self.digest = digest

    @property
    def verified(self) -> bool:
        """True once every byte has been read and matched the digest."""
        return self._verifier.verified

    def __repr__(self) -> str:
        return f"ArtifactReader(digest={self.digest!r}, verified={self.verified})"
