"""Without Chromium the browser tests are skipped, and the end of the run says so."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_without_chromium_ends_by_saying_the_browser_tests_did_not_run() -> None:
    """The last lines of a run with no Chromium name the skipped browser tests and the fix."""
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"CHROMIUM": "/nonexistent"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/e2e/test_admin_browser.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    lines = run.stdout.splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "browser tests not run" in lines[-3]
    skipped = re.search(r"(\d+) skipped", run.stdout)
    assert skipped is not None and int(skipped[1]) > 0, run.stdout
    assert lines[-2].startswith(
        f"{skipped[1]} browser test(s) skipped: Chromium not found at /nonexistent"
    )
    assert lines[-2].endswith("install it or set CHROMIUM to a Chromium binary to run them")
