"""What a run captures about where it ran: git state, Python, platform, packages, user.

Captured once per process and working directory (git and the package list do not change
under a running program often enough to pay ~20 ms on every run), then attached to every
run as ``loopml.*`` tags plus the package list as the artifact
``environment/requirements.txt``.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Environment:
    """The captured environment: tags for the run and the package list's text."""

    tags: dict[str, str] = field(default_factory=dict)
    requirements: str = ""


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


@functools.cache
def capture_environment(cwd: str) -> Environment:
    """Capture the environment of this process working in ``cwd`` (cached per process).

    Args:
        cwd: Folder whose git repository (if any) is described.

    Returns:
        Tags ``loopml.git.*``, ``loopml.python``, ``loopml.platform``, ``loopml.command``,
        ``loopml.user``, ``loopml.packages_digest`` and the package list.
    """
    requirements = _requirements()
    tags = {
        **_git_tags(cwd),
        "loopml.python": platform.python_version(),
        "loopml.platform": platform.platform(),
        "loopml.command": shlex.join(sys.argv)[:4000],
        "loopml.user": _user(),
        "loopml.packages_digest": hashlib.sha256(requirements.encode()).hexdigest(),
    }
    return Environment(tags=tags, requirements=requirements)
