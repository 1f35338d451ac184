"""The README's first command: ``shopify-sync demo`` plays the scenario to agreement."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shopify_sync.entrypoints.demo import state_text


def test_demo_runs_to_agreement(tmp_path: Path) -> None:
    """The demo starts both processes, plays every step (the shared pool's too: a B2B order
    lowers Shopify, a Shopify order lowers b2b_stock, the buffer keeps the last units off
    Shopify) and reports both sides agree."""
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
    shared = result.stdout.split("== 8.")[1]
    assert "SKU-000003      58          53       53  in sync" in shared
    assert "SKU-000003      47          42       42  in sync" in shared  # a Shopify order of 3
    assert "Shopify shows 0: pool 3 (b2b_stock, shared) minus buffer 5 = -2, shown as 0" in shared
    assert (tmp_path / "demo.db").exists()


def test_demo_state_column_is_cut_at_a_word_never_inside_one() -> None:
    """A long error shows without its leading time and ends on a whole word and `...`."""
    error = (
        "2026-12-02 09:43:50 UTC: could not read Shopify's levels: ReadLevels: not sent: "
        "Shopify has been unavailable since 2026-12-02 09:43:48 UTC (http_503); calls resume "
        "after 2026-12-02 09:44:03 UTC"
    )

    shown = state_text(error)
    short = state_text("2026-12-02 09:43:50 UTC: Shopify refused the write")

    assert shown == (
        "could not read Shopify's levels: ReadLevels: not sent: Shopify has been unavailable "
        "since ..."
    )
    assert short == "Shopify refused the write"
