"""What a run captures about where it ran: git state, Python, platform, packages, user.

Attached to every run as ``loopml.*`` tags plus the package list as the artifact
``environment/requirements.txt``. Two kinds of facts, cached differently:

* The interpreter's (package list, Python version, platform string) cost ~0.4 s to read
  from every installed distribution's metadata. They are cached in a file per interpreter
  environment, in the user's cache folder (``$XDG_CACHE_HOME/loopml/environments``,
  default ``~/.cache``), keyed by ``sys.prefix``, the executable, the Python version and
  the modification times of the folders on ``sys.path`` (installing or removing a
  distribution changes its folder's time). The working directory and the script's folder
  are left out of the key: their times change with every file a program writes there.
* The working directory's (git state) and the process's (command, user) are read once per
  process and working directory (~10 ms of ``git`` calls).
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

_CACHE_FORMAT = 1


@dataclass(frozen=True)
class Environment:
    """The captured environment: tags for the run and the package list's text."""

    tags: dict[str, str] = field(default_factory=dict)
    requirements: str = ""


@dataclass(frozen=True)
class InterpreterFacts:
    """What does not change while the interpreter's installed distributions do not."""

    key: str
    python: str
    platform: str
    requirements: str


def _git(args: list[str], cwd: str) -> bytes | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def _git_tags(cwd: str) -> dict[str, str]:
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return {}
    tags = {"loopml.git.commit": commit.decode().strip()}
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
    if branch is not None:
        tags["loopml.git.branch"] = branch.decode().strip()
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    dirty = bool(status and status.strip())
    tags["loopml.git.dirty"] = "true" if dirty else "false"
    if dirty:
        diff = _git(["diff", "HEAD", "--binary"], cwd) or b""
        tags["loopml.git.diff_digest"] = hashlib.sha256(diff).hexdigest()
    return tags


def _requirements() -> str:
    import importlib.metadata

    names: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] if "Name" in dist.metadata else None
        if name:
            names[name.lower()] = dist.version
    return "".join(f"{name}=={version}\n" for name, version in sorted(names.items()))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def environment_key() -> str:
    """A digest that changes when a distribution is installed into or removed from ``sys.path``."""
    volatile = {os.path.abspath(os.curdir)}
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if main:
        volatile.add(os.path.dirname(os.path.abspath(main)))
    parts = [str(_CACHE_FORMAT), sys.prefix, sys.executable, sys.version]
    for entry in sys.path:
        folder = os.path.abspath(entry or os.curdir)
        if folder in volatile:
            continue
        try:
            parts.append(f"{folder}\0{os.stat(folder).st_mtime_ns}")
        except OSError:
            parts.append(f"{folder}\0-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cache_folder() -> Path:
    """Where interpreter facts are cached: ``$XDG_CACHE_HOME/loopml/environments``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "loopml" / "environments"


def _read_cached(path: Path, key: str) -> InterpreterFacts | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        facts = InterpreterFacts(**data)
    except (OSError, ValueError, TypeError):
        return None
    return facts if facts.key == key else None


def _write_cached(path: Path, facts: InterpreterFacts) -> None:
    # Best effort: a read-only or full disk only costs the next process a fresh capture.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(asdict(facts), handle)
            os.replace(tmp, path)
        except OSError:
            os.unlink(tmp)
            raise


_memo: dict[str, InterpreterFacts] = {}


def interpreter_facts() -> InterpreterFacts:
    """The interpreter's package list, Python version and platform, cached (module docstring)."""
    key = environment_key()
    facts = _memo.get(key)
    if facts is not None:
        return facts
    path = cache_folder() / f"{key[:32]}.json"
    facts = _read_cached(path, key)
    if facts is None:
        import platform

        facts = InterpreterFacts(
            key=key,
            python=platform.python_version(),
            platform=platform.platform(),
            requirements=_requirements(),
        )
        _write_cached(path, facts)
    _memo[key] = facts
    return facts


@functools.cache
def _process_tags(cwd: str) -> dict[str, str]:
    return {
        **_git_tags(cwd),
        "loopml.command": shlex.join(sys.argv)[:4000],
        "loopml.user": _user(),
    }


def capture_environment(cwd: str) -> Environment:
    """Capture the environment of this process working in ``cwd`` (see the module docstring).

    Args:
        cwd: Folder whose git repository (if any) is described.

    Returns:
        Tags ``loopml.git.*``, ``loopml.python``, ``loopml.platform``, ``loopml.command``,
        ``loopml.user``, ``loopml.packages_digest`` and the package list.
    """
    facts = interpreter_facts()
    tags = {
        **_process_tags(cwd),
        "loopml.python": facts.python,
        "loopml.platform": facts.platform,
        "loopml.packages_digest": hashlib.sha256(facts.requirements.encode()).hexdigest(),
    }
    return Environment(tags=tags, requirements=facts.requirements)
