"""`shopify-sync alerts test` as a process, against a local webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shopify_sync.simulator.testing import run_app_in_thread
from tests.integration.cli.conftest import Shop


@pytest.fixture(name="receiver")
def _receiver() -> Iterator[tuple[str, list[Any]]]:
    """A webhook receiver that records JSON bodies; POST /fail answers 500."""
    received: list[Any] = []

    async def hook(request: Request) -> Response:
        received.append(await request.json())
        return Response(status_code=500 if request.url.path == "/fail" else 200)

    app = Starlette(
        routes=[Route("/hook", hook, methods=["POST"]), Route("/fail", hook, methods=["POST"])]
    )
    with run_app_in_thread(app) as url:
        yield url, received


def test_a_test_alert_reaches_the_receiver(shop: Shop, receiver: tuple[str, list[Any]]) -> None:
    """With ALERT_WEBHOOK_URL set, the test message is posted and the command says where."""
    url, received = receiver
    shop.env["ALERT_WEBHOOK_URL"] = f"{url}/hook"

    result = shop.cli("alerts", "test")

    assert result.code == 0, result.err
    assert "test alert sent: webhook 127.0.0.1" in result.out
    assert "ALERT: test" in received[0]["text"]


def test_without_a_channel_the_command_says_what_to_set(shop: Shop) -> None:
    """No channel configured: exit 2 and the variables to set."""
    result = shop.cli("alerts", "test")

    assert result.code == 2 and "set ALERT_WEBHOOK_URL" in result.err


def test_a_failing_receiver_is_exit_1_with_the_channel(
    shop: Shop, receiver: tuple[str, list[Any]]
) -> None:
    """A receiver answering 500 throughout: three tries, exit 1, one line naming it."""
    url, received = receiver
    shop.env["ALERT_WEBHOOK_URL"] = f"{url}/fail"

    result = shop.cli("alerts", "test")

    assert result.code == 1 and len(received) == 3
    assert "webhook 127.0.0.1: answered HTTP 500 (after 3 attempts)" in result.err
