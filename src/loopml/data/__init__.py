"""Data: versioned datasets (commit, branch, tag, log, diff, checkout), profiles, schemas,
validation and personal-data detection.

A version is a commit: parents, message, author, time and a manifest of relative path ->
digest. Contents live in the content-addressed artifact store, so unchanged files cost
nothing and branches copy nothing. Table files (Parquet, CSV, JSON Lines) are profiled on
commit; the stored profile is the reference for validation and drift monitoring.

The names load on first use (``loopml.data.DataRepo`` does not import pyarrow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopml.plugins import lazy_exports

if TYPE_CHECKING:
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
    from loopml.data._shift import column_psi, psi_shares
    from loopml.data._validate import Anomaly, ValidationReport, register_check

_LAZY = {
    "Anomaly": "loopml.data._validate:Anomaly",
    "CheckSpec": "loopml.data._schema:CheckSpec",
    "CheckoutResult": "loopml.data._repo:CheckoutResult",
    "ColumnSpec": "loopml.data._schema:ColumnSpec",
    "DataRepo": "loopml.data._repo:DataRepo",
    "Entry": "loopml.data._manifest:Entry",
    "FileDiff": "loopml.data._manifest:FileDiff",
    "LogEntry": "loopml.data._repo:LogEntry",
    "Manifest": "loopml.data._manifest:Manifest",
    "PROFILE_FORMAT": "loopml.data._profile:FORMAT",
    "PiiFinding": "loopml.data._pii:PiiFinding",
    "Schema": "loopml.data._schema:Schema",
    "ValidationReport": "loopml.data._validate:ValidationReport",
    "branch": "loopml.data._api:branch",
    "checkout": "loopml.data._api:checkout",
    "column_psi": "loopml.data._shift:column_psi",
    "commit": "loopml.data._api:commit",
    "diff": "loopml.data._api:diff",
    "get_schema": "loopml.data._api:get_schema",
    "infer_schema": "loopml.data._api:infer_schema",
    "list_schemas": "loopml.data._api:list_schemas",
    "load_table": "loopml.data._api:load_table",
    "log": "loopml.data._api:log",
    "open": "loopml.data._api:open",
    "profile": "loopml.data._api:profile",
    "profile_table": "loopml.data._profile:profile_table",
    "psi_shares": "loopml.data._shift:psi_shares",
    "record_use": "loopml.data._api:record_use",
    "register_check": "loopml.data._validate:register_check",
    "repo_for": "loopml.data._api:repo_for",
    "save_schema": "loopml.data._api:save_schema",
    "scan_table": "loopml.data._pii:scan_table",
    "tag": "loopml.data._api:tag",
    "validate": "loopml.data._api:validate",
}

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
    "psi_shares",
    "record_use",
    "register_check",
    "repo_for",
    "save_schema",
    "scan_table",
    "tag",
    "validate",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__, globals())
