"""Definitions: YAML and Python, checks with file:line, plan/apply versions and lineage."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

import loopml
from loopml import features as fs
from loopml import lineage
from loopml.errors import InvalidFeatureDefinition

YAML = """\
entities:
  - name: user
    keys: {{user_id: int64}}
feature_views:
  - name: stats
    entities: [user]
    source: {source}
    event_timestamp: ts
    ttl: 7d
    owners: [ann]
    tags: {{team: risk}}
    features:
      - name: amount
      - name: doubled
        expr: amount * 2
feature_services:
  - name: svc
    features: [stats:amount]
"""


@pytest.fixture
def data(tmp_path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "user_id": [1, 2],
            "ts": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "amount": [1.0, 2.0],
        }
    )
    path = tmp_path / "tx.parquet"
    frame.to_parquet(path)
    return path


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "features.yaml"
    path.write_text(text)
    return path


def _refused(ws: loopml.Workspace, path: Path, line: int, match: str) -> None:
    with pytest.raises(InvalidFeatureDefinition, match=match) as info:
        fs.plan(fs.load_definitions(path))
    assert info.value.message.startswith(f"{path}:{line}: "), info.value.message
    assert info.value.hint


def test_unknown_column_is_refused_at_its_line(ws, tmp_path: Path, data: Path) -> None:
    text = YAML.format(source="tx.parquet").replace(
        "      - name: amount\n", "      - name: amont\n"
    )
    text = text.replace("stats:amount]", "stats]")
    _refused(ws, _write(tmp_path, text), 13, "unknown column 'amont'")


def test_bad_expression_is_refused_at_its_line(ws, tmp_path: Path, data: Path) -> None:
    text = YAML.format(source="tx.parquet").replace("amount * 2", "nope * 2")
    _refused(ws, _write(tmp_path, text), 14, "nope")


def test_missing_timestamp_is_refused(ws, tmp_path: Path, data: Path) -> None:
    text = YAML.format(source="tx.parquet").replace("    event_timestamp: ts\n", "")
    _refused(ws, _write(tmp_path, text), 5, "no event timestamp")
    text = YAML.format(source="tx.parquet").replace("event_timestamp: ts", "event_timestamp: when")
    _refused(ws, _write(tmp_path, text), 5, "column 'when' is not in the source")
    text = YAML.format(source="tx.parquet").replace(
        "event_timestamp: ts", "event_timestamp: amount"
    )
    _refused(ws, _write(tmp_path, text), 5, "not a timestamp")


def test_duplicate_feature_names_are_refused(ws, tmp_path: Path, data: Path) -> None:
    text = YAML.format(source="tx.parquet").replace("- name: doubled", "- name: amount")
    _refused(ws, _write(tmp_path, text), 14, "duplicate feature name 'amount'")


def test_unknown_keys_entities_and_yaml_errors(ws, tmp_path: Path, data: Path) -> None:
    text = YAML.format(source="tx.parquet").replace("    ttl: 7d\n", "    tll: 7d\n")
    _refused(ws, _write(tmp_path, text), 9, "unknown key 'tll'")
    text = YAML.format(source="tx.parquet").replace("entities: [user]", "entities: [usr]")
    _refused(ws, _write(tmp_path, text), 5, "unknown entity 'usr'")
    text = YAML.format(source="tx.parquet").replace("stats:amount]", "stats:amnt]")
    _refused(ws, _write(tmp_path, text), 17, "no feature 'amnt'")
    text = YAML.format(source="tx.parquet").replace("ttl: 7d", "ttl: soon")
    _refused(ws, _write(tmp_path, text), 5, "not a duration")
    _refused(ws, _write(tmp_path, "entities: [\n"), 2, "malformed YAML")


def test_python_definitions_point_at_their_line(ws, tmp_path: Path, data: Path) -> None:
    path = tmp_path / "defs.py"
    path.write_text(
        textwrap.dedent(
            f"""\
            from loopml.features import Entity, FeatureView, Field
            user = Entity("user", {{"user_id": "int64"}})
            stats = FeatureView(
                "stats",
                entities=["user"],
                source={str(data)!r},
                event_timestamp="ts",
                features=[Field("amount"), Field("missing")],
            )
            """
        )
    )
    with pytest.raises(InvalidFeatureDefinition) as info:
        fs.plan(fs.load_definitions(path))
    assert info.value.message.startswith(f"{path}:8: "), info.value.message
    with pytest.raises(InvalidFeatureDefinition, match="duplicate feature name"):
        fs.FeatureView("v", ("user",), "x.parquet", (fs.Field("a"), fs.Field("a")))


def test_plan_and_apply_version_definitions(ws, tmp_path: Path, data: Path) -> None:
    path = _write(tmp_path, YAML.format(source="tx.parquet"))
    assert {c.action for c in fs.plan(fs.load_definitions(path))} == {"create"}
    fs.apply(fs.load_definitions(path))
    assert {c.action for c in fs.plan(fs.load_definitions(path))} == {"unchanged"}
    _write(tmp_path, YAML.format(source="tx.parquet").replace("ttl: 7d", "ttl: 1d"))
    plan = {c.name: c for c in fs.apply(fs.load_definitions(path))}
    assert plan["stats"].action == "update" and plan["stats"].version == 2
    assert plan["stats"].changes == ("ttl_s: 604800.0 -> 86400.0",)
    stored = ws.store.get_feature_definition("feature_view", "stats")
    assert stored.version == 2 and stored.spec["owners"] == ["ann"]
    assert stored.spec["tags"] == {"team": "risk"}
    # the unchanged service now serves the view's new version
    assert plan["svc"].action == "unchanged"
    service = ws.store.get_feature_definition("feature_service", "svc")
    down = lineage.downstream(f"feature_view:{stored.id}")
    assert [(n.edge.dst.id, n.edge.relation) for n in down] == [(service.id, "serves")]


def test_dataset_sources_are_pinned_with_lineage(ws, tmp_path: Path, data: Path) -> None:
    version = loopml.data.commit("tx", data)
    path = _write(tmp_path, YAML.format(source="tx@main"))
    fs.apply(fs.load_definitions(path))
    view = ws.store.get_feature_definition("feature_view", "stats")
    assert view.spec["source"] == {"kind": "dataset", "ref": "tx@main", "version_id": version.id}
    up = lineage.upstream(f"feature_view:{view.id}")
    assert [(n.edge.src.id, n.edge.relation) for n in up] == [(version.id, "feature_source")]
    service = ws.store.get_feature_definition("feature_service", "svc")
    down = lineage.downstream(f"feature_view:{view.id}")
    assert [(n.edge.dst.id, n.edge.relation) for n in down] == [(service.id, "serves")]
    rows = pd.DataFrame({"user_id": [1, 2], "event_timestamp": pd.to_datetime(["2026-01-05"] * 2)})
    got = fs.get_historical_features(rows, "svc").to_pandas()
    assert got["amount"].tolist() == [1.0, 2.0]


def test_transforms_and_on_demand_views(ws, tmp_path: Path, data: Path) -> None:
    (tmp_path / "tf.py").write_text(
        "def add(df):\n    df['tripled'] = df['amount'] * 3\n    return df\n"
    )
    text = YAML.format(source="tx.parquet").replace(
        "    features:\n      - name: amount\n",
        "    transform: tf.py:add\n    features:\n      - name: amount\n      - name: tripled\n",
    ) + textwrap.dedent(
        """\
        on_demand_feature_views:
          - name: ratio
            sources: [stats]
            request: {price: float64}
            features:
              - {name: share, expr: "amount / price"}
        """
    )
    fs.apply(fs.load_definitions(_write(tmp_path, text)))
    rows = pd.DataFrame(
        {
            "user_id": [1, 2],
            "price": [4.0, 8.0],
            "event_timestamp": pd.to_datetime(["2026-01-05"] * 2),
        }
    )
    got = fs.get_historical_features(rows, ["stats:tripled", "ratio:share"]).to_pandas()
    assert got["tripled"].tolist() == [3.0, 6.0]
    assert got["share"].tolist() == [0.25, 0.25]
    fs.materialize(end="2026-01-05")
    online = fs.get_online_features(
        [{"user_id": 1, "price": 4.0}], ["stats:tripled", "ratio:share"], at="2026-01-05"
    ).to_dict()
    assert online == {"tripled": [3.0], "amount": [1.0], "doubled": [2.0], "share": [0.25]} or (
        online["tripled"] == [3.0] and online["share"] == [0.25]
    )
