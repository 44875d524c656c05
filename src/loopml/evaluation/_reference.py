"""Champion comparison: the reference model of no-regression rules, evaluated on the same
data; a reference that does not exist is an error, one not set yet is a note."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from loopml.errors import InvalidGates, InvalidInput, LoopmlError, NotFound
from loopml.evaluation._checks import Check
from loopml.evaluation._context import Scorer, check_signature, scoring_failed
from loopml.evaluation._results import ReferenceResult
from loopml.ids import ModelUri
from loopml.models import load_model

if TYPE_CHECKING:
    from loopml.evaluation._context import EvaluationContext
    from loopml.evaluation._gates import Gates
    from loopml.store import Store


class ReferenceCheck(Check[ReferenceResult]):
    """The reference (champion) model's metrics on the evaluation data.

    Args:
        reference: Model URI or directory of the reference.
        where: Where the reference was named (``gates.yaml:3: no_regression.against``), for
            errors; empty for a reference passed to ``evaluate`` directly.
    """

    name = "reference"

    def __init__(self, *, reference: str, where: str = "") -> None:
        self.reference = reference
        self.where = where

    def run(self, context: EvaluationContext) -> ReferenceResult:
        """The ``reference`` section.

        Raises:
            InvalidGates: The gates name a model, version or alias that does not exist.
            InvalidInput: The same, for a reference passed to ``evaluate``.
            InvalidEvaluationData: The data lacks a column the reference model needs.
        """
        store = context.workspace.store
        try:
            model = load_model(self.reference, store=store, artifacts=context.workspace.artifacts)
        except NotFound:
            return ReferenceResult(self.reference, None, self._not_loaded(store))
        check_signature(context.frame, model, role=f"reference model {self.reference}")
        columns = model.signature.columns if model.signature is not None else []
        X = context.frame[columns] if columns else context.X
        try:
            metrics = Scorer(model, context.task, context.y).metrics(X)
        except LoopmlError:
            raise
        except (ValueError, TypeError) as exc:
            raise scoring_failed(exc, self.reference) from exc
        return ReferenceResult(self.reference, metrics)

    def _fail(self, message: str, hint: str) -> InvalidInput:
        if self.where:
            text = f"{self.where} {self.reference} {message}"
            return InvalidGates(text, hint=hint, reference=self.reference)
        text = f"reference {self.reference} {message}"
        return InvalidInput(text, hint=hint, reference=self.reference)

    def _not_loaded(self, store: Store) -> str:
        """The note for a reference that exists but has no model yet; raise for one that
        names nothing."""
        uri = self.reference
        if not uri.startswith("models:/"):
            raise self._fail(
                "names no model",
                "Name the reference as models:/NAME@ALIAS, models:/NAME/VERSION or a model "
                "directory that exists.",
            )
        parsed = ModelUri.parse(uri)
        try:
            store.get_model(parsed.name)
        except NotFound:
            names = [m.name for m in store.list_models(limit=20)]
            raise self._fail(
                f"names model {parsed.name!r}, which is not registered",
                f"Registered models: {', '.join(names) or 'none'}.",
            ) from None
        if parsed.alias is None:
            numbers = [str(v.number) for v in store.list_model_versions(parsed.name)]
            raise self._fail(
                f"names version {parsed.version} of {parsed.name!r}, which does not exist",
                f"Versions of {parsed.name}: {', '.join(numbers) or 'none'}.",
            )
        moves = store.alias_history(parsed.name)
        policies = store.get_promotion_policies(parsed.name)
        known = {m.alias for m in moves} | {p.alias for p in policies}
        if parsed.alias in known:  # declared or once set: a first release has nothing to beat
            return f"no model at {uri} yet"
        close = difflib.get_close_matches(parsed.alias, sorted(known), n=1)
        near = f" (did you mean {close[0]!r}?)" if close else ""
        raise self._fail(
            f"names alias {parsed.alias!r}, which model {parsed.name!r} has never had{near}",
            f"Aliases of {parsed.name}: {', '.join(sorted(known)) or 'none'}. Fix the alias; "
            "for a first release, before the alias is set, declare it with a promotion policy "
            f"(`loopml models policy {parsed.name} {parsed.alias}`).",
        )


def reference_check(
    reference: str | None, gates: Gates, uri: str, *, registered: bool
) -> ReferenceCheck | None:
    """The champion comparison no-regression rules need (None: they need none).

    Raises:
        InvalidGates: ``against`` is an alias and ``uri`` no registered model to find it on.
    """
    if reference is not None:
        return ReferenceCheck(reference=reference)
    against = gates.reference
    if against is None:
        return None
    where = f"{gates.source}:{gates.reference_line}: no_regression.against"
    if against.startswith("models:/"):
        return ReferenceCheck(reference=against, where=where)
    if registered:
        name = ModelUri.parse(uri).name
        return ReferenceCheck(reference=f"models:/{name}@{against}", where=where)
    raise InvalidGates(
        f"{where} names alias {against!r}, and {uri} is not a registered model to look the "
        "alias up on",
        hint="Evaluate a registered version (models:/NAME/VERSION), or name the reference in "
        f"full: `against: models:/NAME@{against}`.",
        reference=against,
    )
