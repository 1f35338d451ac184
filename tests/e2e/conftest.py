"""Browser tests: headless Chromium (Debian's package) driven by Playwright against the whole
stack (the Shopify simulator and the service, each on its own port in a thread).

Screenshots of the main pages are saved under ``$ARTIFACTS_DIR`` (default ``artifacts/e2e``).
Without Chromium the tests are skipped, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM_MISSING
from tests.integration.service.stack import Stack, running_stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORD = "browser-test-password"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(name="artifacts", scope="session")
def _artifacts() -> Path:
    """Where screenshots go."""
    path = Path(os.environ.get("ARTIFACTS_DIR", ROOT / "artifacts")) / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(name="browser", scope="module")
def _browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"{CHROMIUM_MISSING} at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(name="stack", scope="module")
def _stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    database = tmp_path_factory.mktemp("e2e") / "admin.db"
    with running_stack(
        f"sqlite+aiosqlite:///{database}", products=12, ADMIN_PASSWORD=PASSWORD
    ) as stack:
        yield stack
