"""PII detection precision on known columns and look-alike decoys; block and redact policies."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from loopml.data import DataRepo, scan_table
from loopml.errors import ValidationFailed
from loopml.ids import ObjectRef
from tests.data.conftest import store_bytes


def _luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return prefix + str((10 - total % 10) % 10)


def _pii_frame(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cards = [_luhn_complete("4" + "".join(map(str, rng.integers(0, 10, 14)))) for _ in range(n)]
    not_luhn = [c[:-1] + str((int(c[-1]) + 1) % 10) for c in cards]
    return pd.DataFrame(
        {
            "contact": [f"user{i}@mail{i % 7}.example.org" for i in range(n)],  # email by content
            "card_number": cards,
            "order_ref": not_luhn,  # decoy: 15-16 digits failing Luhn
            "client_ip": [f"10.{i % 256}.{(i * 7) % 256}.{(i * 13) % 256}" for i in range(n)],
            "version": [f"{i % 5}.{i % 300}.{i % 9}" for i in range(n)],  # decoy: not 4 parts
            "phone": [f"+44 20 {7000 + i:04d} {1000 + i:04d}" for i in range(n)],
            "ssn": [f"{100 + i % 800:03d}-{10 + i % 89:02d}-{1000 + i:04d}" for i in range(n)],
            "iban": ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"] * (n // 2),
            "email_opt_in": rng.choice(["yes", "no"], n),  # decoy: name says email, content no
            "amount": rng.normal(50, 10, n),
            "sku": [f"SKU-{i:06d}" for i in range(n)],
            "day": pd.date_range("2026-01-01", periods=n, freq="h").strftime("%Y-%m-%d"),
            "last_name": rng.choice(["Smith", "Jones"], n),  # name-only kind
        }
    )


def test_detection_precision_on_known_columns_and_decoys() -> None:
    findings = {f.column: f for f in scan_table(pa.Table.from_pandas(_pii_frame()))}
    flagged = {c: f.kind for c, f in findings.items() if f.flagged}
    assert flagged == {
        "contact": "email",
        "card_number": "credit_card",
        "client_ip": "ipv4",
        "phone": "phone",
        "ssn": "national_id",
        "iban": "iban",
        "last_name": "person_name",
    }
    assert findings["card_number"].by == "name+content" and findings["contact"].by == "content"
    assert not findings["email_opt_in"].flagged


def test_block_policy_stores_nothing(repo: DataRepo, tmp_path: Path) -> None:
    _pii_frame().to_parquet(tmp_path / "people.parquet")
    before = store_bytes(repo)
    with pytest.raises(ValidationFailed) as info:
        repo.commit("people", tmp_path / "people.parquet", pii_policy="block")
    assert "card_number" in str(info.value)
    assert store_bytes(repo) == before
    assert repo.store.list_datasets() == []


def test_redact_policy_stores_hashes(repo: DataRepo, tmp_path: Path) -> None:
    frame = _pii_frame()
    frame.to_parquet(tmp_path / "people.parquet", index=False)
    version = repo.commit("people", tmp_path / "people.parquet", pii_policy="redact")
    assert "contact" in version.meta["redacted"]["people.parquet"]  # type: ignore[index]
    stored = repo.load_table("people@main")
    assert stored["amount"].equals(frame["amount"])
    assert not stored["contact"].str.contains("@").any()
    assert stored["contact"].str.fullmatch(r"[0-9a-f]{64}").all()
    entry = repo.manifest("people@main").files["people.parquet"]
    assert entry.redacted and entry.source is not None and entry.source != entry.digest
    again, changed = repo.commit_detailed("people", [tmp_path / "people.parquet"])
    assert not changed and again.id == version.id
    assert repo.store.get_dataset("people").pii_policy.value == "redact"


def test_redaction_is_recorded_in_lineage(repo: DataRepo, tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    _pii_frame().to_parquet(path, index=False)
    original = hashlib.sha256(path.read_bytes()).hexdigest()
    version = repo.commit("people", path, pii_policy="redact")
    node = ObjectRef("dataset_version", version.id)
    up = [(str(n.edge.src), n.edge.relation) for n in repo.store.upstream(node)]
    assert up == [(f"artifact:{original}", "redacted")]
    assert original not in set(repo.artifacts.iter_digests())  # the original is not stored
    entry = repo.log("people")[0]
    assert entry.made_from == ((f"artifact:{original}", "redacted"),)
    assert entry.to_dict()["redacted"]["people.parquet"][0] == "contact"
    # a later version that keeps the redacted file carries the edge too
    (tmp_path / "notes.txt").write_text("n")
    later = repo.commit("people", [path, tmp_path / "notes.txt"])
    assert repo.log(f"people@{later.id}")[0].made_from == entry.made_from
    assert later.meta["redacted"] == version.meta["redacted"]


def test_policy_switch_rechecks_unchanged_tables(repo: DataRepo, tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    _pii_frame().to_parquet(path, index=False)
    plain = repo.commit("people", path)  # warn: stored as is
    assert repo.load_table("people@main")["contact"].str.contains("@").all()
    with pytest.raises(ValidationFailed):
        repo.commit("people", path, pii_policy="block")
    assert repo.store.get_dataset("people").pii_policy.value == "warn"  # refused: unchanged
    redacted = repo.commit("people", path, pii_policy="redact")
    assert redacted.id != plain.id and redacted.parents == (plain.id,)
    assert not repo.load_table("people@main")["contact"].str.contains("@").any()
    back = repo.commit("people", path, pii_policy="warn")
    assert back.manifest_digest == plain.manifest_digest


def test_validate_reports_pii_as_warnings(repo: DataRepo, tmp_path: Path) -> None:
    from loopml.data import Schema, validate

    frame = _pii_frame()
    frame.to_csv(tmp_path / "people.csv", index=False)
    schema = Schema.from_yaml("columns: {amount: {type: float}}\n")
    report = validate(str(tmp_path / "people.csv"), schema, repo=repo)
    pii = {a.column: a for a in report.anomalies if a.kind == "pii"}
    assert set(pii) >= {"contact", "card_number", "iban", "ssn"}
    assert "order_ref" not in pii and "email_opt_in" not in pii
    assert all(a.severity == "warning" for a in pii.values()) and report.ok
    assert "credit_card" in pii["card_number"].message
