"""SQL implementation of :class:`~loopml.store.protocols.EvaluationStore`."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from loopml.entities import Evaluation
from loopml.errors import NotFound
from loopml.ids import check_digest, new_id
from loopml.store.sql import tables as t
from loopml.store.sql._time import now_ms
from loopml.store.sql.models import SqlModelStore

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import RowMapping


def _to_evaluation(row: RowMapping, name: str | None) -> Evaluation:
    passed = row["passed"]
    return Evaluation(
        id=row["id"],
        model_uri=row["model_uri"],
        created_at_ms=int(row["created_at_ms"]),
        created_by=row["created_by"],
        model_name=name,
        version=None if row["version_number"] is None else int(row["version_number"]),
        data_fingerprint=row["data_fingerprint"],
        passed=None if passed is None else bool(passed),
        report_digest=row["report_digest"],
        gates_digest=row["gates_digest"],
        summary={
            k: (math.nan if v is None else float(v))
            for k, v in json.loads(row["summary_json"]).items()
        },
    )


class SqlEvaluationStore(SqlModelStore):
    """Evaluations in one SQL table; the full reports live in the artifact store."""

    def add_evaluation(
        self,
        *,
        actor: str,
        model_uri: str,
        model_name: str | None = None,
        version: int | None = None,
        data_fingerprint: str = "",
        passed: bool | None = None,
        report_digest: str | None = None,
        gates_digest: str | None = None,
        summary: Mapping[str, float] | None = None,
    ) -> Evaluation:
        """Record an evaluation (NaN summary values are stored as null)."""
        clean = {
            k: (None if math.isnan(float(v)) else float(v)) for k, v in (summary or {}).items()
        }
        evaluation_id = new_id()
        with self._db.write() as conn:
            model_id = None
            if model_name is not None:
                model_id = self._model_row(conn, model_name)["id"]
                if version is not None:
                    self._version_row(conn, model_id, version)
            conn.execute(
                insert(t.evaluations).values(
                    id=evaluation_id,
                    model_uri=model_uri,
                    model_id=model_id,
                    version_number=version,
                    data_fingerprint=data_fingerprint,
                    passed=None if passed is None else int(passed),
                    report_digest=None if report_digest is None else check_digest(report_digest),
                    gates_digest=None if gates_digest is None else check_digest(gates_digest),
                    summary_json=json.dumps(clean, sort_keys=True),
                    created_at_ms=now_ms(),
                    created_by=actor,
                )
            )
            if model_id is not None:
                self._event(
                    conn,
                    model_id,
                    "evaluate",
                    actor,
                    version=version,
                    detail={"evaluation": evaluation_id, "passed": passed},
                )
            row = (
                conn.execute(select(t.evaluations).where(t.evaluations.c.id == evaluation_id))
                .mappings()
                .one()
            )
            return _to_evaluation(row, model_name)

    def get_evaluation(self, evaluation_id: str) -> Evaluation:
        """Return an evaluation; NotFound if absent."""
        with self._db.read() as conn:
            row = (
                conn.execute(
                    select(t.evaluations, t.models.c.name.label("model_name"))
                    .outerjoin(t.models, t.models.c.id == t.evaluations.c.model_id)
                    .where(t.evaluations.c.id == evaluation_id)
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound("evaluation", evaluation_id)
            return _to_evaluation(row, row["model_name"])

    def list_evaluations(
        self, name: str, number: int | None = None, *, limit: int = 100
    ) -> list[Evaluation]:
        """Evaluations of a model (or one version), newest first."""
        with self._db.read() as conn:
            model = self._model_row(conn, name)
            query = select(t.evaluations).where(t.evaluations.c.model_id == model["id"])
            if number is not None:
                query = query.where(t.evaluations.c.version_number == number)
            query = query.order_by(t.evaluations.c.created_at_ms.desc(), t.evaluations.c.id.desc())
            return [_to_evaluation(r, name) for r in conn.execute(query.limit(limit)).mappings()]
