"""Adapter: ``product_inventory`` through SQLAlchemy Core: the reads, Shopify's changes
taken into our rows, failures and syncs recorded. A push's write-ahead record lives in
``push_records``, an operator's writes in ``operator_writes``, what they share in
``product_rows``; ``SqlProductRepository`` joins them behind the one port.

Every write that moves a stock column bumps ``change_seq`` and names its ``Change``;
the audit triggers turn that into the log row, in the same transaction. Writes that
race with webhooks or other processes are compare-and-set on ``shopify_base`` and
``push_key`` (a push also on ``b2c_stock``), so a change computed from a stale read is
refused, never applied twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    Text,
    Update,
    and_,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.selectable import NamedFromClause
from sqlalchemy.types import TypeEngine

from shopify_sync.adapters.db.operator_writes import OperatorWrites
from shopify_sync.adapters.db.product_rows import (
    CHUNK,
    CLEAR_ERROR,
    is_linked,
    newer_seen,
    own_allocation_values,
    pool_moves,
    product_of,
    refresh_after,
    who_values,
)
from shopify_sync.adapters.db.push_records import PushRecords
from shopify_sync.adapters.db.tables import PENDING, UtcDateTime, sync_runs
from shopify_sync.adapters.db.tables import product_inventory as t
from shopify_sync.domain.model import (
    PRODUCT_STATES,
    Product,
    ProductStates,
    PulledChange,
    SyncFailure,
)
from shopify_sync.errors import StorageError
from shopify_sync.types import InventoryItemId, ProductId

_RETRY_OWED = and_(t.c.sync_enabled, t.c.sync_error.is_not(None))
"""A failed product, due again at its ``next_attempt_at`` (parked ones have none)."""


def _inbound_values(
    policy: Any,
    delta: Any,
    new_base: Any,
    agreed_pool: Any,
    seen_at: Any,
    refresh: Any,
    who: dict[str, Any],
) -> dict[str, Any]:
    """What moving the pool of ``policy`` by Shopify's change and agreeing on a new base
    writes: ``pool_base`` becomes ``agreed_pool``, or moves by ``delta`` when that is NULL;
    under ``shared`` ``b2c_stock`` mirrors the new base (what Shopify sells)."""
    values: dict[str, Any] = {
        **pool_moves(policy, delta, new_base),
        "pool_base": func.coalesce(agreed_pool, t.c.pool_base + delta),
        "shopify_base": new_base,
        "refresh_requested": refresh,
        **who,
    }
    if seen_at is not None:
        values["shopify_seen_at"] = newer_seen(seen_at)
    return values


def inbound_cas(rows: NamedFromClause | None = None, *, unlocked: bool = False) -> Update:
    """``apply_inbound`` of a webhook's change as one statement, for batches.

    Its values are bind parameters ``product_id``, ``expected_base``, ``policy`` (the
    row's own, as read: compare-and-set, and whose pool moves), ``delta``, ``new_base``,
    ``seen_at`` (may be NULL), ``refresh`` (ask for a re-read afterwards), ``direction``,
    ``source``, ``reference`` and ``now``; or, given ``rows`` (a FROM with those columns
    but ``now``, each product at most once), the columns of ``rows``: one ``UPDATE ...
    FROM`` moves many products. ``pool_base`` moves by ``delta`` with the pool.

    ``unlocked``: the change was planned from a read that locked nothing, so the
    compare-and-set also covers the rest of what the plan read: ``expected_seen_at`` (may
    be NULL), the link to ``inventory_item_id`` and sync being enabled.
    """

    def value(name: str, type_: TypeEngine[Any]) -> Any:
        return bindparam(name, type_=type_) if rows is None else rows.c[name]

    who = who_values(
        value("direction", Text()),
        value("source", Text()),
        value("reference", Text()),
        bindparam("now", type_=UtcDateTime),
    )
    policy = value("policy", Text())
    values = _inbound_values(
        policy,
        value("delta", Integer()),
        value("new_base", Integer()),
        null(),
        value("seen_at", UtcDateTime()),
        value("refresh", Boolean()),
        who,
    )
    where = [
        t.c.product_id == value("product_id", Text()),
        t.c.shopify_base == value("expected_base", Integer()),
        t.c.allocation_policy == policy,
        t.c.push_key.is_(None),
    ]
    if unlocked:
        where += [
            t.c.shopify_seen_at.is_not_distinct_from(value("expected_seen_at", UtcDateTime())),
            t.c.shopify_inventory_item_id == value("inventory_item_id", BigInteger()),
            t.c.sync_enabled.is_(true()),
        ]
    return update(t).where(*where).values(values)


class SqlProductRepository(PushRecords, OperatorWrites):
    """Reads and compare-and-set writes of ``product_inventory``."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def get(self, product_id: str, *, lock: bool = False) -> Product | None:
        """One product, or None. ``lock`` holds the row until commit (PostgreSQL)."""
        query = select(t).where(t.c.product_id == product_id)
        if lock:
            query = query.with_for_update()
        row = (await self._c.execute(query)).first()
        return None if row is None else product_of(row)

    async def get_many(self, product_ids: Iterable[str], *, lock: bool = False) -> list[Product]:
        """The products with these ids, in id order; unknown ids are left out. ``lock`` holds
        the rows until commit (PostgreSQL), taken in id order."""
        ids = sorted(set(product_ids))
        found: list[Product] = []
        for start in range(0, len(ids), CHUNK):
            query = select(t).where(t.c.product_id.in_(ids[start : start + CHUNK]))
            query = query.order_by(t.c.product_id)
            if lock:
                query = query.with_for_update()
            found.extend(product_of(r) for r in await self._c.execute(query))
        return found

    async def by_inventory_item(
        self, item: InventoryItemId, *, lock: bool = False
    ) -> list[Product]:
        """Products linked to this inventory item (normally one)."""
        query = select(t).where(t.c.shopify_inventory_item_id == item).order_by(t.c.product_id)
        if lock:
            query = query.with_for_update()
        return [product_of(r) for r in await self._c.execute(query)]

    async def by_inventory_items(self, items: Iterable[InventoryItemId]) -> list[Product]:
        """Products linked to any of these inventory items, in id order."""
        wanted = sorted(set(items))
        found: list[Product] = []
        for start in range(0, len(wanted), CHUNK):
            query = select(t).where(
                t.c.shopify_inventory_item_id.in_(wanted[start : start + CHUNK])
            )
            found.extend(product_of(r) for r in await self._c.execute(query))
        return sorted(found, key=lambda p: p.product_id)

    async def duplicate_skus(self) -> set[str]:
        """SKUs (trimmed, case-folded) that more than one product carries."""
        key = func.lower(func.trim(t.c.sku))
        query = (
            select(key)
            .where(t.c.sku.is_not(None), func.trim(t.c.sku) != "")
            .group_by(key)
            .having(func.count() > 1)
        )
        return {str(value) for value in (await self._c.execute(query)).scalars()}

    async def by_variants(self, variants: Sequence[int]) -> list[Product]:
        """Products linked to any of these variants (by number or GID)."""
        names = {str(v) for v in variants} | {f"gid://shopify/ProductVariant/{v}" for v in variants}
        if not names:
            return []
        query = select(t).where(t.c.shopify_variant_id.in_(sorted(names))).order_by(t.c.product_id)
        return [product_of(r) for r in await self._c.execute(query)]

    async def page(
        self,
        *,
        after: str | None = None,
        limit: int = 500,
        linked_enabled: bool = False,
        errors: bool = False,
        unlinked: bool = False,
        disabled: bool = False,
        parked: bool = False,
        search: str | None = None,
        linked: bool = False,
        policy: str | None = None,
        default_policy: str | None = None,
    ) -> list[Product]:
        """A page of products in id order (keyset pagination), optionally filtered.

        ``policy`` keeps the products under that allocation policy: their own, or, for those
        without one, ``default_policy`` (the settings').
        """
        query = select(t).order_by(t.c.product_id).limit(limit)
        if after is not None:
            query = query.where(t.c.product_id > after)
        if linked_enabled:
            query = query.where(t.c.sync_enabled, is_linked())
        if errors:
            query = query.where(t.c.sync_error.is_not(None))
        if unlinked:
            query = query.where(~is_linked())
        if linked:
            query = query.where(is_linked())
        if disabled:
            query = query.where(~t.c.sync_enabled)
        if parked:
            query = query.where(t.c.parked_at.is_not(None))
        if policy is not None:
            own = t.c.allocation_policy == policy
            unset = t.c.allocation_policy.is_(None)
            query = query.where(or_(own, unset) if policy == default_policy else own)
        if search:
            pattern = f"%{search.lower()}%"
            query = query.where(
                or_(
                    func.lower(t.c.product_id).like(pattern),
                    func.lower(func.coalesce(t.c.sku, "")).like(pattern),
                    func.lower(func.coalesce(t.c.title, "")).like(pattern),
                )
            )
        return [product_of(r) for r in await self._c.execute(query)]

    async def syncable(
        self,
        *,
        after: str | None = None,
        limit: int = 1000,
        not_synced_since: datetime | None = None,
    ) -> list[Product]:
        """Enabled, linked, unparked products in id order (what a reconcile walks).

        ``not_synced_since`` keeps only those neither synced nor failed since then.
        """
        query = (
            select(t)
            .where(t.c.sync_enabled, is_linked(), t.c.parked_at.is_(None))
            .order_by(t.c.product_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(t.c.product_id > after)
        if not_synced_since is not None:
            query = query.where(
                or_(t.c.last_synced_at.is_(None), t.c.last_synced_at < not_synced_since),
                # A failure since then set a later next attempt: leave it to its backoff.
                or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= not_synced_since),
                t.c.push_key.is_(None),
            )
        return [product_of(r) for r in await self._c.execute(query)]

    async def count_syncable(self) -> int:
        """How many products a reconcile walks."""
        query = (
            select(func.count())
            .select_from(t)
            .where(t.c.sync_enabled, is_linked(), t.c.parked_at.is_(None))
        )
        return int((await self._c.execute(query)).scalar_one())

    async def due(
        self, now: datetime, *, limit: int = 1000, after: str | None = None
    ) -> list[Product]:
        """Enabled, linked, unparked products owing a push, a re-read or a resend, or in
        error (whatever failed), and due now: a failed product is retried at its next attempt.

        One query per reason, each on its own partial index (an ``OR`` of the two would scan
        the table), merged in id order.
        """
        found: dict[str, Product] = {}
        for owed in (PENDING, _RETRY_OWED):
            query = (
                select(t)
                .where(
                    owed,
                    t.c.shopify_inventory_item_id.is_not(None),
                    t.c.parked_at.is_(None),
                    or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
                )
                .order_by(t.c.product_id)
                .limit(limit)
            )
            if after is not None:
                query = query.where(t.c.product_id > after)
            for row in await self._c.execute(query):
                found.setdefault(row.product_id, product_of(row))
        return [found[key] for key in sorted(found)[:limit]]

    async def unresolved(self, *, limit: int = 250, now: datetime | None = None) -> list[Product]:
        """Enabled products that name a variant but whose inventory item is not resolved yet.

        With ``now``, only those due (not waiting out a backoff after a failed attempt).
        """
        query = (
            select(t)
            .where(
                t.c.sync_enabled,
                t.c.shopify_inventory_item_id.is_(None),
                t.c.shopify_variant_id.is_not(None),
                t.c.shopify_variant_id != "",
                t.c.parked_at.is_(None),
            )
            .order_by(t.c.product_id)
            .limit(limit)
        )
        if now is not None:
            query = query.where(or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now))
        return [product_of(r) for r in await self._c.execute(query)]

    async def counts(self) -> Mapping[str, int]:
        """How many products there are: all, linked, enabled, with errors, parked, pending."""
        query = select(
            func.count().label("total"),
            func.count(case((is_linked(), 1))).label("linked"),
            func.count(case((t.c.sync_enabled, 1))).label("enabled"),
            func.count(case((t.c.sync_error.is_not(None), 1))).label("errors"),
            func.count(case((t.c.parked_at.is_not(None), 1))).label("parked"),
            func.count(case((PENDING, 1))).label("pending"),
        )
        row = (await self._c.execute(query)).one()
        return {key: int(value) for key, value in row._mapping.items()}

    async def states(self) -> ProductStates:
        """Products per monitoring state, the oldest error and the last good reconcile,
        in one query: a count over the table, two index lookups in ``sync_runs``."""
        linked = is_linked()
        state = case(
            (~t.c.sync_enabled, "disabled"),
            (~linked, "unlinked"),
            (t.c.parked_at.is_not(None), "parked"),
            (t.c.sync_error.is_not(None), "error"),
            (PENDING, "pending"),
            else_="in_sync",
        )
        counted = select(state.label("state"), t.c.sync_error_since).subquery()
        query = select(
            *(
                func.count(case((counted.c.state == name, 1))).label(name)
                for name in PRODUCT_STATES
            ),
            func.min(
                case((counted.c.state.in_(("error", "parked")), counted.c.sync_error_since))
            ).label("oldest"),
            _last_good_run("reconcile").label("reconcile"),
            _last_good_run("reconcile:api").label("reconcile_api"),
        )
        row = (await self._c.execute(query)).one()._mapping
        runs = [at for at in (row["reconcile"], row["reconcile_api"]) if at is not None]
        return ProductStates(
            counts={name: int(row[name]) for name in PRODUCT_STATES},
            oldest_error_since=row["oldest"],
            last_reconcile_ok_at=max(runs, default=None),
        )

    async def set_inventory_item(
        self, product_id: str, item: InventoryItemId, now: datetime
    ) -> None:
        """Store the inventory item resolved from the product's variant."""
        await self._c.execute(
            update(t)
            .where(t.c.product_id == product_id)
            .values(shopify_inventory_item_id=item, updated_at=now)
        )

    async def apply_inbound(
        self,
        changes: Sequence[PulledChange],
        *,
        source: str,
        now: datetime,
        synced: bool = False,
        read_at: datetime | None = None,
    ) -> set[ProductId]:
        """Move each product's pool by Shopify's change, agree on the new base and on the
        pool (``agreed_pool``), and write the allocation the change was planned under into
        a row without its own (its first agreement); returns the products it was applied to.

        Compare-and-set: a product whose base or own policy moved or that has a push in
        flight since the caller read it is left out. Per chunk of ``CHUNK`` products, one
        read that locks the rows (``FOR UPDATE``, in id order; SQLite's write transaction
        already excludes every other writer) and one statement for those still as read
        (executemany), so a reconcile after missed webhooks costs two statements per
        ``CHUNK`` products, not one built and compiled per product. ``synced`` also
        records a successful sync.
        """
        by_id = {c.product_id: c for c in changes}
        if len(by_id) != len(changes):
            raise ValueError("apply_inbound takes each product at most once")
        if not changes:
            return set()
        policy = bindparam("b_policy", type_=Text)
        values = _inbound_values(
            policy,
            bindparam("b_delta", type_=Integer),
            bindparam("b_new_base", type_=Integer),
            bindparam("b_pool", type_=Integer),
            bindparam("b_seen", type_=UtcDateTime),  # NULL keeps shopify_seen_at
            refresh_after(read_at),
            who_values("inbound", source, bindparam("b_reference", type_=Text), now),
        )
        values.update(
            own_allocation_values(
                policy, bindparam("b_buffer", type_=Integer), bindparam("b_cap", type_=Integer)
            )
        )
        if synced:
            values.update(CLEAR_ERROR, last_synced_at=now)
        statement = (
            update(t)
            .where(
                t.c.product_id == bindparam("b_id"),
                t.c.shopify_base.is_not_distinct_from(bindparam("b_base", type_=Integer)),
                t.c.allocation_policy.is_not_distinct_from(bindparam("b_own_policy", type_=Text)),
                t.c.push_key.is_(None),
            )
            .values(values)
        )
        ids = sorted(by_id)
        applied: set[ProductId] = set()
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            rows = await self._c.execute(
                select(t.c.product_id, t.c.shopify_base, t.c.allocation_policy, t.c.push_key)
                .where(t.c.product_id.in_(chunk))
                .order_by(t.c.product_id)
                .with_for_update()
            )
            take = [
                change
                for pid, base, own_policy, key in rows
                if key is None
                and base == (change := by_id[ProductId(pid)]).expected_base
                and own_policy == change.expected_policy
            ]
            if not take:
                continue
            result = await self._c.execute(
                statement,
                [
                    {
                        "b_id": c.product_id,
                        "b_base": c.expected_base,
                        "b_delta": c.delta,
                        "b_new_base": c.new_base,
                        "b_pool": c.agreed_pool,
                        "b_policy": c.allocation.policy,
                        "b_buffer": c.allocation.buffer,
                        "b_cap": c.allocation.cap,
                        "b_own_policy": c.expected_policy,
                        "b_seen": c.seen_at,
                        "b_reference": c.reference,
                    }
                    for c in take
                ],
            )
            if result.rowcount not in (-1, len(take)):  # -1: the driver does not count
                raise StorageError(
                    f"{result.rowcount} of {len(take)} locked products took Shopify's change; "
                    "the transaction is rolled back and the next pass retries"
                )
            applied.update(c.product_id for c in take)
        return applied

    async def request_refresh(self, product_ids: Iterable[str], now: datetime) -> None:
        """Mark products for a re-read from Shopify at the next pass."""
        ids = list(product_ids)
        if ids:
            await self._c.execute(
                update(t)
                .where(t.c.product_id.in_(ids))
                .values(refresh_requested=True, updated_at=now)
            )

    async def record_failures(self, failures: Sequence[SyncFailure], now: datetime) -> None:
        """Record failed attempts: each product's message, one more attempt, and when it is
        tried next or that it is parked. One statement for them all (executemany): a batch
        that failed during an outage may name hundreds of products."""
        if not failures:
            return
        await self._c.execute(
            update(t)
            .where(t.c.product_id == bindparam("b_id"))
            .values(
                sync_error=bindparam("b_error"),
                sync_error_since=func.coalesce(
                    t.c.sync_error_since, bindparam("b_now", type_=UtcDateTime)
                ),
                sync_attempts=t.c.sync_attempts + 1,
                next_attempt_at=bindparam("b_next", type_=UtcDateTime),
                parked_at=bindparam("b_parked", type_=UtcDateTime),
                updated_at=now,
            ),
            [
                {
                    "b_id": f.product_id,
                    "b_error": f.message,
                    "b_next": f.next_attempt_at,
                    "b_parked": None if f.next_attempt_at is not None else now,
                    "b_now": now,
                }
                for f in failures
            ],
        )

    async def clear_failure(self, product_ids: Iterable[str], now: datetime) -> None:
        """Forget past failures (an operator's retry, or a success)."""
        ids = list(product_ids)
        if ids:
            await self._c.execute(
                update(t).where(t.c.product_id.in_(ids)).values(**CLEAR_ERROR, updated_at=now)
            )

    async def mark_synced(
        self,
        product_ids: Sequence[str],
        seen: Mapping[str, datetime | None],
        now: datetime,
        *,
        read_at: datetime | None = None,
    ) -> None:
        """Both sides already agree: record the sync (and Shopify's newer timestamps).

        A re-read requested after ``read_at`` (when the level was read) stays requested.
        """
        values: dict[str, Any] = {
            **CLEAR_ERROR,
            "last_synced_at": now,
            "refresh_requested": refresh_after(read_at),
        }
        plain = [pid for pid in product_ids if seen.get(pid) is None]
        for start in range(0, len(plain), CHUNK):
            await self._c.execute(
                update(t)
                .where(t.c.product_id.in_(plain[start : start + CHUNK]), t.c.push_key.is_(None))
                .values(values)
            )
        newer = [{"b_id": pid, "b_seen": at} for pid, at in seen.items() if at is not None]
        if newer:
            seen_at = bindparam("b_seen", type_=t.c.shopify_seen_at.type)
            await self._c.execute(
                update(t)
                .where(t.c.product_id == bindparam("b_id"), t.c.push_key.is_(None))
                .values(
                    {
                        **values,
                        "shopify_seen_at": newer_seen(seen_at),
                    }
                ),
                newer,
            )


def _last_good_run(kind: str) -> Any:
    """When the newest run of ``kind`` that ended without an error finished."""
    return (
        select(sync_runs.c.finished_at)
        .where(sync_runs.c.kind == kind, sync_runs.c.error.is_(None))
        .order_by(sync_runs.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
