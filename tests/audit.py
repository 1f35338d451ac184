"""A product's audit trail replayed: where every unit of its stock came from.

The randomized tests (tests/unit/services/test_interleaving.py in process, and
tests/integration/service/schedules.py through the stack) check with it that the log
accounts for every unit, under both allocation policies and across switches between them:

- per stock column, the logged deltas sum to the column's value (the insert is logged as
  a change from nothing, so this is "final minus initial" with the initial counted);
- the physical stock (``b2b_stock + b2c_stock`` under ``split``, ``b2b_stock`` under
  ``shared``) is what the B2B platform wrote plus what Shopify sold or was given, each
  change counted under the policy in force when it was logged; a policy switch moves units
  (``local``/``allocation`` rows) without changing it, so this holds only if no switch lost
  or invented a unit (the replay leaves the switches' own rows out);
- no webhook's change is applied twice to the same column (its event id, the reference),
  and no Shopify order's line is logged twice (the order, the reference; its line).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shopify_sync.domain.allocation import POLICIES

STOCKS = ("b2b_stock", "b2c_stock")
LOG_QUERY = (
    "SELECT direction, source, field, delta, reference, detail FROM inventory_sync_log"
    " WHERE product_id = :p ORDER BY id"
)
"""A product's log, in the order the rows were written (what :func:`replay` takes)."""


@dataclass
class Tracked:
    """One product of a randomized schedule and what both sides did to its physical stock."""

    product_id: str
    policy: str
    """Its policy when it was written (its own, or the settings' default)."""
    initial: int
    """Its physical stock then."""
    local: int = 0
    """Physical units the B2B platform's writes added since."""
    shopify: int = 0
    """Physical units Shopify's sales took and the merchant's edits added once linked."""

    @property
    def expected(self) -> int:
        """The physical stock it must end with."""
        return self.initial + self.local + self.shopify


def physical(policy: str, b2b_stock: int, b2c_stock: int) -> int:
    """The units a product really has: both pools under split, the one pool under shared."""
    return b2b_stock if policy == "shared" else b2b_stock + b2c_stock


def switched_to(detail: str | None, policy: str) -> str:
    """The policy after an ``allocation`` log row ("split -> shared, buffer 0 -> 5")."""
    head = (detail or "").split(",", 1)[0]
    if "->" in head:
        new = head.split("->", 1)[1].strip()
        if new in POLICIES:
            return new
    return policy


@dataclass
class Audit:
    """What a product's log says happened to its stock."""

    policy: str
    """The policy in force after the last logged switch."""
    columns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STOCKS, 0))
    """Per stock column, the sum of every logged change."""
    local: int = 0
    """Physical units written on our side other than by a switch (the B2B platform's
    writes, the insert included)."""
    shopify: int = 0
    """Physical units taken from Shopify's side (sales, edits, merged at writes)."""
    switches: int = 0
    applied_twice: list[str] = field(default_factory=list)
    """``field reference`` of webhook deliveries logged more than once on one column (a
    level's change, an order's line)."""

    @property
    def physical(self) -> int:
        """The physical stock the log accounts for."""
        return self.local + self.shopify


def replay(rows: Iterable[Sequence[Any]], policy: str) -> Audit:
    """Replay a product's log (rows of :data:`LOG_QUERY`) from its first policy."""
    audit = Audit(policy)
    seen: set[tuple[str, str, str | None, str | None]] = set()
    for direction, source, column, delta, reference, detail in rows:
        if column == "allocation":
            audit.policy = switched_to(detail, audit.policy)
            audit.switches += 1
            continue
        if column not in STOCKS or direction not in ("inbound", "local"):
            continue  # what we did on Shopify's side, not a change of our stock
        delta = int(delta)
        audit.columns[column] += delta
        if source.startswith("webhook:"):  # a level's change, or an order's line
            key = (source, column, reference, detail)
            if key in seen:
                audit.applied_twice.append(f"{column} {reference} {detail or ''}".rstrip())
            seen.add(key)
        counts = column == "b2b_stock" or audit.policy == "split"
        if not counts or (direction == "local" and source == "allocation"):
            continue  # a mirror of what Shopify shows, or a switch's move
        if direction == "inbound":
            audit.shopify += delta
        else:
            audit.local += delta
    return audit
