"""`lineageql artifacts prune`: delete the artifact versions no step run produced or consumed."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from sdk.cli.common import (
    JsonOption,
    TokenOption,
    UrlOption,
    cli_errors,
    console,
    make_client,
    print_json,
)
from sdk.errors import InputError
from sdk.prune import DEFAULT_ORPHAN_GRACE, PrunePlan, PruneResult, execute_prune, plan_prune

if TYPE_CHECKING:
    from rich.table import Table

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `24h` or `7d` as a timedelta."""
    match = DURATION.match(text)
    if match is None:
        raise InputError(
            f"--orphan-grace {text!r} is not a duration: give a number with s, m, h or d "
            "(e.g. 30m, 24h, 7d)"
        )
    return timedelta(**{UNITS[match.group(2)]: float(match.group(1))})


def _interactive() -> bool:
    return sys.stdin.isatty()


def prune(
    only_artifact: Annotated[
        bool,
        typer.Option("--only-artifact", help="Delete only the data; keep the metadata, marked."),
    ] = False,
    only_metadata: Annotated[
        bool, typer.Option("--only-metadata", help="Delete only the metadata; keep the data.")
    ] = False,
    ignore_errors: Annotated[
        bool,
        typer.Option("--ignore-errors", help="Go on past files that cannot be deleted."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted, with sizes.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    include_registered: Annotated[
        bool,
        typer.Option(
            "--include-registered",
            help="Also delete the files of registered data (by default only its metadata).",
        ),
    ] = False,
    orphans: Annotated[
        bool,
        typer.Option(
            "--orphans",
            help="Also delete version directories of the store that no version points to.",
        ),
    ] = False,
    orphan_grace: Annotated[
        str,
        typer.Option(
            help="Only orphans untouched for this long (s, m, h, d) are deleted, so a running "
            "step is never harmed."
        ),
    ] = f"{int(DEFAULT_ORPHAN_GRACE.total_seconds() // 3600)}h",
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Delete artifact versions no step run produced or consumed: their data and metadata,
    and artifacts left without a version. Registered files stay unless --include-registered."""
    with cli_errors():
        grace = parse_duration(orphan_grace)
        client = make_client(url, token)
        plan = plan_prune(
            client,
            only_artifact=only_artifact,
            only_metadata=only_metadata,
            include_registered=include_registered,
            orphans=orphans,
            orphan_grace=grace,
        )
    if plan.empty or dry_run:
        _show_plan(plan, as_json, dry_run=dry_run)
        return
    if not yes:
        _confirm(plan)
    with cli_errors():
        result = execute_prune(client, plan, ignore_errors=ignore_errors)
    if as_json:
        print_json(result.to_dict())
        return
    _show_result(result)


def _confirm(plan: PrunePlan) -> None:
    if not _interactive():
        typer.echo(
            "error: prune asks for confirmation, but standard input is not a terminal; pass "
            "--yes to prune without asking (or --dry-run to see what would be deleted)",
            err=True,
        )
        raise typer.Exit(1)
    _show_plan(plan, False, dry_run=False)
    if not typer.confirm("Delete these?", default=False):
        typer.echo("aborted: nothing was deleted", err=True)
        raise typer.Exit(1)


def _size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _show_plan(plan: PrunePlan, as_json: bool, *, dry_run: bool) -> None:
    if as_json:
        print_json({"dryRun": dry_run, **plan.to_dict()})
        return
    out = console()
    if plan.empty:
        out.print("nothing to prune: every artifact version is used by a run")
        return
    if plan.versions:
        out.print(_versions_table(plan))
    if plan.orphans:
        out.print(_orphans_table(plan))
    verb = "would free" if dry_run else "frees"
    out.print(
        f"{len(plan.versions)} version(s), {len(plan.orphans)} orphan folder(s); "
        f"{verb} {_size(plan.bytes_to_free)}"
    )


def _versions_table(plan: PrunePlan) -> Table:
    from rich.table import Table

    table = Table("version", "source", "size", "action", title="unused artifact versions")
    for c in plan.versions:
        table.add_row(c.label, c.source, _size(c.size_bytes), c.action)
    return table


def _orphans_table(plan: PrunePlan) -> Table:
    from rich.table import Table

    table = Table("folder", "size", "last modified", title="orphan folders")
    for orphan in plan.orphans:
        age = datetime.now(UTC) - orphan.modified
        table.add_row(orphan.uri, _size(orphan.size_bytes), f"{_age(age)} ago")
    return table


def _age(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def _show_result(result: PruneResult) -> None:
    out = console()
    for c in result.deleted:
        out.print(f"deleted {c.label}")
    for c in result.data_deleted:
        out.print(f"deleted the data of {c.label} (metadata kept, marked data-deleted)")
    for c in result.metadata_deleted:
        out.print(f"deleted the metadata of {c.label} (data kept)")
    for name in result.removed_artifacts:
        out.print(f"removed artifact {name} (no version left)")
    for orphan in result.orphans_removed:
        out.print(f"deleted orphan folder {orphan.uri}")
    for label in result.skipped:
        out.print(f"skipped {label}")
    for error in result.errors:
        typer.echo(f"warning: {error}", err=True)
    versions = len(result.deleted) + len(result.data_deleted) + len(result.metadata_deleted)
    out.print(
        f"pruned {versions} version(s) and {len(result.orphans_removed)} orphan folder(s); "
        f"freed {_size(result.bytes_freed)}"
        + (f"; {len(result.errors)} error(s)" if result.errors else "")
    )
