"""Settings shown in the documentation are settings the configuration accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shopify_sync.config import load_settings
from shopify_sync.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
ASSIGNMENT = re.compile(r"\b((?:SHOPIFY|DATABASE|SYNC|PUBLIC)_[A-Z_]+)=([^\s`'\")]+)")


def documented(path: Path) -> list[tuple[str, str]]:
    """Every ``NAME=value`` a document shows, placeholders (``...``, ``<x>``, ``$X``) left out."""
    found = ASSIGNMENT.findall(path.read_text(encoding="utf-8"))
    return [(name, value) for name, value in found if not re.search(r"\.\.\.|[<>$]", value)]


@pytest.mark.parametrize("path", ["docs/simulator.md"])
def test_every_setting_the_simulator_doc_shows_is_accepted(path: str) -> None:
    """docs/simulator.md tells users only values the configuration accepts (not, say,
    SHOPIFY_STORE_DOMAIN=127.0.0.1:8081)."""
    refused = []
    for name, value in documented(ROOT / path):
        try:
            load_settings({name: value}, env_file=None)
        except ConfigError as exc:
            # Other variables are missing here; only a value refused as malformed counts.
            refused += [
                (name, value, text)
                for variable, text in exc.problems
                if variable == name and text.startswith("expected")
            ]

    assert documented(ROOT / path)
    assert refused == []
