"""What a person at a terminal sees: one line per failure with what to check, clean tables,
help without clutter, the admin page's address. Run as processes against the simulator."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.cli.conftest import ACCESS, Shop
from tests.integration.cli.test_operator_cli import seed


def free_port() -> int:
    """A TCP port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_admin_url_is_one_line_naming_it(shop: Shop) -> None:
    """SHOPIFY_ADMIN_URL pointing nowhere: one line with the URL and what to check, exit 1."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    shop.env.update(SHOPIFY_ADMIN_URL=nowhere, LOG_LEVEL="INFO")

    result = shop.cli("locations")

    assert (result.code, result.out) == (1, "")
    assert result.err.splitlines() == [
        f"shopify-sync: Shopify error: cannot reach Shopify at {nowhere}: connection refused; "
        "check SHOPIFY_ADMIN_URL (is the simulator or proxy it names running?)"
    ]


def test_sync_all_prints_its_summary_and_no_log_lines(shop: Shop) -> None:
    """At LOG_LEVEL=INFO `sync --all` prints its result only; --verbose adds the log on stderr."""
    seed(shop)
    shop.cli("products", "enable", "p-mug", "--no-push")
    shop.cli("products", "link", "p-mug", "--sku", "MUG-1")
    shop.env["LOG_LEVEL"] = "INFO"

    quiet = shop.cli("sync", "--all")
    verbose = shop.cli("--verbose", "sync", "--all")

    assert (quiet.code, quiet.err) == (0, "")
    assert quiet.out.startswith("checked 1, changed ")
    assert not any(line.lstrip().startswith("{") for line in quiet.out.splitlines())
    assert verbose.code == 0
    assert any(json.loads(line).get("level") == "info" for line in verbose.err.splitlines())


def test_a_refused_token_names_shopify_access_token(shop: Shop) -> None:
    """A 401 from Shopify is one line naming SHOPIFY_ACCESS_TOKEN as the thing to check."""
    shop.env["SHOPIFY_ACCESS_TOKEN"] = "shpat_not_the_simulators"

    result = shop.cli("locations")

    assert result.code == 1
    assert len(result.err.splitlines()) == 1
    assert "Shopify refused SHOPIFY_ACCESS_TOKEN (HTTP 401)" in result.err


def test_help_shows_flags_without_a_type(shop: Shop) -> None:
    """`--help` lists flags bare (`--json`), never as `--json <bool>`."""
    pages = [
        shop.cli(*args, "--help")
        for args in (["sync"], ["products", "list"], ["retry"], ["webhooks", "check"], [])
    ]

    assert [page.code for page in pages] == [0] * 5
    assert all("<bool>" not in page.out for page in pages)
    assert "--dry-run " in pages[0].out and "--push / --no-push" in pages[2].out


def test_log_of_an_unknown_product_is_not_found(shop: Shop) -> None:
    """`log --product nope` exits 3 like every other command given an unknown product."""
    seed(shop)

    unknown = shop.cli("log", "--product", "nope")
    known = shop.cli("log", "--product", "p-mug")

    assert (unknown.code, unknown.err) == (3, "shopify-sync: error: no product with id 'nope'\n")
    assert known.code == 0


def test_serve_prints_the_admin_page_address(shop: Shop) -> None:
    """`serve` says where its admin page is before it starts serving."""
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "shopify_sync", "serve", "--port", str(port)],
        env=shop.env, cwd=shop.cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as server:  # fmt: skip
        try:
            assert server.stdout is not None
            first = server.stdout.readline()
        finally:
            server.terminate()

    assert first == (
        f"shopify-sync: admin page http://127.0.0.1:{port}/admin (sign in with ADMIN_PASSWORD "
        "or SYNC_API_TOKEN); Ctrl+C stops\n"
    )


def test_simulator_reads_the_token_from_dotenv_like_the_service(tmp_path: Path) -> None:
    """With the token only in .env, the simulator accepts that token (and not its own
    default), and its banner names the API version used by default."""
    (tmp_path / ".env").write_text(f"SHOPIFY_ACCESS_TOKEN={ACCESS}-from-dotenv\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPIFY_")}
    port = free_port()
    url = f"http://127.0.0.1:{port}/admin/api/2026-10/graphql.json"
    output = tmp_path / "simulator.out"
    with output.open("w") as sink, subprocess.Popen(
        [sys.executable, "-m", "shopify_sync", "simulator", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=sink, stderr=subprocess.DEVNULL,
    ) as simulator:  # fmt: skip
        try:
            tokens = (f"{ACCESS}-from-dotenv", "shpat_simulator_access_token")
            answers = [_ask_shop(url, token) for token in tokens]
        finally:
            simulator.terminate()
    banner = output.read_text().splitlines()

    assert banner[1] == f"GraphQL: POST {url}"
    assert answers == [200, 401]


def _ask_shop(url: str, token: str) -> int:
    """The status of a small query with ``token``, once the simulator listens."""
    deadline = time.monotonic() + 60
    while True:
        try:
            response = httpx.post(
                url, json={"query": "{ shop { name } }"},
                headers={"X-Shopify-Access-Token": token}, timeout=5,
            )  # fmt: skip
            return response.status_code
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
