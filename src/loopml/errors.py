"""The loopml exception tree.

Every error loopml raises on purpose is a :class:`LoopmlError`. Leaves co-inherit the
builtin they resemble, so ``except LookupError`` keeps working for callers who do not know
loopml. Each class carries structured fields and an ``exit_code`` the CLI uses. Beside a
name, in parentheses, are its other bases (``also`` for another loopml class); a test
(``tests/test_errors_tree.py``) checks the drawing against the classes::

    LoopmlError (Exception)                        exit 2 unless a leaf says otherwise
    ├── InvalidInput (ValueError)                  bad argument, file or value from the user
    │   ├── ConfigError                            malformed loopml.toml / LOOPML_* value
    │   │   └── EncryptionKeyError                 no, a malformed or the wrong master key
    │   ├── InvalidReference                       a malformed id, URI or ObjectRef
    │   ├── InvalidGates                           a gates.yaml rule is wrong (file:line)
    │   ├── InvalidEvaluationData                  evaluation data does not fit the model
    │   ├── InvalidFeatureDefinition               a feature definition is wrong (file:line)
    │   ├── InvalidMonitorSpec                     a monitor spec is wrong (file:line)
    │   ├── InvalidAnalysis                        a deployment analysis spec is wrong (file:line)
    │   ├── InvalidTrigger                         a trigger rule is wrong (file:line)
    │   └── InvalidPipeline                        a pipeline definition is wrong (file:line)
    ├── NotFound (LookupError)                     the named object does not exist
    │   └── HomeNotFound                           a read-only command's home has no store
    ├── Conflict                                   the object changed or exists already
    ├── CheckFailed                                exit 1: a check ran and said no
    │   ├── ValidationFailed (ValueError)          data or schema validation failed
    │   └── GateFailed                             an evaluation gate failed
    ├── PermissionDenied (PermissionError)         the caller may not do this (403)
    ├── Unauthenticated (PermissionError)          a wrong, expired or revoked token (401)
    ├── DigestMismatch                             stored bytes no longer match their digest
    │   ├── UnsignedModel                          a model has no manifest of digests to verify
    │   ├── SignatureInvalid                       a model's OMS signature does not verify
    │   ├── DamagedPackIndex (also NotFound)       an artifact-store pack index fails its check
    │   └── DecryptionFailed                       encrypted bytes fail their authentication
    ├── StoreError                                 the metadata store cannot serve us
    │   ├── StoreUnavailable (ConnectionError)     the database cannot be reached/opened
    │   ├── StoreBusy                              locked longer than the busy timeout
    │   └── SchemaTooNew                           the database was migrated by newer code
    ├── PipelineFailed                             exit 1: a pipeline run ended FAILED
    ├── HomeNotWritable (PermissionError)          the loopml home cannot be created/written
    ├── Overloaded                                 a server is too busy to answer in time (503)
    ├── DeadlineExceeded (TimeoutError)            a request's deadline passed unanswered (504)
    └── MissingExtra (ImportError)                 an optional dependency is not installed

Messages follow one template: what was wrong, where, what was received, what is accepted,
and what to do (``hint``).
"""

from __future__ import annotations

from typing import Any


class LoopmlError(Exception):
    """Root of every error loopml raises on purpose.

    Args:
        message: One line saying what went wrong and where.
        hint: What the user can do about it (shown by the CLI under the headline).
        **fields: Structured data about the failure (kept on ``self.fields``).
    """

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.fields = fields

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.fields.items())
        return f"{type(self).__name__}({self.message!r}{extra})"


class InvalidInput(LoopmlError, ValueError):
    """A value, argument or file given by the user is not acceptable."""


class ConfigError(InvalidInput):
    """A setting (loopml.toml, pyproject, LOOPML_* variable) is malformed."""


class EncryptionKeyError(ConfigError):
    """The artifact store's master key is missing, malformed, or not the one an object needs.

    The message names key ids (a fingerprint), never key material.
    """


class InvalidReference(InvalidInput):
    """An id, digest, URI or object reference does not parse."""


class InvalidPipeline(InvalidInput):
    """A pipeline or step definition is wrong; the message starts with the user's file:line."""


class InvalidFeatureDefinition(InvalidInput):
    """A feature store definition (features.yaml or Python) is wrong: an unknown column,
    entity or feature, a missing timestamp, a duplicate name; the message starts with the
    file:line of the definition."""


class InvalidGates(InvalidInput):
    """A gate file (gates.yaml) is malformed, lacks a required field or names a reference
    that does not exist; the message starts with the file:line of the rule."""


class InvalidAnalysis(InvalidInput):
    """A deployment's analysis spec (analysis.yaml or a dict) is malformed: an unknown
    metric or key, a bound that is not a number, a negative limit; the message starts with
    the file:line of the entry."""


class InvalidTrigger(InvalidInput):
    """A trigger rule (triggers.yaml or Python) is wrong: an unknown kind or key, a bad
    cron expression, a negative cool-down; the message starts with the file:line of the
    rule."""


class InvalidEvaluationData(InvalidInput):
    """Evaluation data cannot be scored: unreadable, empty, missing the target or a column of
    the model's signature, or holding text where the model needs numbers."""


class InvalidMonitorSpec(InvalidInput):
    """A monitor spec (YAML or dict) is wrong; the message names file:line."""


class NotFound(LoopmlError, LookupError):
    """The object named does not exist.

    Args:
        kind: Kind of object looked up (``"run"``, ``"artifact"``...).
        ident: The id or name that was looked up.
        hint: What to do instead.
    """

    def __init__(self, kind: str, ident: str, *, hint: str | None = None) -> None:
        super().__init__(f"{kind} {ident!r} not found", hint=hint, kind=kind, ident=ident)
        self.kind = kind
        self.ident = ident


class HomeNotFound(NotFound):
    """A read-only command named a loopml home that holds no store yet.

    Args:
        home: The folder that was looked in.
    """

    def __init__(self, home: str) -> None:
        super().__init__(
            "loopml home",
            home,
            hint="Check --home / LOOPML_HOME, or create it with `loopml init` (commands "
            "that write, such as `loopml data commit`, create it on first use).",
        )
        self.home = home


class Conflict(LoopmlError):
    """The object exists already or was changed by someone else meanwhile."""


class CheckFailed(LoopmlError):
    """A check ran to completion and its verdict was negative (CLI exit code 1)."""

    exit_code = 1


class ValidationFailed(CheckFailed, ValueError):
    """Data or a schema did not validate."""


class GateFailed(CheckFailed):
    """An evaluation gate rejected a model."""


class PermissionDenied(LoopmlError, PermissionError):
    """The caller is not allowed to perform the action."""


class Unauthenticated(LoopmlError, PermissionError):
    """The credentials (an API token) are wrong, expired or revoked.

    The message never says which of the three, nor whether the account exists, so a
    guesser learns nothing from it.
    """


class DigestMismatch(LoopmlError):
    """Bytes read back do not hash to the digest they were stored under.

    Args:
        digest: The expected sha256 hex digest.
        actual: The digest of the bytes actually read.
        location: Where the bytes were read from (URL or path).
    """

    def __init__(self, digest: str, actual: str, location: str) -> None:
        super().__init__(
            f"digest mismatch for object {digest} at {location}: the stored bytes hash to {actual}",
            hint="The object was altered or corrupted after it was written; restore it from a "
            "backup or store it again with `put`.",
            digest=digest,
            actual=actual,
            location=location,
        )
        self.digest = digest
        self.actual = actual
        self.location = location


class UnsignedModel(DigestMismatch):
    """A model directory has no manifest of file digests, so it cannot be verified.

    Args:
        location: The directory (or file) that was to be loaded.
    """

    def __init__(self, location: str) -> None:
        LoopmlError.__init__(
            self,
            f"refusing to load the model at {location}: it has no loopml-model.json manifest of "
            "file digests to verify",
            hint="Save the model with loopml.models.save_model (or import an MLflow model with "
            "`loopml models import`), which records the sha256 of every file.",
            location=location,
        )
        self.digest = ""
        self.actual = ""
        self.location = location


class SignatureInvalid(DigestMismatch):
    """A model's OpenSSF Model Signing signature does not verify (or it is missing).

    Args:
        location: The model (``models:/NAME/VERSION`` or a folder).
        problem: What the verifier found (a changed file, another key...).
        hint: What to do instead of the default advice.
    """

    def __init__(self, location: str, problem: str, *, hint: str | None = None) -> None:
        LoopmlError.__init__(
            self,
            f"refusing to load the model {location}: its signature does not verify: {problem}",
            hint=hint
            or "A file was changed after signing, or another key signed it. Restore the model "
            "from the registry, or check it with `loopml models verify`.",
            location=location,
            problem=problem,
        )
        self.digest = ""
        self.actual = ""
        self.location = location
        self.problem = problem


class DamagedPackIndex(NotFound, DigestMismatch):
    """An object was not found and a pack index of the store, which may list it, is damaged.

    Both a :class:`NotFound` (callers that skip missing objects, such as garbage
    collection, keep working) and a :class:`DigestMismatch` (it is an integrity failure).

    Args:
        digest: The object that was asked for.
        indexes: The damaged index files, each with what is wrong with it.
    """

    def __init__(self, digest: str, indexes: dict[str, str]) -> None:
        where = "; ".join(f"{path} ({why})" for path, why in sorted(indexes.items()))
        LoopmlError.__init__(
            self,
            f"object {digest} is not readable: it is in no intact pack or loose file, and "
            f"damaged pack indexes may list it: {where}",
            hint="Restore those .idx files (and their .pack files) from a backup, or store the "
            "bytes again with put(); objects elsewhere in the store are unaffected.",
            digest=digest,
            indexes=indexes,
        )
        self.kind = "artifact"
        self.ident = digest
        self.digest = digest
        self.actual = ""
        self.location = where
        self.indexes = indexes


class DecryptionFailed(DigestMismatch):
    """An encrypted object's bytes fail their AES-GCM authentication: altered or truncated.

    Args:
        digest: The object's sha256 digest.
        location: Where the bytes were read from.
        detail: Which part failed (a chunk number, the header).
    """

    def __init__(self, digest: str, location: str, detail: str) -> None:
        LoopmlError.__init__(
            self,
            f"encrypted object {digest} at {location} fails its authentication ({detail}): "
            "the stored bytes were altered or truncated",
            hint="Restore the object from a backup or store the bytes again with put().",
            digest=digest,
            location=location,
        )
        self.digest = digest
        self.actual = ""
        self.location = location


class StoreError(LoopmlError):
    """The metadata store cannot serve the request."""


class StoreUnavailable(StoreError, ConnectionError):
    """The database cannot be reached or opened."""


class StoreBusy(StoreError):
    """The database stayed locked for longer than the busy timeout."""


class SchemaTooNew(StoreError):
    """The database schema was written by a newer loopml than this one."""


class PipelineFailed(LoopmlError):
    """A pipeline run ended FAILED; ``run_id`` names it and ``failed`` its failed steps.

    Args:
        run_id: The failed pipeline run (resume it with ``loopml pipeline resume``).
        failed: Names of the steps that failed.
        message: One line saying what failed.
    """

    exit_code = 1

    def __init__(self, run_id: str, failed: list[str], message: str) -> None:
        super().__init__(
            message,
            hint=f"See `loopml pipeline show {run_id}`; fix the step and run "
            f"`loopml pipeline resume {run_id}` to re-run only what failed.",
            run_id=run_id,
            failed=failed,
        )
        self.run_id = run_id
        self.failed = failed


class HomeNotWritable(LoopmlError, PermissionError):
    """The loopml home folder cannot be created or written."""


class Overloaded(LoopmlError):
    """A server (or its prediction log) cannot take more work now; retry after a while.

    Args:
        message: What is full or too slow.
        retry_after_s: Seconds after which a retry is likely to succeed (``Retry-After``).
    """

    def __init__(self, message: str, *, retry_after_s: float = 1.0, **fields: object) -> None:
        super().__init__(
            message,
            hint=f"Retry after {retry_after_s:g} s, or add workers/replicas.",
            retry_after_s=retry_after_s,
            **fields,
        )
        self.retry_after_s = retry_after_s


class DeadlineExceeded(LoopmlError, TimeoutError):
    """A request's deadline (its timeout) passed before it was answered."""


class MissingExtra(LoopmlError, ImportError):
    """An optional dependency is needed but not installed.

    Args:
        extra: Name of the loopml extra that provides it (``pip install 'loopml[extra]'``).
        feature: What the user tried to use.
    """

    def __init__(self, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional dependency group '{extra}', which is not installed",
            hint=f"Install it with: pip install 'loopml[{extra}]'",
            extra=extra,
            feature=feature,
        )
        self.extra = extra
        self.feature = feature
