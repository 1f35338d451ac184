"""Alert delivery at the HTTP boundary (``httpx.MockTransport``) and to an SMTP server that
is not there: bodies, retries, failures that name the channel but never its secret."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import httpx
import pytest

from shopify_sync.adapters.alerting import AlertChannels, SmtpAlertSender, WebhookAlertSender
from shopify_sync.domain.alerts import Transition
from shopify_sync.errors import AlertDeliveryFailed
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio
URL = "https://hooks.slack.com/services/T000/B000/SECRETPART"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
PARKED = Transition("products_parked", "started", "3 product(s) parked")


@pytest.fixture(name="anyio_backend")
def _anyio_backend() -> str:
    return "asyncio"


def sender(
    answers: list[int], seen: list[httpx.Request], style: str = "slack"
) -> tuple[WebhookAlertSender, FakeClock]:
    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answers.pop(0) if len(answers) > 1 else answers[0])

    clock = FakeClock()
    http = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    return WebhookAlertSender(URL, style, "demo.myshopify.com", http=http, clock=clock), clock  # type: ignore[arg-type]


async def test_slack_gets_one_text_line() -> None:
    """The Slack style posts {"text": ...} with the shop, the condition and the message."""
    seen: list[httpx.Request] = []
    webhook, _ = sender([200], seen)

    await webhook.send(PARKED, NOW)

    assert json.loads(seen[0].content) == {
        "text": ":rotating_light: shopify-sync (demo.myshopify.com): ALERT: products parked\n"
        "3 product(s) parked"
    }


async def test_the_generic_style_posts_fields() -> None:
    """The json style posts the condition, its state, the message and the time."""
    seen: list[httpx.Request] = []
    webhook, _ = sender([204], seen, style="json")

    await webhook.send(Transition("drift_high", "cleared", "20 differ"), NOW)

    assert json.loads(seen[0].content) == {
        "source": "shopify-sync", "shop": "demo.myshopify.com", "condition": "drift_high",
        "state": "cleared", "message": "20 differ", "at": "2026-12-02T12:00:00+00:00",
    }  # fmt: skip


async def test_a_failing_receiver_is_retried_then_succeeds() -> None:
    """A 500 then a 200: delivered on the second try, after a wait on the clock."""
    seen: list[httpx.Request] = []
    webhook, clock = sender([500, 200], seen)

    await webhook.send(PARKED, NOW)

    assert (len(seen), clock.slept) == (2, [1.0])


async def test_a_receiver_failing_throughout_raises_without_the_secret() -> None:
    """Three failures: AlertDeliveryFailed naming the host, never the URL's secret path."""
    seen: list[httpx.Request] = []
    webhook, _ = sender([503], seen)

    with pytest.raises(AlertDeliveryFailed) as failed:
        await webhook.send(PARKED, NOW)

    assert len(seen) == 3
    assert "webhook hooks.slack.com: answered HTTP 503" in str(failed.value)
    assert "SECRETPART" not in str(failed.value)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_smtp_server_fails_after_retries_and_the_others_still_get_it() -> None:
    """E-mail to a server that is not there fails (named), the webhook channel still
    receives the alert, and the failure is raised after both were tried."""
    clock = FakeClock()
    mail = SmtpAlertSender(
        "127.0.0.1", closed_port(), "sync@example.com", ["ops@example.com"], "demo",
        clock=clock, password="smtp-secret",
    )  # fmt: skip
    seen: list[httpx.Request] = []
    webhook, _ = sender([200], seen)
    both = AlertChannels([mail, webhook])

    with pytest.raises(AlertDeliveryFailed) as failed:
        await both.send(PARKED, NOW)

    assert "e-mail to ops@example.com via 127.0.0.1: failed (ConnectionRefusedError)" in str(
        failed.value
    )
    assert "smtp-secret" not in str(failed.value)
    assert len(seen) == 1 and both.channels == (
        "e-mail to ops@example.com via 127.0.0.1", "webhook hooks.slack.com",
    )  # fmt: skip


def test_the_email_says_what_and_when() -> None:
    """The e-mail's subject names the shop and the condition; its body the message."""
    mail = SmtpAlertSender(
        "smtp.example.com", 587, "sync@example.com", ["a@example.com"], "demo", clock=FakeClock()
    )

    message = mail.message(PARKED, NOW)

    assert message["Subject"] == "shopify-sync (demo): ALERT: products parked"
    assert "3 product(s) parked" in message.get_content()


async def test_a_named_channel_alone_is_sent_the_alert() -> None:
    """send(channel=...) posts to that channel only; a name no channel has is refused."""
    seen: list[httpx.Request] = []
    webhook, clock = sender([200], seen)
    mail = SmtpAlertSender(
        "127.0.0.1", closed_port(), "sync@example.com", ["ops@example.com"], "demo", clock=clock
    )
    both = AlertChannels([mail, webhook])

    await both.send(PARKED, NOW, "webhook hooks.slack.com")
    with pytest.raises(AlertDeliveryFailed) as unknown:
        await both.send(PARKED, NOW, "webhook elsewhere.example.com")

    assert len(seen) == 1 and clock.slept == []
    assert "webhook elsewhere.example.com: not a configured alert channel" in str(unknown.value)
