"""The loopml server: the REST API over every capability (see docs/server.md).

This package's ``__init__`` belongs to the server's own work; the artifact endpoints live
in :mod:`loopml.server._artifacts`.
"""

__all__: list[str] = []
