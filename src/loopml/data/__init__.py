"""Data: versioned datasets (commit, branch, tag, log, diff, checkout), profiles, schemas,
validation and personal-data detection.

A version is a commit: parents, message, author, time and a manifest of relative path ->
digest. Contents live in the content-addressed artifact store, so unchanged files cost
nothing and branches copy nothing. Table files (Parquet, CSV, JSON Lines) are profiled on
commit; the stored profile is the reference for validation and drift monitoring.
"""

from loopml.data._api import (
    branch,
    checkout,
    commit,
    diff,
    get_schema,
    infer_schema,
    list_schemas,
    load_table,
    log,
    open,
    profile,
    record_use,
    repo_for,
    save_schema,
    tag,
    validate,
)
from loopml.data._manifest import Entry, FileDiff, Manifest
from loopml.data._pii import PiiFinding, scan_table
from loopml.data._profile import FORMAT as PROFILE_FORMAT
from loopml.data._profile import profile_table
from loopml.data._repo import CheckoutResult, DataRepo, LogEntry
from loopml.data._schema import CheckSpec, ColumnSpec, Schema
from loopml.data._shift import column_psi
from loopml.data._validate import Anomaly, ValidationReport, register_check

__all__ = [
    "PROFILE_FORMAT",
    "Anomaly",
    "CheckSpec",
    "CheckoutResult",
    "ColumnSpec",
    "DataRepo",
    "Entry",
    "FileDiff",
    "LogEntry",
    "Manifest",
    "PiiFinding",
    "Schema",
    "ValidationReport",
    "branch",
    "checkout",
    "column_psi",
    "commit",
    "diff",
    "get_schema",
    "infer_schema",
    "list_schemas",
    "load_table",
    "log",
    "open",
    "profile",
    "profile_table",
    "record_use",
    "register_check",
    "repo_for",
    "save_schema",
    "scan_table",
    "tag",
    "validate",
]
