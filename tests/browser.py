"""Shared pieces of the browser tests: Debian chromium driven by Playwright, and where screenshots go."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
XSS = "<img src=x onerror=alert(1)>"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"browser test needs Debian chromium at {CHROMIUM} (scripts/install-system-deps.sh installs it)",
)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots go to $HAOBAN_SCREENSHOTS when set (for a human to look at), else to a temp directory."""
    target = os.environ.get("HAOBAN_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        return Path(target)
    return tmp_path_factory.mktemp("shots")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    # Assertions wait up to 15 s (Playwright's default is 5 s): CI shares two cores with the server under
    # test, and a page that is right but slow must not fail the run.
    sync_api.expect.set_options(timeout=15_000)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # No background traffic: the machine has no network and the tests assert no foreign requests.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class PageWatch:
    """Script errors, dialogs and requests that left the server, asserted on when the page closes."""

    def __init__(self, web_url: str):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        self.confirm = True  # answer to confirm() dialogs; a test may switch it off
        self.web_url = web_url

    def on_dialog(self, dialog) -> None:  # noqa: ANN001 - a Playwright Dialog
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        if dialog.type == "confirm" and self.confirm:
            dialog.accept()
        else:
            dialog.dismiss()

    def on_request(self, request) -> None:  # noqa: ANN001 - a Playwright Request
        if not request.url.startswith((self.web_url, "data:", "about:")):
            self.foreign.append(request.url)


@contextmanager
def watched_page(browser, web_url: str) -> Iterator:  # noqa: ANN001 - a Playwright Browser
    """A page of a logged-in administrator; at the end no script error, no foreign request, no alert()."""
    from conftest import log_in

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    log_in(context, web_url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    watch = PageWatch(web_url)
    page.on("pageerror", lambda err: watch.errors.append(str(err)))
    page.on("dialog", watch.on_dialog)
    page.on("request", watch.on_request)
    page.watch = watch
    yield page
    context.close()
    assert watch.errors == [], watch.errors
    assert watch.foreign == [], f"pages must only load the server's own files: {watch.foreign}"
    assert not [d for d in watch.dialogs if d.startswith("alert")], watch.dialogs
