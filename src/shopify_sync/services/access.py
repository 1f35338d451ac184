"""Use cases: signing in to the admin page (throttled) and its sessions, kept on the server.

Failed sign-ins are counted per client address in the database, so the throttle holds
across every ``serve`` process: after ``FREE_FAILURES`` each further failure makes the
address wait twice as long as the one before (1 s, 2 s, 4 s ... up to ``MAX_DELAY``),
and while it waits every attempt from it is refused unchecked, even with the right
password. Beyond ``GLOBAL_CAP`` failures from all addresses together within
``GLOBAL_WINDOW`` every sign-in waits (a guess spread over many addresses). A good sign-in
clears its address's count.

A session is a random id in the operator's cookie and its SHA-256 in ``admin_sessions``:
signing out deletes the row, so a copy of the cookie stops working; a session unused for
the idle time ends too.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import structlog

from shopify_sync.services.ports import AccessRepository, Clock, Metrics, UnitOfWorkFactory

log = structlog.get_logger(__name__)

FREE_FAILURES = 3
"""Failed sign-ins from one address before each next attempt has to wait."""
MAX_DELAY = timedelta(minutes=15)
"""The longest an address waits after a failed sign-in."""
GLOBAL_WINDOW = timedelta(minutes=15)
GLOBAL_CAP = 100
"""Failed sign-ins from all addresses within ``GLOBAL_WINDOW`` beyond which every
sign-in waits ``GLOBAL_WAIT``."""
GLOBAL_WAIT = timedelta(minutes=1)
FAILURE_MEMORY = timedelta(days=1)
"""Addresses whose last failure is older than this are forgotten."""

Outcome = Literal["ok", "failed", "throttled"]


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a sign-in attempt came to: a new session's id, a wrong password, or a wait."""

    outcome: Outcome
    session_id: str | None = None
    retry_after_s: int = 0


def delay_after(failures: int) -> timedelta:
    """How long an address waits after its ``failures``-th failed sign-in in a row."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20)), MAX_DELAY)


def session_hash(session_id: str) -> str:
    """What the database keeps of a session id (a stolen table signs nobody in)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


async def sign_in(
    client: str,
    password_ok: bool,
    uow: UnitOfWorkFactory,
    clock: Clock,
    metrics: Metrics,
    idle: timedelta,
) -> SignIn:
    """An attempt from ``client`` whose password was ``password_ok``: a session, a
    counted failure, or a refusal while the address (or everybody) has to wait. A new
    session also clears away those idle for longer than ``idle``."""
    now = clock.now()
    async with uow() as unit:
        wait = await _wait(unit.access, client, now)
        if wait:
            metrics.sign_in("throttled")
            log.warning(
                "admin sign-in throttled: refused unchecked",
                client=client,
                retry_after_s=wait,
            )
            return SignIn("throttled", retry_after_s=wait)
        if not password_ok:
            before = await unit.access.failures(client)
            delay = delay_after((before.failures if before else 0) + 1)
            failures = await unit.access.record_failure(client, now, delay)
            await unit.access.prune_failures(now - FAILURE_MEMORY)
            await unit.commit()
            metrics.sign_in("failed")
            log.warning(
                "admin sign-in failed: wrong password",
                client=client,
                failures=failures,
                next_attempt_in_s=delay.total_seconds(),
            )
            return SignIn("failed")
        session_id = secrets.token_urlsafe(32)
        await unit.access.clear_failures(client)
        await unit.access.open_session(session_hash(session_id), now)
        await unit.access.prune_sessions(now - idle)
        await unit.commit()
    metrics.sign_in("ok")
    log.info("admin signed in", client=client)
    return SignIn("ok", session_id)


async def _wait(access: AccessRepository, client: str, now: datetime) -> int:
    """Seconds ``client`` must still wait before an attempt is checked; 0 when none."""
    record = await access.failures(client)
    if record is not None and record.blocked_until is not None and record.blocked_until > now:
        return max(1, math.ceil((record.blocked_until - now).total_seconds()))
    if await access.failures_since(now - GLOBAL_WINDOW) >= GLOBAL_CAP:
        return int(GLOBAL_WAIT.total_seconds())
    return 0


async def session_alive(
    session_id: str, uow: UnitOfWorkFactory, clock: Clock, idle: timedelta
) -> bool:
    """True when the session exists and was used within ``idle`` (it is used now)."""
    now = clock.now()
    async with uow() as unit:
        alive = await unit.access.touch_session(session_hash(session_id), now, now - idle)
        if not alive:
            await unit.access.prune_sessions(now - idle)
        await unit.commit()
    return alive


async def sign_out(session_id: str, uow: UnitOfWorkFactory) -> None:
    """End the session on the server: every copy of its cookie stops working."""
    async with uow() as unit:
        await unit.access.close_session(session_hash(session_id))
        await unit.commit()
    log.info("admin signed out")
