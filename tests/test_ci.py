"""One command does the set-up: `make test` includes the services step, CI runs exactly the
README's command, and a machine without the services is told why (and fails under CI)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOSED = "127.0.0.1:1"  # nothing listens on port 1


def _commands(script: str) -> list[str]:
    """The lines of a shell script that do something, comments and blank lines dropped."""
    lines = (line.split("#", 1)[0].strip() for line in script.splitlines())
    return [line for line in lines if line]


def test_ci_runs_exactly_the_readme_test_command_with_ci_true() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Two commands\n.*?```bash\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    test_command = next(c for c in _commands(block.group(1)) if "test" in c)
    assert test_command == "make test"
    run = _commands((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    work = [c for c in run if not c.startswith(("set ", "cd "))]
    assert work == ["export CI=true", test_command]


def test_make_test_sets_up_the_services_before_the_tests() -> None:
    make = shutil.which("make")
    assert make is not None, "`make test` is the documented way to run the suite"
    planned = subprocess.run(
        [make, "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    steps = [i for i, line in enumerate(planned) if "services.sh" in line]
    checks = [i for i, line in enumerate(planned) if "check_services.py" in line]
    tests = [i for i, line in enumerate(planned) if "pytest" in line]
    assert steps and checks and tests and steps[0] < checks[0] < tests[0], planned


def _no_install_path(tmp_path: Path) -> str:
    """A PATH with `id` and nothing else: no Ceph, no apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    found = shutil.which("id")
    assert found is not None
    (bin_dir / "id").symlink_to(found)
    return str(bin_dir)


def test_services_step_without_a_way_to_install_warns_off_ci_and_fails_on_ci(
    tmp_path: Path,
) -> None:
    bash = shutil.which("bash")
    assert bash is not None
    env = {"PATH": _no_install_path(tmp_path), "HOME": str(tmp_path)}
    script = str(ROOT / ".ci" / "services.sh")
    off_ci = subprocess.run([bash, script], env=env, capture_output=True, text=True)
    assert off_ci.returncode == 0, off_ci.stderr
    assert "Ceph RGW (S3) is not available: radosgw ceph-mon ceph-osd" in off_ci.stderr
    assert "will skip" in off_ci.stderr
    on_ci = subprocess.run([bash, script], env=env | {"CI": "true"}, capture_output=True, text=True)
    assert on_ci.returncode == 1
    assert "CI=true requires it" in on_ci.stderr


def test_unreachable_servers_are_named_and_fail_only_on_ci() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {
        "LOOPML_TEST_PG_ADMIN": f"postgresql://postgres@{CLOSED}/test",
        "LOOPML_TEST_REDIS_URL": f"redis://{CLOSED}/0",
    }
    command = [sys.executable, str(ROOT / ".ci" / "check_services.py")]
    off_ci = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert off_ci.returncode == 0, off_ci.stderr
    for name in ("PostgreSQL", "Redis"):
        url = env[f"LOOPML_TEST_{'PG_ADMIN' if name == 'PostgreSQL' else 'REDIS_URL'}"]
        assert f"services: {name} is not available: {url} does not answer" in off_ci.stderr
    assert off_ci.stderr.count("will skip") == 2
    on_ci = subprocess.run(
        command, env=env | {"CI": "true"}, capture_output=True, text=True, timeout=60
    )
    assert on_ci.returncode == 1
    assert on_ci.stderr.count("CI=true requires it") == 2
