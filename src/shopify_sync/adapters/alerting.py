"""Adapter: alert delivery to a webhook receiver (Slack-compatible or generic JSON) and by
e-mail over SMTP, each retried a few times; failures become ``AlertDeliveryFailed``.

The webhook URL (Slack's carries its secret in the path) and the SMTP password never appear
in a message or a log line: a channel is named by its host only.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import structlog

from shopify_sync.domain.alerts import Transition
from shopify_sync.errors import AlertDeliveryFailed
from shopify_sync.services.ports import AlertSender, Clock

log = structlog.get_logger(__name__)

ATTEMPTS = 3
"""Tries per channel before a delivery counts as failed (the next check sends it again)."""
RETRY_BASE_S = 1.0
TIMEOUT_S = 10.0
SUBJECTS = {"started": "ALERT", "cleared": "cleared"}


def headline(transition: Transition, shop: str) -> str:
    """One line for people: what started or cleared, where."""
    what = transition.condition.replace("_", " ")
    return f"shopify-sync ({shop}): {SUBJECTS[transition.change]}: {what}"


async def _retried(what: str, clock: Clock, attempt: Callable[[], Awaitable[None]]) -> None:
    """``attempt`` up to ``ATTEMPTS`` times, waiting 1 s, 2 s...; raise when all failed."""
    error = ""
    for n in range(1, ATTEMPTS + 1):
        try:
            await attempt()
            return
        except AlertDeliveryFailed as exc:
            error = str(exc)
        log.warning("alert delivery failed", channel=what, attempt=n, error=error)
        if n < ATTEMPTS:
            await clock.sleep(RETRY_BASE_S * 2 ** (n - 1))
    raise AlertDeliveryFailed(f"{what}: {error} (after {ATTEMPTS} attempts)")


class WebhookAlertSender:
    """POSTs each alert as JSON: Slack's ``{"text": ...}`` or a generic body.

    The generic body is ``{"source", "shop", "condition", "state", "message", "at"}``.
    """

    def __init__(
        self,
        url: str,
        style: Literal["slack", "json"],
        shop: str,
        *,
        http: httpx.AsyncClient,
        clock: Clock,
    ) -> None:
        self._url = url
        self._style = style
        self._shop = shop
        self._http = http
        self._clock = clock
        self._name = f"webhook {urlsplit(url).hostname or 'receiver'}"

    @property
    def channels(self) -> tuple[str, ...]:
        """The receiver, by host."""
        return (self._name,)

    def body(self, transition: Transition, now: datetime) -> dict[str, Any]:
        """The JSON sent for ``transition``."""
        if self._style == "slack":
            mark = ":rotating_light:" if transition.change == "started" else ":white_check_mark:"
            return {"text": f"{mark} {headline(transition, self._shop)}\n{transition.message}"}
        return {
            "source": "shopify-sync",
            "shop": self._shop,
            "condition": transition.condition,
            "state": transition.change,
            "message": transition.message,
            "at": now.isoformat(),
        }

    async def send(self, transition: Transition, now: datetime, channel: str | None = None) -> None:
        """POST it (``channel``: this receiver's, or None); retried on a timeout, a network
        error or a 5xx or 429 answer.

        Raises:
            AlertDeliveryFailed: still failing after the retries, or refused (other 4xx).
        """
        body = self.body(transition, now)

        async def attempt() -> None:
            try:
                response = await self._http.post(self._url, json=body, timeout=TIMEOUT_S)
            except httpx.HTTPError as exc:
                raise AlertDeliveryFailed(f"not reached ({type(exc).__name__})") from None
            if response.status_code >= 300:
                raise AlertDeliveryFailed(f"answered HTTP {response.status_code}")

        await _retried(self._name, self._clock, attempt)


class SmtpAlertSender:
    """Sends each alert as an e-mail through an SMTP server (STARTTLS unless turned off)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        shop: str,
        *,
        clock: Clock,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = list(recipients)
        self._shop = shop
        self._clock = clock
        self._username = username
        self._password = password
        self._starttls = starttls
        self._name = f"e-mail to {', '.join(self._recipients)} via {host}"

    @property
    def channels(self) -> tuple[str, ...]:
        """The recipients and the server."""
        return (self._name,)

    def message(self, transition: Transition, now: datetime) -> EmailMessage:
        """The e-mail sent for ``transition``."""
        mail = EmailMessage()
        mail["Subject"] = headline(transition, self._shop)
        mail["From"] = self._sender
        mail["To"] = ", ".join(self._recipients)
        mail.set_content(
            f"{transition.message}\n\nCondition: {transition.condition}\n"
            f"State: {transition.change}\nAt: {now.isoformat()}\n"
        )
        return mail

    async def send(self, transition: Transition, now: datetime, channel: str | None = None) -> None:
        """Send it (``channel``: these recipients', or None), in a thread (``smtplib``
        blocks); retried on any SMTP or network error.

        Raises:
            AlertDeliveryFailed: still failing after the retries.
        """
        mail = self.message(transition, now)

        def deliver() -> None:
            with smtplib.SMTP(self._host, self._port, timeout=TIMEOUT_S) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._username and self._password:
                    smtp.login(self._username, self._password)
                smtp.send_message(mail)

        async def attempt() -> None:
            try:
                await asyncio.to_thread(deliver)
            except (smtplib.SMTPException, OSError) as exc:
                raise AlertDeliveryFailed(f"failed ({type(exc).__name__})") from None

        await _retried(self._name, self._clock, attempt)


class AlertChannels:
    """Every configured channel: each gets every alert, or the one named; a failure of one
    does not stop the others, and is raised after all were tried."""

    def __init__(self, senders: Sequence[AlertSender]) -> None:
        self._senders = list(senders)

    @property
    def channels(self) -> tuple[str, ...]:
        """Every channel, by name."""
        return tuple(name for sender in self._senders for name in sender.channels)

    async def send(self, transition: Transition, now: datetime, channel: str | None = None) -> None:
        """Send to ``channel`` (one of ``channels``), or to every channel when None.

        Raises:
            AlertDeliveryFailed: one or more channels failed (all named), or ``channel`` is
                none of them.
        """
        senders = [s for s in self._senders if channel is None or channel in s.channels]
        if not senders:
            raise AlertDeliveryFailed(f"{channel}: not a configured alert channel")
        failures: list[str] = []
        for sender in senders:
            try:
                await sender.send(transition, now, channel)
            except AlertDeliveryFailed as exc:
                failures.append(str(exc))
        if failures:
            raise AlertDeliveryFailed("; ".join(failures))
