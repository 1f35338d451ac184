"""Domain: the service's public address, where Shopify delivers our webhooks.

Shopify delivers webhooks over HTTPS only; plain http is accepted for local hosts, where the
local simulator (or a tunnel's local end) delivers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def public_base_url(address: str) -> str:
    """``address`` without surrounding blanks or trailing slashes, once checked.

    Raises:
        ValueError: not an absolute http(s) URL without query or fragment, or plain http to
            a host that is not local; the message says what is expected.
    """
    address = address.strip().rstrip("/")
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("the service's public base URL, e.g. https://sync.example.com")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise ValueError("an https URL: Shopify delivers webhooks over https only")
    return address
