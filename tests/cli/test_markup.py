"""Text from users and their data prints as written: Rich markup never eats or chokes on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from loopml.cli._helpers import render_error
from loopml.cli._text import clip, esc
from loopml.config import load_settings
from loopml.errors import MissingExtra
from loopml.tracking import TrackingClient
from tests.fixtures.cli import Cli

ROOT = Path(__file__).resolve().parents[2]
# Run the CLI with the Dask extra made unimportable, as on an install without loopml[dask].
WITHOUT_DASK = (
    "import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None; "
    "from loopml.cli import main; main()"
)


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_missing_extra_hint_shows_the_extra_in_brackets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env.update(
        {
            "COLUMNS": "200",
            "NO_COLOR": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_DASK, "--home", str(tmp_path / "h"), "pipeline", "run"]
        + ["tests.pipelines.steps:arithmetic", "--executor", "dask"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    _no_traceback(result)
    assert "Install it with: pip install 'loopml[dask]'" in result.stderr, result.stderr


def test_render_error_escapes_message_and_hint(capsys: object) -> None:
    import pytest

    capture: pytest.CaptureFixture[str] = capsys  # type: ignore[assignment]
    render_error(MissingExtra("s3", "the s3:// artifact store [/x]"))
    err = capture.readouterr().err
    assert "the s3:// artifact store [/x]" in err
    assert "pip install 'loopml[s3]'" in err


def test_esc_and_clip() -> None:
    assert esc("[bold]x[/]") == "\\[bold]x\\[/]"
    assert clip("a" * 100, 10) == "a" * 9 + "…"
    assert clip("[red]" + "b" * 100, 10) == "\\[red]bbbb…"
    assert clip("short") == "short"


def test_names_errors_and_values_with_brackets_print_verbatim(cli: Cli, tmp_path: Path) -> None:
    client = TrackingClient.from_settings(load_settings(cwd=tmp_path, env={}))
    try:
        with client.start_run("exp [/bold] [red]v2[/red]", params={"extras": "loopml[dask]"}) as a:
            a.set_notes("see [link=x]here[/link]")
        b = client.start_run("failing")
        b.__enter__()
        b.__exit__(ValueError, ValueError("bad value [/]"), None)
    finally:
        client.close()
    show = cli("runs", "show", a.id)
    assert show.returncode == 0, show.stderr
    _no_traceback(show)
    assert "exp [/bold] [red]v2[/red]" in show.stdout
    assert "loopml[dask]" in show.stdout and "see [link=x]here[/link]" in show.stdout
    listed = cli("runs", "list")
    assert listed.returncode == 0 and "extras=loopml[dask]" in listed.stdout, listed.stderr
    failed = cli("runs", "show", b.id)
    assert failed.returncode == 0, failed.stderr
    assert "bad value [/]" in failed.stdout


def test_data_paths_and_columns_with_brackets(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "t[1].csv").write_text("price [eur],when\n1.5,2024-01-01\n2.5,2024-01-02\n")
    committed = cli("data", "commit", "ds", "t[1].csv", "-m", "first [/] commit")
    assert committed.returncode == 0, committed.stderr
    log = cli("data", "log", "ds")
    assert log.returncode == 0, log.stderr
    assert "first [/] commit" in log.stdout
    profile = cli("data", "profile", "ds@main")
    assert profile.returncode == 0, profile.stderr
    assert "price [eur]" in profile.stdout
