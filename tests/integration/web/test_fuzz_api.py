"""Schemathesis over the app's own OpenAPI document: ``/sync/...``, ``/health`` and the
webhook routes, with cases that fit the document and cases that do not.

Most cases carry the bearer token, and webhook bodies are signed over the exact bytes
sent (a hook of ours, since the document cannot say how), so the fuzzing reaches past the
authentication into the handlers. Whatever comes, nothing answers 5xx.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.generation.case import Case

from shopify_sync.adapters.shopify.webhooks import sign
from tests.fuzzing import fuzzed
from tests.integration.web.conftest import SECRET, TOKEN, Harness


@cache
def _cases(document: str) -> st.SearchStrategy[Case[Any]]:
    schema = schemathesis.openapi.from_dict(json.loads(document))
    return st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE)
    )


def cases(h: Harness) -> st.SearchStrategy[Case[Any]]:
    """Every operation of the app's document, positive and negative cases."""
    return _cases(json.dumps(h.client.get("/openapi.json").json()))


def request_of(case: Case[Any], *, authorise: bool, sign_body: bool) -> dict[str, Any]:
    """What ``case`` sends, as TestClient arguments, with our token and signature added."""
    sent = case.as_transport_kwargs(base_url="http://testserver")
    headers: dict[str, bytes] = {
        k: str(v).encode("latin-1", "replace") for k, v in (sent.get("headers") or {}).items()
    }
    if "json" in sent:
        body: bytes = json.dumps(sent["json"]).encode()
    else:
        data = sent.get("data")
        body = data.encode() if isinstance(data, str) else (data or b"")
    path = urlsplit(sent["url"]).path
    if authorise and path.startswith("/sync"):
        headers["Authorization"] = f"Bearer {TOKEN}".encode()
    if sign_body and path.startswith("/webhooks"):
        headers["X-Shopify-Hmac-Sha256"] = sign(body, SECRET).encode()
    return {
        "method": sent["method"], "url": path, "params": sent.get("params") or {},
        "headers": headers, "content": body,
    }  # fmt: skip


@fuzzed(examples=150)
@given(data=st.data())
def test_no_operation_answers_5xx(harness: Harness, data: st.DataObject) -> None:
    """Generated requests to every documented operation, fitting the document or not,
    authorised and signed or not, never get a 5xx."""
    case = data.draw(cases(harness))
    authorise, sign_body = data.draw(st.booleans()), data.draw(st.integers(0, 4)) > 0

    response = harness.client.request(**request_of(case, authorise=authorise, sign_body=sign_body))

    assert response.status_code < 500, (case.method, case.path, response.text)
