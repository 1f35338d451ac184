"""The README's first command: ``shopify-sync demo`` plays the scenario to agreement."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_runs_to_agreement(tmp_path: Path) -> None:
    """The demo starts both processes, plays every step and reports both sides agree."""
    result = subprocess.run(
        [sys.executable, "-m", "shopify_sync", "demo", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Both sides agree on every product" in result.stdout
    assert "7. Shopify back" in result.stdout
    assert (tmp_path / "demo.db").exists()
