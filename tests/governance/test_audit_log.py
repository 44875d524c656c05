"""The audit log: appends in the change's transaction, tamper detection, checkpoints."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from loopml.entities import AuditEntry
from loopml.errors import Conflict, InvalidInput
from loopml.governance import make_checkpoint, read_checkpoint, signing_key, verify_log
from loopml.store.sql import SqlStore


def _fill(store: SqlStore, n: int = 6) -> None:
    store.create_user("ana", actor="root")
    store.grant_role("ana", "scientist", actor="root")
    store.create_model("fraud", actor="ana")
    store.create_model_version(
        "fraud",
        actor="ana",
        semver="1.0.0",
        manifest_digest="a" * 64,
        payload_digest="a" * 64,
        flavor="sklearn",
        model_class="x",
    )
    store.set_alias("fraud", "champion", 1, actor="ana")
    for i in range(n - 5):
        store.append_audit(AuditEntry("bob", "custom.action", "thing", str(i)))


def _sql(store: SqlStore, statement: str) -> None:
    with store.database.write() as conn:
        conn.execute(text(statement))


def test_mutations_are_audited_and_the_log_verifies(store: SqlStore) -> None:
    _fill(store)
    actions = [e.entry.action for e in store.list_audit_events()]
    assert actions[:5] == [
        "user.create",
        "role.grant",
        "model.create_model",
        "model.create_version",
        "model.set_alias",
    ]
    alias = store.list_audit_events(object_kind="model_alias")[0].entry
    assert alias.object_id == "fraud@champion" and alias.after and alias.before is None
    result = verify_log(store)
    assert result.ok and result.size == 6


def test_a_failed_change_leaves_no_entry(store: SqlStore) -> None:
    store.create_user("ana", actor="root")
    with pytest.raises(Conflict):
        store.create_user("ana", actor="root")
    assert len(store.list_audit_events()) == 1 and verify_log(store).ok


@pytest.mark.parametrize(
    ("edit", "first_bad"),
    [
        ("UPDATE audit_events SET actor = 'mallory' WHERE leaf_index = 2", 2),
        ("DELETE FROM audit_events WHERE leaf_index = 3", 3),
        (
            "INSERT INTO audit_events VALUES (6, 0, 'm', 'x', 'k', 'i', 's', NULL, NULL, 'ok',"
            " '{}', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'ff')",
            6,
        ),
        ("UPDATE audit_events SET leaf_index = leaf_index + 100 WHERE leaf_index IN (1, 4)", 1),
    ],
    ids=["edit", "delete", "insert", "reorder"],
)
def test_raw_sql_tampering_is_detected(store: SqlStore, edit: str, first_bad: int) -> None:
    _fill(store)
    if "leaf_index + 100" in edit:  # swap entries 1 and 4 through free positions
        _sql(store, edit)
        _sql(store, "UPDATE audit_events SET leaf_index = 4 WHERE leaf_index = 101")
        _sql(store, "UPDATE audit_events SET leaf_index = 1 WHERE leaf_index = 104")
    else:
        _sql(store, edit)
    result = verify_log(store)
    assert not result.ok and result.first_bad == first_bad, result.problem


def test_an_edit_with_its_leaf_hash_recomputed_breaks_the_chain(store: SqlStore) -> None:
    _fill(store)
    event = store.list_audit_events(offset=2, limit=1)[0]
    from dataclasses import replace

    from loopml.entities.governance import leaf_hash

    forged = replace(event, entry=replace(event.entry, actor="mallory"))
    new_hash = leaf_hash(forged.leaf_bytes()).hex()
    _sql(
        store,
        f"UPDATE audit_events SET actor = 'mallory', leaf_hash = '{new_hash}' WHERE leaf_index = 2",
    )
    result = verify_log(store)
    assert result.first_bad == 2 and "chain breaks" in result.problem


def test_checkpoints_are_signed_and_consistent(store: SqlStore, tmp_path: Path) -> None:
    key = signing_key(tmp_path / "key.pem")
    assert (tmp_path / "key.pem").stat().st_mode & 0o777 == 0o600
    _fill(store, 5)
    first = make_checkpoint(store, key)
    store.append_audit(AuditEntry("bob", "more", "thing", "x"))
    second = make_checkpoint(store, key)
    old = read_checkpoint(first.note, key.public_key())
    assert old == (5, first.root) and second.size == 6
    assert verify_log(store, checkpoint=old).ok
    with pytest.raises(InvalidInput):
        read_checkpoint(first.note.replace("\n5\n", "\n4\n"), key.public_key())
    # a rewrite of the whole log from entry 0 (recomputed hashes) still fails the checkpoint
    _sql(store, "DELETE FROM audit_events")
    _sql(store, "DELETE FROM audit_head")
    _sql(store, "DELETE FROM audit_checkpoints")
    for i in range(6):
        store.append_audit(AuditEntry("mallory", "forged", "thing", str(i)))
    assert verify_log(store).ok  # nothing inside the database can tell
    result = verify_log(store, checkpoint=old)
    assert not result.ok and "checkpoint of size 5" in result.problem


def test_concurrent_writers_get_distinct_positions(store: SqlStore) -> None:
    def work(w: int) -> None:
        for i in range(5):
            store.append_audit(AuditEntry(f"w{w}", "write", "thing", str(i)))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = store.list_audit_events()
    assert [e.index for e in events] == list(range(20))
    assert verify_log(store).ok
