"""The shared loopml server: the REST API over a workspace (see docs/server.md)."""

from loopml.server._context import IDEMPOTENCY_HEADER, ServerContext

__all__ = ["IDEMPOTENCY_HEADER", "ServerContext"]
