"""Entrypoint support: how the operator's commands run use cases and print their answers.

Tables for people (numbers right-aligned, times in this machine's zone), JSON for scripts,
a progress bar on stderr when it is a terminal.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shopify_sync.bootstrap import Container
from shopify_sync.config import Need
from shopify_sync.services.sync.report import ProductResult

T = TypeVar("T")

JSON = typer.Option(False, "--json", help="Machine-readable output.")
PUSH = typer.Option(True, "--push/--no-push", help="Sync the product at once (default).")
LOCAL: frozenset[Need] = frozenset({Need.DATABASE})
"""What a command that reads or writes our tables only loads."""
SHOPIFY: frozenset[Need] = frozenset({Need.SHOPIFY})
"""What a command that only talks to Shopify (locations, webhooks) loads."""
CATALOGUE: frozenset[Need] = LOCAL | SHOPIFY
"""What a command that looks up Shopify's variants for our products loads."""
SYNCING: frozenset[Need] = CATALOGUE | {Need.LOCATION, Need.SYNC}
"""What a command that syncs products loads."""


def syncing(push: bool) -> frozenset[Need]:
    """The needs of a command that syncs what it changed only when ``push`` is on."""
    return SYNCING if push else LOCAL


CLI_REFERENCE = "cli"
"""The audit log's reference for changes made on the command line."""


def run(
    use_case: Callable[[Container], Awaitable[T]],
    show: Callable[[T], None],
    *,
    needs: Collection[Need],
) -> None:
    """Build the container from the settings of ``needs``, run ``use_case`` with it, ``show``
    its answer, close it.

    Errors reach ``cli.main``, which turns them into one line and an exit code.
    """
    # cli.py imports the commands to register them, so its helpers are imported late.
    from shopify_sync.entrypoints.cli import with_container

    async def work(container: Container) -> None:
        # Shown inside the event loop, so that everything a command does runs in one place.
        show(await use_case(container))

    with_container(work, needs=needs)


def failed() -> typer.Exit:
    """The exit for a command whose report is bad (exit code 1)."""
    from shopify_sync.entrypoints.cli import EXIT_FAILURE

    return typer.Exit(EXIT_FAILURE)


def bad_input() -> typer.Exit:
    """The exit for input we refuse, such as a product file with bad rows (exit code 2)."""
    from shopify_sync.entrypoints.cli import EXIT_CONFIG

    return typer.Exit(EXIT_CONFIG)


# -- output --------------------------------------------------------------------------------


def stdout_console() -> Console:
    """A console for tables on stdout."""
    console = Console()
    # Piped output keeps whole lines rather than folding them at 80 columns.
    return console if console.is_terminal else Console(width=200)


def print_json(data: Any) -> None:
    """Print a value (dataclasses, lists, times ...) as indented JSON."""
    typer.echo(json.dumps(plain(data), indent=2, default=str))


def plain(value: Any) -> Any:
    """A value made of dicts, lists, strings and numbers only."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def when(moment: datetime | None) -> str:
    """A time in this machine's zone."""
    return "" if moment is None else f"{moment.astimezone():%Y-%m-%d %H:%M:%S %Z}"


def new_table(title: str, *columns: str) -> Table:
    """A table; numeric columns (named with a leading ``#`` or a stock name) align right."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        numeric = column.startswith("#") or column in ("B2B", "B2C", "base", "Shopify", "delta")
        table.add_column(column.lstrip("#"), justify="right" if numeric else "left")
    return table


def num(value: int | None) -> str:
    """A number with thousands separators ("" for none)."""
    return "" if value is None else f"{value:,}"


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (a terminal only); yields the function to advance it."""
    with progress_bars((label, total)) as (advance,):
        yield advance


@contextmanager
def progress_bars(*bars: tuple[str, int | None]) -> Iterator[list[Callable[[int], None]]]:
    """One progress bar per (label, total) on stderr (a terminal only), in one display;
    yields the functions to advance each (a total of None counts without an end)."""
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as display:
        tasks = [display.add_task(label, total=total) for label, total in bars]
        yield [functools.partial(display.advance, task) for task in tasks]


def finish_sync(results: Sequence[ProductResult], *, echo: bool = True) -> None:
    """Print what each sync did (unless ``echo`` is off); exit 1 when one failed."""
    for r in results if echo else ():
        typer.echo(
            f"  synced {r.product_id}: {r.action}; ours {r.b2c_stock}, "
            f"Shopify {r.shopify_available}" + (f" ({r.error})" if r.error else "")
        )
    if any(r.action == "failed" for r in results):
        raise failed()
