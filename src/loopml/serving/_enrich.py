"""Serving-time enrichment: a feature service's online values joined to each request.

A deployment that names a feature service takes requests without the features the service
provides: callers send the entity keys (and any request fields its on-demand views read)
plus the model's other inputs. Before predicting, the router looks the features up in the
online store (one :class:`~loopml.features.FeatureClient` per server, opened at start-up)
and adds them as columns, so training (``get_historical_features`` over the same service)
and serving share one definition. The looked-up values are part of the logged inputs, next
to the entity keys, so offline/online skew can be measured from the prediction log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml.errors import InvalidInput
from loopml.serving._validate import Columns, RequestError, Schema, coerce_column

if TYPE_CHECKING:
    from loopml.features import FeatureClient

#: Feature dtypes (the feature store's names) as signature dtypes.
_SIGNATURE_DTYPE = {"string": "str", "timestamp": "datetime"}


class Enricher:
    """Adds a feature service's online values to a request's columns.

    Args:
        client: The workspace's feature client (``loopml.features.client_for``).
        service: The feature service's name.
        schema: The model's input schema.

    Raises:
        NotFound: No such feature service.
        InvalidInput: The model takes a tensor, or none of its inputs is a feature of
            the service.
    """

    def __init__(self, client: FeatureClient, service: str, schema: Schema) -> None:
        if schema.is_tensor:
            raise InvalidInput(
                f"feature service {service!r} cannot enrich a model that takes one tensor",
                hint="Enrichment joins named feature columns; serve a model with columns.",
            )
        selection = client.selection(service)
        provided = [n for n in selection.output_names if n in schema.dtypes]
        if not provided:
            raise InvalidInput(
                f"feature service {service!r} provides none of the model's inputs "
                f"({', '.join(schema.columns)})",
                hint="Name the service the model was trained with.",
            )
        self.client = client
        self.service = service
        self.model_schema = schema
        self.features = tuple(provided)
        self.keys = dict(selection.key_columns)
        self.request_fields = dict(selection.request_fields)
        asked = [c for c in schema.columns if c not in provided]
        dtypes = {c: schema.dtypes[c] for c in asked}
        for name, dtype in (*self.keys.items(), *self.request_fields.items()):
            if name not in dtypes:
                asked.append(name)
                dtypes[name] = _SIGNATURE_DTYPE.get(dtype, dtype)
        self.request_schema = Schema(columns=tuple(asked), dtypes=dtypes)
        """What callers send: the entity keys, request fields and the model's other inputs."""

    def enrich(self, columns: Columns) -> Columns:
        """``columns`` with the service's features added (run off the event loop).

        A missing or stale value (never materialised, or older than the view's TTL) is
        refused with 422 naming the feature and the entity: a model fed a made-up value
        answers wrongly without a sign, and most estimators fail on NaN anyway.
        """
        needed = [*self.keys, *self.request_fields]
        count = len(columns[needed[0]]) if needed else len(next(iter(columns.values())))
        lists = {name: columns[name].tolist() for name in needed}
        rows = [{name: lists[name][i] for name in needed} for i in range(count)]
        found = self.client.get(rows, self.service)
        out = dict(columns)
        for name in self.features:
            values: list[Any] = found.columns[name]
            if any(v is None for v in values):
                row = values.index(None)
                entity = ", ".join(f"{k}={rows[row][k]!r}" for k in self.keys)
                raise RequestError(
                    f"feature {name!r} has no online value for {entity} (row {row})",
                    status=422,
                    code="feature_missing",
                    field=name,
                    hint="Materialise its view (`loopml features materialize`), or send "
                    "rows whose entities have values.",
                )
            out[name] = coerce_column(name, values, self.model_schema.dtypes[name])
        return out

    def model_inputs(self, columns: Columns) -> Columns:
        """The columns the model takes (the entity keys stay only in the log)."""
        return {c: columns[c] for c in self.model_schema.columns}
