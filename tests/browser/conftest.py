"""Headless Chromium (Debian's, through Playwright) against a real loopml server.

The browser is Debian's ``chromium`` (never ``playwright install``). Off CI, without it the
browser tests skip and say why; under ``CI=true`` they fail, since CI installs it
(.ci/services.sh). One home (tests/browser/homes.py) and one server serve the session.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser.homes import Home, build_home

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's chromium (skip, or fail on CI, when it is missing)."""
    path = shutil.which("chromium")
    if path is None:
        why = "Debian's chromium is not installed (apt-get install chromium; see .ci/services.sh)"
        if _on_ci():
            pytest.fail(f"{why}; CI=true requires it")
        pytest.skip(why)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    return path


@pytest.fixture(scope="session")
def ui_home(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[Home]:
    """The seeded home (100,000 runs, the demo's champion, accounts per role)."""
    home = build_home(tmp_path_factory.mktemp("ui-home"))
    yield home
    home.workspace.close()


@pytest.fixture(scope="session")
def ui_url(ui_home: Home) -> Iterator[str]:
    """A real server with auth on, over the seeded home, on a free loopback port."""
    from loopml.server import running_server

    with running_server(ui_home.workspace) as url:
        yield url


# Module scope: Playwright's sync API keeps an asyncio loop running on the main thread
# while it is open, and any later test in this worker calling asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go (LOOPML_SCREENSHOTS, else a temp folder); printed."""
    chosen = os.environ.get("LOOPML_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nUI screenshots: {folder}")
    return folder


@dataclass
class Session:
    """A signed-in browser tab, with every console error and failed request it saw."""

    page: Any
    url: str
    errors: list[str] = field(default_factory=list)

    def open(self, path: str, *, wait: str = "networkidle") -> Any:
        """Go to ``path`` and wait until the page and its requests settle."""
        return self.page.goto(self.url + path, wait_until=wait, timeout=20_000)


def _session(browser: Any, url: str, token: str | None) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if token is not None:
        context.add_cookies([{"name": "loopml_token", "value": token, "url": url}])
    page = context.new_page()
    session = Session(page, url)
    page.on("console", lambda m: session.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: session.errors.append(str(exc)))
    try:
        yield session
    finally:
        context.close()


@pytest.fixture
def as_admin(browser: Any, ui_url: str, ui_home: Home) -> Iterator[Session]:
    yield from _session(browser, ui_url, ui_home.tokens["ada"])


@pytest.fixture
def as_approver(browser: Any, ui_url: str, ui_home: Home) -> Iterator[Session]:
    yield from _session(browser, ui_url, ui_home.tokens["ava"])


@pytest.fixture
def as_viewer(browser: Any, ui_url: str, ui_home: Home) -> Iterator[Session]:
    yield from _session(browser, ui_url, ui_home.tokens["vic"])


@pytest.fixture
def anonymous(browser: Any, ui_url: str) -> Iterator[Session]:
    yield from _session(browser, ui_url, None)
