"""Fuzzing the admin page, signed in and with the session's CSRF token: every route, its
query parameters and form fields missing, malformed, out of range or hostile.

Whatever comes, no page answers 5xx; a malformed value is refused with 400 and a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import fuzzed
from tests.integration.web.test_admin_page import Admin, _admin  # noqa: F401  # the fixture

PRODUCT = "p1"
GETS = ["/admin", "/admin/login", "/admin/products", "/admin/products.csv",
        "/admin/products/{pid}", "/admin/reconcile", "/admin/log", "/admin/errors"]  # fmt: skip
POSTS = [
    "/admin/zone", "/admin/reconcile", "/admin/errors/retry-parked", "/admin/errors/retry",
    *(f"/admin/products/{{pid}}/{action}"
      for action in ("link", "unlink", "allocate", "allocation", "enable", "disable", "sync",
                     "retry")),
]  # fmt: skip
NAMES = ["filter", "q", "after", "next", "variant_q", "preview", "product", "before", "tz",
         "variant_id", "b2c", "b2b", "move", "to", "password", "window", "scope",
         "product_id", "policy", "buffer", "cap", "no_cap"]  # fmt: skip

TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "0", "-1", "1", "1,000", "2147483648", "9" * 30, "9" * 5000,
                     "1e3", "0x10", "NaN", "\x00", "%00", "b2b", "b2c", "all", "errors",
                     "Europe/Paris", "7d", "selected", "../../etc", "//evil.example",
                     "/admin/products", "٣", "split", "shared", "any", "none", "on"]),
    st.integers(-(2**70), 2**70).map(str),
)  # fmt: skip
PRODUCT_IDS = st.one_of(
    st.just(PRODUCT), st.just("unknown"), st.text(min_size=1, max_size=20),
    st.sampled_from(["x" * 3000, "%00", "a%2Fb", "..", "%ff"]),
)  # fmt: skip


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    """A method, a path and its parameters (the query of a GET, the form of a POST)."""
    method = draw(st.sampled_from(["GET", "POST"]))
    path = draw(st.sampled_from(GETS if method == "GET" else POSTS))
    path = path.replace("{pid}", quote(draw(PRODUCT_IDS), safe=""))
    params = draw(st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=5), TEXT, max_size=5))
    return method, path, params


@fuzzed(examples=150)
@given(request=requests())
def test_no_admin_page_answers_5xx(admin: Admin, request: tuple[str, str, dict[str, str]]) -> None:
    """Generated requests to every admin route, with any parameters and the CSRF token,
    never get a 5xx, and a 400 comes with a message on the page."""
    method, path, params = request
    if not admin.sql("SELECT 1 FROM product_inventory WHERE product_id = :p", p=PRODUCT):
        admin.sign_in()
        admin.add(PRODUCT, sku="A-1", b2c=5, variant=1, item=11, base=5)
    kwargs: dict[str, Any] = {"follow_redirects": False}

    if method == "GET":
        response = admin.client.get(path, params=params, **kwargs)
    else:
        response = admin.client.post(path, data={**params, "csrf": admin.csrf()}, **kwargs)

    assert response.status_code < 500, (method, path, params, response.text[-500:])
    if response.status_code == 400:
        assert 'class="flash error"' in response.text, response.text[-500:]
