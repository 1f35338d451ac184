"""The level store's statements: SQLAlchemy Core compiled once per dialect, with what turns
a batch's plan into their parameters and their rows into the plan's view.

See ``level_store`` for why the hot path runs compiled statements on the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Dialect,
    Integer,
    Text,
    Update,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, CompoundSelect, Select
from sqlalchemy.types import TypeEngine

from shopify_sync.adapters.db.repository import inbound_cas
from shopify_sync.adapters.db.tables import UtcDateTime, webhook_events
from shopify_sync.adapters.db.tables import product_inventory as t
from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, allocation_of
from shopify_sync.domain.inbound import SOURCE, InboundTarget, LevelView
from shopify_sync.domain.model import ProductStock, PulledChange, WebhookEvent
from shopify_sync.errors import WriteConflict
from shopify_sync.types import InventoryItemId, ProductId


def _refresh(which: ColumnElement[bool]) -> Update:
    """Ask for the re-read of the products ``which`` selects."""
    return (
        update(t)
        .where(which)
        .values(refresh_requested=True, updated_at=bindparam("now", type_=UtcDateTime))
    )


EVENT_VALUES = {c.name: bindparam(c.name, type_=c.type) for c in webhook_events.columns}


class CompiledStatement:
    """A Core statement compiled once for a dialect, with its bind and result processing."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self._spec: list[tuple[str, Callable[[Any], Any] | None, Any]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                self._spec.append((name, _last_one(process), _GIVEN))
            else:  # a literal of the statement, such as the 1 of ``change_seq + 1``
                value = bind.effective_value
                self._spec.append((name, None, value if process is None else process(value)))
        self._columns: tuple[str, ...] = ()
        self._results: tuple[Callable[[Any], Any] | None, ...] = ()
        if isinstance(statement, Select | CompoundSelect):
            columns = list(statement.selected_columns)
            self._columns = tuple(c.name for c in columns)
            self._results = tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            )

    def params(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional parameters for ``values`` (by bind name), converted for the driver."""
        out: list[Any] = []
        for name, process, fixed in self._spec:
            if fixed is not _GIVEN:
                out.append(fixed)
                continue
            value = values[name]
            out.append(value if process is None or value is None else process(value))
        return out

    def rows(self, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
        """Driver rows as column name to Python value."""
        return [
            {
                name: value if process is None or value is None else process(value)
                for name, process, value in zip(self._columns, self._results, row, strict=True)
            }
            for row in rows
        ]


_GIVEN = object()


def _last_one(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """``process`` remembering its last value: a batch binds the same ``now`` many times."""
    if process is None:
        return None
    last: list[Any] = [_GIVEN, None]

    def remembered(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return remembered


TARGET_COLUMNS = (
    t.c.product_id,
    t.c.shopify_inventory_item_id,
    t.c.b2c_stock,
    t.c.shopify_base,
    t.c.shopify_seen_at,
    t.c.sync_enabled,
    t.c.push_key,
    t.c.b2b_stock,
    t.c.pool_base,
    t.c.allocation_policy,
    t.c.allocation_buffer,
    t.c.allocation_cap,
)
"""What the plan reads of each product: the merge's numbers, both pools and the policy,
in the same read (no query more per delivery)."""


def target_of(m: Mapping[str, Any]) -> tuple[InventoryItemId, InboundTarget]:
    item = InventoryItemId(int(m["shopify_inventory_item_id"]))
    stock = ProductStock(
        ProductId(m["product_id"]), item, m["b2c_stock"], m["shopify_base"], m["shopify_seen_at"]
    )
    policy = m["allocation_policy"]
    return item, InboundTarget(
        stock,
        bool(m["sync_enabled"]),
        m["push_key"] is not None,
        m["b2b_stock"],
        m["pool_base"],
        None
        if policy is None
        else allocation_of(policy, m["allocation_buffer"], m["allocation_cap"], DEFAULT_ALLOCATION),
    )


def write_params(write: PulledChange, now: Any) -> dict[str, Any]:
    if write.inventory_item_id is None:
        raise ValueError("a webhook's change names the item its plan read")
    return {
        "product_id": write.product_id,
        "expected_base": write.expected_base,
        "policy": write.expected_policy,
        "delta": write.delta,
        "new_base": write.new_base,
        "seen_at": write.seen_at,
        "direction": "inbound",
        "source": SOURCE,
        "reference": write.reference,
        "inventory_item_id": int(write.inventory_item_id),
        "expected_seen_at": write.expected_seen_at,
        "refresh": write.refresh,
        "now": now,
    }


def event_params(event: WebhookEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in EVENT_VALUES}


def level_view(
    seen: Iterable[Sequence[Any]], targets: Iterable[tuple[InventoryItemId, InboundTarget]]
) -> LevelView:
    ids: set[str] = set()
    for event_id, webhook_id in seen:
        ids.add(event_id)
        if webhook_id:
            ids.add(webhook_id)
    by_item: dict[InventoryItemId, list[InboundTarget]] = {}
    for item, target in sorted(targets, key=lambda pair: pair[1].stock.product_id):
        by_item.setdefault(item, []).append(target)
    return LevelView(frozenset(ids), by_item)


def conflict(what: str, landed: int, planned: int) -> WriteConflict:
    return WriteConflict(f"{landed} of {planned} {what} landed; re-planning the batch")


def _json_values(name: str) -> Select[Any]:
    """The values of a JSON array parameter, as a subquery (SQLite's ``json_each``)."""
    values = func.json_each(bindparam(name, type_=Text)).table_valued("value")
    return select(values.c.value)


@dataclass(frozen=True)
class LevelStatements:
    """The batch's statements, per dialect."""

    read: CompiledStatement
    """SQLite: the targets of some items. PostgreSQL: the targets, locked, and the events seen."""
    peek: CompiledStatement | None
    """PostgreSQL: ``read`` without locks."""
    seen: CompiledStatement | None
    """SQLite: the events seen among some ids (PostgreSQL reads them with the targets)."""
    apply: CompiledStatement
    """One compare-and-set stock change."""
    refresh: CompiledStatement | None
    """SQLite: ask for one product's re-read (PostgreSQL asks in ``record``)."""
    record: CompiledStatement
    """SQLite: one event record. PostgreSQL: every change, event record and re-read
    request of the batch, failing as a whole unless all landed (``_record_batch``)."""

    @classmethod
    def for_sqlite(cls, dialect: Dialect) -> LevelStatements:
        """JSON arrays for the reads (one statement each); writes checked by row count."""
        w = webhook_events
        return cls(
            read=CompiledStatement(
                select(*TARGET_COLUMNS).where(
                    t.c.shopify_inventory_item_id.in_(_json_values("items"))
                ),
                dialect,
            ),
            peek=None,
            seen=CompiledStatement(
                select(w.c.event_id, w.c.webhook_id).where(
                    or_(
                        w.c.event_id.in_(_json_values("event_ids")),
                        w.c.webhook_id.in_(_json_values("webhook_ids")),
                    )
                ),
                dialect,
            ),
            apply=CompiledStatement(inbound_cas(), dialect),
            refresh=CompiledStatement(
                _refresh(t.c.product_id == bindparam("product_id", type_=Text)), dialect
            ),
            record=CompiledStatement(
                sqlite_insert(w).values(EVENT_VALUES).on_conflict_do_nothing(), dialect
            ),
        )

    @classmethod
    def for_postgres(cls, dialect: Dialect) -> LevelStatements:
        """One round trip to read (the targets, locked in id order or not at all, and the
        events seen) and one to write (every change, event record and re-read request),
        whatever the batch size."""
        w = webhook_events

        def targets(*, locked: bool) -> CompoundSelect[Any]:
            rows = (
                select(*TARGET_COLUMNS)
                .where(t.c.shopify_inventory_item_id == any_(_array("items", BigInteger())))
                .order_by(t.c.product_id)
            )
            if locked:
                rows = rows.with_for_update()
            products = rows.cte("products")
            return union_all(select(literal("p", Text()).label("kind"), *products.c), seen)

        # The events seen, shaped like the targets: event id as product_id, delivery id
        # as push_key.
        seen = select(
            literal("e", Text()).label("kind"),
            w.c.event_id.label("product_id"),
            cast(null(), BigInteger).label("shopify_inventory_item_id"),
            cast(null(), Integer).label("b2c_stock"),
            cast(null(), Integer).label("shopify_base"),
            cast(null(), UtcDateTime).label("shopify_seen_at"),
            cast(null(), Boolean).label("sync_enabled"),
            w.c.webhook_id.label("push_key"),
            cast(null(), Integer).label("b2b_stock"),
            cast(null(), Integer).label("pool_base"),
            cast(null(), Text).label("allocation_policy"),
            cast(null(), Integer).label("allocation_buffer"),
            cast(null(), Integer).label("allocation_cap"),
        ).where(
            or_(
                w.c.event_id == any_(_array("event_ids", Text())),
                w.c.webhook_id == any_(_array("webhook_ids", Text())),
            )
        )
        return cls(
            read=CompiledStatement(targets(locked=True), dialect),
            peek=CompiledStatement(targets(locked=False), dialect),
            seen=None,
            apply=CompiledStatement(inbound_cas().returning(t.c.product_id), dialect),
            refresh=None,
            record=CompiledStatement(_record_batch(), dialect),
        )


def _record_batch() -> Select[Any]:
    """PostgreSQL: every change (``UPDATE ... FROM unnest``), event record and re-read
    request of a batch in one statement, which fails as a whole (SQLSTATE 40001, from
    ``shopify_sync_write_conflict``) unless every one of them landed.

    The changes compare-and-set on all the plan read (``inbound_cas(unlocked=True)``), so
    the statement is right on its own, after a read that locked nothing; inside the
    locked transaction those checks always pass. Every product appears at most once among
    the changes and the re-read requests: one statement changes a row once.
    """
    w = webhook_events
    changes = _unnest("w_", WRITE_COLUMNS, "w")
    applied = inbound_cas(changes, unlocked=True).returning(t.c.product_id).cte("applied")
    events = _unnest("e_", [(c.name, c.type) for c in w.columns], "ev")
    recorded = (
        pg_insert(w)
        .from_select([c.name for c in w.columns], select(*events.c))
        .on_conflict_do_nothing()
        .returning(w.c.event_id)
        .cte("recorded")
    )
    refreshed = (
        _refresh(t.c.product_id == any_(_array("refresh", Text())))
        .returning(t.c.product_id)
        .cte("refreshed")
    )
    # The read saw the events as of its start; this statement starts later. A delivery id
    # recorded meanwhile by another process (the event insert only catches event ids)
    # means a duplicate slipped through.
    counts = select(
        select(func.count()).select_from(applied).scalar_subquery().label("applied"),
        select(func.count()).select_from(recorded).scalar_subquery().label("recorded"),
        select(func.count()).select_from(refreshed).scalar_subquery().label("refreshed"),
        select(func.count())
        .select_from(w)
        .where(w.c.webhook_id == any_(_array("e_webhook_id", Text())))
        .scalar_subquery()
        .label("clashes"),
    ).cte("counts")
    writes = bindparam("writes", type_=Integer)
    records = bindparam("records", type_=Integer)
    reason = case(
        (
            counts.c.applied != writes,
            func.format("%s of %s stock changes landed", counts.c.applied, writes),
        ),
        (
            counts.c.recorded != records,
            func.format("%s of %s event records landed", counts.c.recorded, records),
        ),
        (
            counts.c.clashes > 0,
            func.format("%s delivery id(s) recorded by another process", counts.c.clashes),
        ),
    )
    verdict = select(*counts.c, reason.label("reason")).cte("verdict")
    failed = func.shopify_sync_write_conflict(
        func.concat(verdict.c.reason, "; re-planning the batch")
    )
    return select(
        verdict.c.applied,
        verdict.c.recorded,
        verdict.c.refreshed,
        case((verdict.c.reason.is_not(None), failed), else_=0).label("failed"),
    )


WRITE_COLUMNS: list[tuple[str, TypeEngine[Any]]] = [
    ("product_id", Text()),
    ("expected_base", Integer()),
    ("policy", Text()),
    ("delta", Integer()),
    ("new_base", Integer()),
    ("seen_at", UtcDateTime()),
    ("direction", Text()),
    ("source", Text()),
    ("reference", Text()),
    ("inventory_item_id", BigInteger()),
    ("expected_seen_at", UtcDateTime()),
    ("refresh", Boolean()),
]


def _array(name: str, item: TypeEngine[Any]) -> Any:
    return bindparam(name, type_=ARRAY(item))


def _unnest(prefix: str, columns: Sequence[tuple[str, TypeEngine[Any]]], name: str) -> Any:
    """Rows from parallel array parameters ``prefix + column`` (PostgreSQL's ``unnest``)."""
    arrays = [_array(f"{prefix}{column}", type_) for column, type_ in columns]
    return (
        func.unnest(*arrays)
        .table_valued(*(column for column, _ in columns))
        .render_derived(name=name)
    )
