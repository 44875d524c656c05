"""SqlStore: every SQL aggregate store composed over one Database."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from loopml.store.sql._engine import Database, open_database, translate
from loopml.store.sql._migrate import ensure_schema
from loopml.store.sql.alerts import SqlAlertStore
from loopml.store.sql.approvals import SqlApprovalStore
from loopml.store.sql.datasets import SqlDatasetStore
from loopml.store.sql.deployments import SqlDeploymentStore
from loopml.store.sql.evaluations import SqlEvaluationStore
from loopml.store.sql.features import SqlFeatureStore
from loopml.store.sql.governance import SqlGovernanceStore
from loopml.store.sql.idempotency import SqlIdempotencyStore
from loopml.store.sql.lineage import SqlLineageStore
from loopml.store.sql.monitor import SqlMonitorStore
from loopml.store.sql.pipelines import SqlPipelineStore
from loopml.store.sql.predictions import SqlPredictionStore
from loopml.store.sql.references import SqlReferenceStore
from loopml.store.sql.runs import SqlRunStore
from loopml.store.sql.triggers import SqlTriggerStore


class SqlStore(
    SqlRunStore,
    SqlLineageStore,
    SqlDatasetStore,
    SqlApprovalStore,
    SqlEvaluationStore,
    SqlPipelineStore,
    SqlReferenceStore,
    SqlFeatureStore,
    SqlGovernanceStore,
    SqlPredictionStore,
    SqlDeploymentStore,
    SqlAlertStore,
    SqlIdempotencyStore,
    SqlMonitorStore,
    SqlTriggerStore,
):
    """The metadata store on SQLite or PostgreSQL.

    Args:
        url: SQLAlchemy URL (``sqlite:///...`` or ``postgresql+psycopg://...``).
        busy_timeout_s: How long SQLite writers wait for the lock.
        migrate: Upgrade an older schema on open (False: refuse with a hint to run
            ``loopml db upgrade``). A newer schema is always refused.

    Example:
        >>> store = SqlStore("sqlite:///:memory:", migrate=True)
        >>> store.create_run(name="baseline").status.value
        'RUNNING'
        >>> store.close()
    """

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0, migrate: bool = True) -> None:
        self.url = url
        self._db = open_database(url, busy_timeout_s=busy_timeout_s)
        try:
            ensure_schema(self._db, migrate=migrate)
        except DBAPIError as exc:  # first contact: an unreachable server surfaces here
            self._db.dispose()
            raise translate(exc, url) from exc
        except BaseException:
            self._db.dispose()
            raise

    @property
    def database(self) -> Database:
        """The engine wrapper (for migrations and maintenance commands)."""
        return self._db

    def close(self) -> None:
        """Release every pooled connection."""
        self._db.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
