"""Unsafe artifact names and oversized params/tags are refused before anything is stored;
listings clip long values and ``--json`` keeps them whole."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from loopml.config import load_settings
from loopml.entities import MAX_KEY_LENGTH, MAX_PARAM_LENGTH, MAX_TAG_LENGTH
from loopml.errors import InvalidInput
from loopml.ids import check_artifact_path
from loopml.tracking import TrackingClient
from tests.fixtures.cli import Cli


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/etc/passwd", "is absolute"),
        ("//server/share", "is absolute"),
        ("C:/Windows/x.dll", "is absolute"),
        ("a\x00b.txt", "contains a NUL byte"),
        ("a\nb.txt", "contains a control character"),
        ("../outside.txt", "has a '..' part"),
        ("a/../../b", "has a '..' part"),
        ("a/./b", "has a '.' part"),
        ("a//b", "has an empty part ('//')"),
        ("a\\..\\b", "contains a backslash"),
        ("", "is empty"),
        ("/", "is empty"),
        ("x" * 1025, "is 1,025 characters long"),
    ],
)
def test_unsafe_artifact_paths_say_which_rule_they_break(path: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_artifact_path(path)
    assert caught.value.message == f"invalid artifact path {path!r}: it {problem}"
    assert "relative" in (caught.value.hint or "")


@pytest.mark.parametrize("path", ["a.txt", "plots/roc.png", "dir/", "ünï cødé/ok.txt", "a b"])
def test_safe_artifact_paths_pass(path: str) -> None:
    assert check_artifact_path(path) == path.rstrip("/")


def _objects(client: TrackingClient) -> int:
    assert client.artifacts is not None
    return sum(1 for _ in client.artifacts.iter_digests())


def test_log_artifact_refuses_unsafe_names_and_stores_nothing(
    client: TrackingClient, tmp_path: Path
) -> None:
    (tmp_path / "f.txt").write_text("payload")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok")
    (folder / "bad\\name.txt").write_text("legal on POSIX, a separator elsewhere")
    with client.start_run("art") as run:
        before = _objects(client)
        for call, name in (
            (lambda: run.log_artifact(tmp_path / "f.txt", "/etc/f.txt"), "/etc/f.txt"),
            (lambda: run.log_artifact(tmp_path / "f.txt", "a\x00b"), "a\x00b"),
            (lambda: run.log_artifact(tmp_path / "f.txt", "../f.txt"), "../f.txt"),
            (lambda: run.log_text("x", "/abs.txt"), "/abs.txt"),
            (lambda: run.log_bytes(b"x", "nul\x00.bin"), "nul\x00.bin"),
            (lambda: run.log_dict({"a": 1}, "../../meta.json"), "../../meta.json"),
            (lambda: run.log_artifact(folder), "out/bad\\name.txt"),
        ):
            with pytest.raises(InvalidInput) as caught:
                call()
            assert caught.value.message.startswith(f"invalid artifact path {name!r}")
        assert _objects(client) == before  # the refused files were never uploaded
        run.log_artifact(tmp_path / "f.txt", "nested/f.txt/")
    paths = {a.path for a in client.list_artifacts(run.id)}
    assert paths - {"environment/requirements.txt"} == {"nested/f.txt"}


@pytest.mark.parametrize("name", ["/abs", "../up", "a\x00b", "a//b"])
def test_model_names_follow_the_same_rules(client: TrackingClient, name: str) -> None:
    with client.start_run("m") as run, pytest.raises(InvalidInput, match="invalid model name"):
        run.log_model(object(), name)


def test_param_and_tag_limits_name_the_limit_and_the_size(client: TrackingClient) -> None:
    with client.start_run("limits") as run:
        run.log_params({"ok": "p" * MAX_PARAM_LENGTH})
        run.set_tags({"ok": "t" * MAX_TAG_LENGTH})
        with pytest.raises(InvalidInput) as caught:
            run.log_param("prompt", "w" * 7000)
        assert caught.value.message == (
            "param 'prompt' has a value of 7,000 characters, over the limit of 6,000"
        )
        assert "log_text" in (caught.value.hint or "")
        with pytest.raises(InvalidInput) as caught:
            run.set_tag("desc", "d" * 8001)
        assert caught.value.message == (
            "tag 'desc' has a value of 8,001 characters, over the limit of 8,000"
        )
        with pytest.raises(InvalidInput) as caught:
            run.log_param("k" * 300, 1)
        assert caught.value.message == (
            f"param key {'k' * 40!r}... is 300 characters long, over the limit of {MAX_KEY_LENGTH}"
        )
        with pytest.raises(InvalidInput, match="over the limit of 6,000"):
            client.start_run("child", params={"x": "y" * 6001}, parent=run)
    assert client.get_run(run.id).params == {"ok": "p" * MAX_PARAM_LENGTH}


# -- listings -------------------------------------------------------------------------


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def _seed_long(tmp_path: Path) -> tuple[str, str]:
    client = TrackingClient.from_settings(load_settings(cwd=tmp_path, env={}))
    try:
        with client.start_run(
            "long-values",
            params={"prompt": "P" * 5000 + "END", "model": "[rf]"},
            tags={"note": "[bold]not bold[/] " + "n" * 3000},
        ) as a:
            a.log_metric("auc", 0.9)
        with client.start_run("other", params={"prompt": "short", "model": "lr"}) as b:
            b.log_metric("auc", 0.8)
    finally:
        client.close()
    return a.id, b.id


def test_listings_clip_long_values_and_json_keeps_them(cli: Cli, tmp_path: Path) -> None:
    a, b = _seed_long(tmp_path)
    for args in (("runs", "list"), ("runs", "show", a), ("runs", "compare", a, b)):
        shown = cli(*args)
        assert shown.returncode == 0, (args, shown.stderr)
        _no_traceback(shown)
        assert "P" * 5000 not in shown.stdout and "END" not in shown.stdout, args
        assert "…" in shown.stdout and "--json prints them whole" in shown.stdout, args
        assert "[rf]" in shown.stdout, args  # brackets print as written
    show = cli("runs", "show", a)
    assert "[bold]not bold[/]" in show.stdout
    as_json = json.loads(cli("runs", "show", a, "--json").stdout)
    assert as_json["params"]["prompt"] == "P" * 5000 + "END"
    assert as_json["tags"]["note"].endswith("n" * 3000)
    listed = json.loads(cli("runs", "list", "--json").stdout)
    assert {r["params"]["prompt"] for r in listed["runs"]} == {"P" * 5000 + "END", "short"}
    compared = json.loads(cli("runs", "compare", a, b, "--json").stdout)
    assert compared["params"]["prompt"][a] == "P" * 5000 + "END"
