"""ObjectKind and Relation: the enums name exactly the strings databases already hold."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from loopml.entities import LineageEdge
from loopml.errors import InvalidReference
from loopml.ids import ObjectRef
from loopml.lineage import ObjectKind, Relation, edge, link, record, upstream
from loopml.store.sql import SqlStore
from tests.fixtures.cli import Cli

#: What loopml stored before the enums existed; a stored value may never change.
STORED_RELATIONS = {
    "input",
    "trained_on",
    "produced",
    "reused",
    "tracked",
    "step",
    "stored_as",
    "file_of",
    "gates",
    "evaluated",
    "redacted",
    "feature_source",
    "serves",
    "features",
    "scored",
    "logged",
    "deployed",
    "fired",
    "monitored",
    "triggered",
    "promoted",
    "enriches",
}
STORED_KINDS = {
    "alert",
    "artifact",
    "audit_event",
    "dataset",
    "dataset_version",
    "deployment",
    "evaluation",
    "feature_service",
    "feature_view",
    "model",
    "model_version",
    "monitor_window",
    "pipeline_run",
    "prediction_segment",
    "run",
    "step_run",
    "trigger",
    "trigger_event",
}


def test_enum_values_are_the_stored_strings() -> None:
    assert {r.value for r in Relation} == STORED_RELATIONS
    assert {k.value for k in ObjectKind} == STORED_KINDS


def test_docs_table_names_every_relation_and_kind() -> None:
    page = (Path(__file__).parents[2] / "docs" / "lineage.md").read_text()
    rows = [line.split("|")[1:3] for line in page.splitlines() if line.startswith("| `")]
    named = {(value.strip(" `"), member.strip(" `")) for value, member in rows}
    expected = {(r.value, f"Relation.{r.name}") for r in Relation}
    expected |= {(k.value, f"ObjectKind.{k.name}") for k in ObjectKind}
    assert named == expected


def test_refs_and_edges_made_from_members_equal_parsed_ones() -> None:
    made = edge(ObjectRef(ObjectKind.RUN, "r1"), "model_version:m1", Relation.PRODUCED)
    parsed = LineageEdge(ObjectRef.parse("run:r1"), ObjectRef.parse("model_version:m1"), "produced")
    assert made == parsed and hash(made) == hash(parsed) and repr(made) == repr(parsed)
    assert repr(made.src) == "ObjectRef(kind='run', id='r1')"
    # Plain strings inside, so every serialiser takes them (yaml refuses str subclasses).
    assert type(made.relation) is str and type(made.src.kind) is str
    assert yaml.safe_load(yaml.safe_dump({"kind": made.src.kind, "rel": made.relation})) == {
        "kind": "run",
        "rel": "produced",
    }
    with pytest.raises(InvalidReference, match="unknown object kind 'blob'"):
        ObjectRef("blob", "x")


def test_recorded_values_in_the_database_are_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    with SqlStore(f"sqlite:///{db}") as store:
        link(
            ObjectRef(ObjectKind.DATASET_VERSION, "d1"), "run:r1", Relation.TRAINED_ON, store=store
        )
        assert record([], store=store) == []
        # A relation of the user's own is still a plain name, as before.
        link("run:r1", "run:r2", "calibrated_on", store=store)
        assert [n.edge.relation for n in upstream("run:r2", store=store)] == [
            "calibrated_on",
            "trained_on",
        ]
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT src_kind, dst_kind, relation FROM lineage_edges ORDER BY relation"
        ).fetchall()
    assert rows == [("run", "run", "calibrated_on"), ("dataset_version", "run", "trained_on")]


def test_lineage_show_prints_the_values_not_the_member_names(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "h"
    with SqlStore(f"sqlite:///{home / 'loopml.db'}") as store:
        link("artifact:data", "run:r1", Relation.TRAINED_ON, store=store)
        link(ObjectRef(ObjectKind.RUN, "r1"), "model_version:m1", Relation.PRODUCED, store=store)
    env = {"LOOPML_HOME": str(home)}
    tree = cli("lineage", "show", "run:r1", env=env)
    assert tree.returncode == 0, tree.stderr
    assert "trained_on artifact:data" in tree.stdout and "produced model_version:m1" in tree.stdout
    assert "Relation" not in tree.stdout and "ObjectKind" not in tree.stdout
    shown = cli("lineage", "show", "model_version:m1", "-d", "up", "--json", env=env)
    assert [e["relation"] for e in json.loads(shown.stdout)["up"]] == ["produced", "trained_on"]
