"""The admin page's session: a signed cookie carrying the session id, the CSRF token, zone
and flashes.

The cookie is signed (itsdangerous) with a key derived from ``SYNC_API_TOKEN``, so rotating
the token signs everybody out; it expires after ``SESSION_MAX_AGE_S``. Being signed in is
decided on the server: the session id must name a live row of ``admin_sessions``
(``services.access``), which signing out deletes and idleness expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, available_timezones

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "shopify_sync_admin"
SESSION_MAX_AGE_S = 12 * 3600
DEFAULT_ZONE = "UTC"


@dataclass
class Session:
    """What the cookie says about the operator."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    signed_in: bool = False
    sid: str | None = None
    """The server-side session's id (``services.access``); None when signed out."""
    zone: str = DEFAULT_ZONE
    flashes: list[tuple[str, str]] = field(default_factory=list)

    def flash(self, kind: str, text: str) -> None:
        """Show a message on the next page (kind: ok or error)."""
        self.flashes.append((kind, text))

    def take_flashes(self) -> list[tuple[str, str]]:
        """The messages to show now (shown once)."""
        taken, self.flashes = self.flashes, []
        return taken

    @property
    def tz(self) -> ZoneInfo:
        """The operator's time zone."""
        return ZoneInfo(self.zone)


def valid_zone(name: str) -> str:
    """``name`` when it is an IANA time zone, else UTC."""
    return name if name in _zones() else DEFAULT_ZONE


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
        _ZONES.add(DEFAULT_ZONE)
    return _ZONES


_ZONES: set[str] = set()


class SessionCodec:
    """Reads and writes the signed session cookie."""

    def __init__(self, api_token: str) -> None:
        key = hmac.new(api_token.encode(), b"shopify-sync admin session", hashlib.sha256).digest()
        self._signer = URLSafeTimedSerializer(key, salt="admin-session")

    def load(self, request: Request) -> Session:
        """The request's session, or a fresh signed-out one."""
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._signer.loads(raw, max_age=SESSION_MAX_AGE_S)
                return Session(
                    csrf=str(data["csrf"]),
                    signed_in=bool(data["in"]),
                    sid=str(data["sid"]) if data.get("sid") else None,
                    zone=valid_zone(str(data.get("tz", DEFAULT_ZONE))),
                    flashes=[(str(k), str(t)) for k, t in data.get("fl", [])],
                )
            except (BadSignature, KeyError, TypeError, ValueError):
                pass
        return Session()

    def save(self, session: Session, request: Request, response: Response) -> Response:
        """Write the session into the response's cookie."""
        value = self._signer.dumps(
            {
                "csrf": session.csrf,
                "in": session.signed_in,
                "sid": session.sid,
                "tz": session.zone,
                "fl": session.flashes,
            }
        )
        response.set_cookie(
            COOKIE,
            value,
            max_age=SESSION_MAX_AGE_S,
            path="/admin",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response


def password_matches(given: str, accepted: list[str]) -> bool:
    """True when ``given`` equals one of the accepted secrets (constant time for each)."""
    found = False
    for secret in accepted:
        found |= hmac.compare_digest(given.encode(), secret.encode())
    return found and bool(given)
