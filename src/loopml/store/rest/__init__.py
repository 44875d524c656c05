"""The remote store: RestStore (the Store protocol over HTTP) and what the server shares
with it (the operation table, the JSON codecs, the error table)."""

from loopml.store.rest._client import IDEMPOTENCY_HEADER, RestStore, query_value
from loopml.store.rest._codec import decode, encode, json_schema
from loopml.store.rest._errors import STATUS, error_body, error_from, status_of
from loopml.store.rest._table import OPERATIONS, Operation, Param

__all__ = [
    "IDEMPOTENCY_HEADER",
    "OPERATIONS",
    "STATUS",
    "Operation",
    "Param",
    "RestStore",
    "decode",
    "encode",
    "error_body",
    "error_from",
    "json_schema",
    "query_value",
    "status_of",
]
