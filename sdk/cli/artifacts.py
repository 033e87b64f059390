"""`lineageql artifacts list|update|verify` and `lineageql artifacts versions list|update`:
tables for people, `--json` for scripts, tags added with `-t` and removed with `-r`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from sdk.cli.common import (
    JsonOption,
    TokenOption,
    UrlOption,
    announce,
    cli_errors,
    console,
    make_client,
    print_json,
)
from sdk.cli.metadata import DescOption, SortOption, WhereOption, sort_by, where_filters
from sdk.client.client import split_name_version
from sdk.client.views import Artifact, ArtifactVersion, parse_time
from sdk.errors import InputError
from sdk.types import JsonObject

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from sdk.artifacts.verify import VersionCheck
    from sdk.client.client import Client
from sdk.client.records import (
    ArrayDiff,
    ArtifactSummary,
    DataFrameDiff,
    ProducerRef,
    VersionDiff,
)

LimitOption = Annotated[int, typer.Option(min=1, help="Show at most this many rows.")]
AddTagsOption = Annotated[
    list[str] | None, typer.Option("--tag", "-t", help="A tag to add (repeatable).")
]
RemoveTagsOption = Annotated[
    list[str] | None, typer.Option("--remove-tag", "-r", help="A tag to remove (repeatable).")
]


app = typer.Typer(help="List, tag and prune artifacts.", no_args_is_help=True)
versions_app = typer.Typer(help="Versions of artifacts.", no_args_is_help=True)


def when(value: datetime | str | None) -> str:
    """A timestamp for people: `2026-11-22 14:30:45` in UTC; `-` when unset."""
    moment = parse_time(value) if isinstance(value, str) else value
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(value: datetime | str | None) -> str | None:
    """A timestamp for scripts: ISO 8601 with its offset."""
    moment = parse_time(value) if isinstance(value, str) else value
    return None if moment is None else moment.isoformat()


def table(*columns: str) -> Table:
    from rich import box
    from rich.table import Table

    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    return grid


def add_row(grid: Table, *cells: str) -> None:
    """A row of plain text: brackets in names are not rich markup."""
    from rich.text import Text

    grid.add_row(*(Text(cell) for cell in cells))


def more_hint(shown: int, what: str, limit: int) -> str:
    return f"showing the first {shown} {what}; use --limit {limit * 2} or more to see further"


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1024 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def _tags(tags: Sequence[str]) -> str:
    return ", ".join(tags) or "-"


@app.command("list")
def list_artifacts(
    tag: Annotated[
        str | None, typer.Option("--tag", "-t", help="Only artifacts with this tag.")
    ] = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all", "-a", help="Also list artifacts with default names (pipeline::step::output)."
        ),
    ] = False,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List artifacts by name: version count, latest version, tags, last update.

    With --tag: the artifacts tagged so themselves or through one of their versions (tags given
    by `ArtifactConfig(tags=...)` or `save_artifact(tags=...)` are on versions); the column
    "tagged" says which. Artifacts that only have default names (`pipeline::step::output`)
    are hidden unless --all.
    """
    with cli_errors():
        announce(url, as_json=as_json)
        client = make_client(url, token, reads=True)
        found = client.artifact_summaries(
            tag=tag, has_custom_name=None if all_ else True, limit=limit + 1
        )
        hidden = 0 if all_ else client.count_artifacts(tag=tag, has_custom_name=False)
    nodes, more = found[:limit], len(found) > limit
    if as_json:
        print_json([_artifact_json(node, tag) for node in nodes])
        return
    out = console()
    if nodes:
        columns = ["name", "versions", "latest", "tags", "updated (UTC)"]
        grid = table(*columns, *(["tagged"] if tag is not None else []))
        for node in nodes:
            cells = [
                node.name,
                str(node.version_count),
                node.latest_version or "-",
                _tags(node.tags),
                when(node.updated_at),
            ]
            if tag is not None:
                cells.append(_tagged(node, tag))
            add_row(grid, *cells)
        out.print(grid)
    else:
        out.print("No artifacts" + (f" tagged {tag!r}." if tag else "."), markup=False)
    if more:
        out.print(more_hint(len(nodes), "artifacts", limit))
    if hidden:
        out.print(
            f"{hidden} artifact{'s' if hidden != 1 else ''} with default names "
            "(pipeline::step::output) hidden; --all lists them."
        )


def _tagged(node: ArtifactSummary, tag: str) -> str:
    """Where an artifact listed by --tag carries it: `artifact`, `2 versions`, or both."""
    where = ["artifact"] if tag in node.tags else []
    count = node.tagged_version_count or 0
    if count:
        where.append(f"{count} version{'s' if count != 1 else ''}")
    return ", ".join(where) or "-"


def _artifact_json(node: ArtifactSummary, tag: str | None = None) -> JsonObject:
    answer: JsonObject = {
        "id": node.id,
        "name": node.name,
        "version_count": node.version_count,
        "latest_version": node.latest_version,
        "tags": list(node.tags),
        "has_custom_name": node.has_custom_name,
        "created_at": iso(node.created_at),
        "updated_at": iso(node.updated_at),
    }
    if tag is not None:
        answer["tagged"] = {
            "artifact": tag in node.tags,
            "versions": node.tagged_version_count or 0,
        }
    return answer


@app.command("update")
def update_artifact(
    name: Annotated[str, typer.Argument(help="The artifact's name.")],
    add: AddTagsOption = None,
    remove: RemoveTagsOption = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Add (-t) and remove (-r) tags of an artifact, all at once or none."""
    with cli_errors():
        _need_tags(add, remove)
        client = make_client(url, token)
        artifact = client.update_artifact(name, add_tags=add, remove_tags=remove)
    if as_json:
        print_json({"id": artifact.id, "name": artifact.name, "tags": list(artifact.tags)})
        return
    console().print(_tag_line(artifact.name, artifact), markup=False)


@versions_app.command("list")
def list_versions(
    name: Annotated[
        str | None, typer.Argument(help="Only versions of this artifact; unset: all artifacts.")
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", "-t", help="Only versions with this tag.")
    ] = None,
    where: WhereOption = None,
    sort: SortOption = None,
    desc: DescOption = False,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """List artifact versions in the order they were created, oldest first (or by a logged
    metadata key with --sort), optionally only those whose metadata matches --where."""
    with cli_errors():
        filters, order = where_filters(where), sort_by(sort, desc)
        announce(url, as_json=as_json)
        client = make_client(url, token, reads=True)
        if name is not None:
            client.get_artifact(name)  # NotFoundError with the name, rather than an empty list
        found = client.list_artifact_versions(
            name=name, tag=tag, limit=limit + 1, metadata=filters, sort_by=order
        )
    versions, more = found[:limit], len(found) > limit
    if as_json:
        print_json([_version_json(version) for version in versions])
        return
    out = console()
    if versions:
        grid = table("artifact", "version", "source", "tags", "size", "created (UTC)")
        for version in versions:
            add_row(
                grid,
                version.name,
                version.version,
                version.source,
                _tags(version.tags),
                _size(version.size_bytes),
                when(version.created_at),
            )
        out.print(grid)
    else:
        of = f" of {name!r}" if name else ""
        matching = " matching --where" if where else ""
        out.print(
            f"No versions{of}" + (f" tagged {tag!r}" if tag else "") + f"{matching}.",
            markup=False,
        )
    if more:
        out.print(more_hint(len(versions), "versions", limit))


def _version_json(version: ArtifactVersion) -> JsonObject:
    return {
        "id": version.id,
        "name": version.name,
        "version": version.version,
        "is_custom_version": version.is_custom_version,
        "source": version.source,
        "tags": list(version.tags),
        "uri": version.uri,
        "data_type": version.data_type,
        "size_bytes": version.size_bytes,
        "content_hash": version.content_hash,
        "producer_id": version.producer_id,
        "created_at": iso(version.created_at),
    }


@versions_app.command("show")
def show_version(
    target: Annotated[str, typer.Argument(help="NAME, NAME:VERSION, NAME@ALIAS or an id.")],
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Describe one artifact version: where it lies, its extracted metadata and the metadata
    logged on it (log_metadata, ArtifactConfig(run_metadata=...))."""
    with cli_errors():
        announce(url, as_json=as_json)
        client = make_client(url, token, reads=True)
        name, number = split_name_version(target)
        version = client.get_artifact_version(name, number)
        logged = version.run_metadata
    if as_json:
        print_json(_version_json(version) | {"metadata": version.metadata, "run_metadata": logged})
        return
    grid = table("field", "value")
    for label, value in (
        ("artifact", version.name),
        ("version", version.version),
        ("id", version.id),
        ("source", version.source),
        ("tags", _tags(version.tags)),
        ("uri", version.uri),
        ("data type", version.data_type),
        ("size", _size(version.size_bytes)),
        ("created (UTC)", when(version.created_at)),
    ):
        add_row(grid, label, value)
    out = console()
    out.print(grid)
    for title, values in (("metadata (extracted)", version.metadata), ("run metadata", logged)):
        rows = table("key", title)
        for key, value in values.items():
            add_row(rows, key, _value(value))
        out.print(rows if values else f"No {title}.", markup=False)


@versions_app.command("update")
def update_version(
    name: Annotated[str, typer.Argument(help="The artifact's name.")],
    version: Annotated[str, typer.Argument(help="The version, e.g. 3 or raw_2023.")],
    add: AddTagsOption = None,
    remove: RemoveTagsOption = None,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Add (-t) and remove (-r) tags of one artifact version, all at once or none."""
    with cli_errors():
        _need_tags(add, remove)
        client = make_client(url, token)
        updated = client.update_artifact_version(name, version, add_tags=add, remove_tags=remove)
    if as_json:
        print_json(_version_json(updated))
        return
    console().print(_tag_line(f"{updated.name}:{updated.version}", updated), markup=False)


def _need_tags(add: list[str] | None, remove: list[str] | None) -> None:
    if not add and not remove:
        raise InputError(
            "nothing to change: give a tag to add with -t TAG or to remove with -r TAG"
        )


def _tag_line(label: str, tagged: Artifact | ArtifactVersion) -> str:
    return f"{label} tags: {_tags(tagged.tags)}"


@app.command("verify")
def verify(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[NAME[:VERSION]]",
            help="Every version of NAME, one version NAME:VERSION, or a version id; "
            "unset: every version of every artifact.",
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Every version of every artifact (the default).")
    ] = False,
    size_only: Annotated[
        bool,
        typer.Option(
            "--size-only", help="Check that the data exists with its size, without reading it."
        ),
    ] = False,
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Check that each version's data exists and matches its recorded content hash and size.

    An fsck for the artifact store: versions whose data prune deleted are skipped and counted.
    Exits 1 when any data is missing or changed.
    """
    from sdk.artifacts.verify import VerifyLevel

    with cli_errors():
        if target is not None and all_:
            raise InputError("give NAME[:VERSION] or --all, not both")
        announce(url, as_json=as_json)
        client = make_client(url, token, reads=True)
        versions = _versions_to_verify(client, target)
        level = VerifyLevel.SIZE if size_only else VerifyLevel.FULL
        checks = [_check(version, level) for version in versions]
    counts = _verify_counts(checks)
    if as_json:
        print_json({**counts, "versions": [check.to_dict() for check in checks]})
    else:
        out = console()
        shown = [check for check in checks if check.status != "ok"]
        if shown:
            grid = table("artifact", "version", "status", "detail")
            for check in shown:
                add_row(grid, check.name, check.version, check.status, check.detail)
            out.print(grid)
        out.print(_verify_summary(counts, level), markup=False)
    if counts["missing"] or counts["changed"]:
        raise typer.Exit(1)


def _versions_to_verify(client: Client, target: str | None) -> list[ArtifactVersion]:
    import uuid

    from sdk.cli.lineage import parse_target

    if target is None:
        return client.list_artifact_versions()
    try:
        uuid.UUID(target)
    except ValueError:
        pass
    else:
        return [client.get_artifact_version(target)]
    name, version = parse_target(target)
    if version is not None:
        return [client.get_artifact_version(name, version)]
    client.get_artifact(name)  # NotFoundError with the name, rather than nothing to check
    return client.list_artifact_versions(name=name)


def _check(version: ArtifactVersion, level: str) -> VersionCheck:
    """`check_version`, with a file that cannot be read (permissions, I/O) counted as changed:
    its data cannot be the data recorded until it can be read again."""
    from sdk.artifacts.verify import VersionCheck, check_version

    try:
        return check_version(version, level)
    except OSError as exc:
        detail = f"its data could not be read ({type(exc).__name__}: {exc})"
        return VersionCheck(
            version.id, version.name, version.version, version.uri, "changed", detail
        )


def _verify_counts(checks: Sequence[VersionCheck]) -> dict[str, int]:
    statuses = [check.status for check in checks]
    counts = {
        status: statuses.count(status)
        for status in ("ok", "unverifiable", "missing", "changed", "skipped")
    }
    return {"checked": len(checks) - counts["skipped"], **counts}


def _verify_summary(counts: dict[str, int], level: str) -> str:
    how = "sizes" if level == "size" else "content hashes"
    parts = [f"{counts['ok']} ok", f"{counts['missing']} missing", f"{counts['changed']} changed"]
    if counts["unverifiable"]:
        parts.append(f"{counts['unverifiable']} unverifiable (no usable hash recorded)")
    skipped = counts["skipped"]
    tail = f"; {skipped} skipped (data deleted by prune)" if skipped else ""
    checked = counts["checked"]
    return f"checked {checked} version{'s' if checked != 1 else ''} ({how}): " + (
        ", ".join(parts) + tail
    )


@app.command("diff")
def diff(
    a: Annotated[
        str,
        typer.Argument(
            metavar="A", help="NAME:VERSION, NAME@ALIAS, NAME (its latest) or a version id."
        ),
    ],
    b: Annotated[str, typer.Argument(metavar="B", help="The version to compare A with, as A.")],
    as_json: JsonOption = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """What differs from version A to version B: content, metadata, DataFrame schema and row
    count, array shape and dtype, and the inputs of the step runs that produced them."""
    with cli_errors():
        announce(url, as_json=as_json)
        client = make_client(url, token, reads=True)
        found = client.diff(a, b)
    if as_json:
        print_json(found.to_dict())
        return
    for part in _diff_parts(found):
        console().print(part)


def _diff_parts(found: VersionDiff) -> list[Table | Text]:
    """The tables of `artifacts diff`, in order: overview, metadata, schema or shape,
    lineage; each present only when it has something to say."""
    from rich.text import Text

    a, b = f"{found.a.name}:{found.a.version}", f"{found.b.name}:{found.b.version}"
    verdict = {True: "equal", False: "different", None: "unknown (no hash recorded)"}
    parts: list[Table | Text] = [
        Text.assemble(
            (a, "bold"), " -> ", (b, "bold"), f"   content: {verdict[found.content.equal]}"
        )
    ]
    overview = table("", a, b)
    add_row(
        overview, "content hash", *(_short(h) for h in (found.content.hash_a, found.content.hash_b))
    )
    add_row(overview, "size", _size(found.content.size_bytes_a), _size(found.content.size_bytes_b))
    for label, change in (("data type", found.data_type), ("materializer", found.materializer)):
        if change is not None:
            add_row(overview, label, change.before, change.after)
    producers = (found.producer_a, found.producer_b)
    add_row(overview, "produced by", *(_producer(p) for p in producers))
    parts.append(overview)
    covered: set[str] = set()
    if found.data_frame is not None:
        covered |= {"dtypes", "rows", "columns"}
        parts += _frame_parts(found.data_frame)
    if found.array is not None:
        covered |= {"shape", "dtype"}
        parts.append(_array_table(found.array))
    changes = [c for c in found.metadata if c.key not in covered]
    if changes:
        grid = table("metadata", "change", a, b)
        for key in changes:
            add_row(grid, key.key, key.change.lower(), _value(key.before), _value(key.after))
        parts.append(grid)
    parts += _lineage_parts(found)
    if found.identical:
        parts.append(Text("No differences."))
    return parts


def _frame_parts(frame: DataFrameDiff) -> list[Table | Text]:
    from rich.text import Text

    rows = f"rows: {_number(frame.rows_before)} -> {_number(frame.rows_after)}"
    if frame.row_delta:
        rows += f" ({frame.row_delta:+,})"
    columns = f"columns: {frame.column_count_before} -> {frame.column_count_after}"
    parts: list[Table | Text] = [Text(f"{rows}; {columns}")]
    if frame.schema_equal:
        parts.append(Text("schema: same columns and dtypes"))
        return parts
    grid = table("column", "change", "dtype before", "dtype after")
    for column in frame.columns_added:
        add_row(grid, column.name, "added", "-", column.dtype)
    for column in frame.columns_removed:
        add_row(grid, column.name, "removed", column.dtype, "-")
    for change in frame.dtype_changes:
        add_row(grid, change.name, "dtype changed", change.before, change.after)
    parts.append(grid)
    return parts


def _array_table(array: ArrayDiff) -> Table:
    def shape(value: tuple[int, ...] | None) -> str:
        return "-" if value is None else " x ".join(str(n) for n in value) or "scalar"

    grid = table("array", "before", "after", "change")
    add_row(
        grid,
        "shape",
        shape(array.shape_before),
        shape(array.shape_after),
        _flag(array.shape_changed),
    )
    add_row(
        grid,
        "dtype",
        array.dtype_before or "-",
        array.dtype_after or "-",
        _flag(array.dtype_changed),
    )
    add_row(
        grid,
        "elements",
        _number(array.size_before),
        _number(array.size_after),
        _flag(array.size_before != array.size_after),
    )
    for statistic in array.statistics:
        add_row(
            grid,
            statistic.name,
            _statistic(statistic.before),
            _statistic(statistic.after),
            _statistic_change(statistic.change),
        )
    return grid


def _statistic(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _statistic_change(change: float | None) -> str:
    """Blank when equal, as the other rows' change column; `-` when a side has none."""
    if change is None:
        return "-"
    return "" if change == 0 else f"{change:+.6g}"


def _lineage_parts(found: VersionDiff) -> list[Table | Text]:
    from rich.text import Text

    lineage = found.lineage
    parts: list[Table | Text] = []
    if lineage.same_producer:
        parts.append(Text("lineage: one step run produced both"))
        return parts
    if lineage.inputs:
        grid = table("input", "change", "a's producer took", "b's producer took")
        for change in lineage.inputs:
            add_row(
                grid,
                change.name,
                change.change.lower(),
                str(change.before or "-"),
                str(change.after or "-"),
            )
        parts.append(grid)
    if lineage.parameters:
        grid = table("parameter", "change", "before", "after")
        for key in lineage.parameters:
            add_row(grid, key.key, key.change.lower(), _value(key.before), _value(key.after))
        parts.append(grid)
    notes = []
    if lineage.unchanged_inputs:
        notes.append("unchanged inputs: " + ", ".join(lineage.unchanged_inputs))
    elif not lineage.inputs and (found.producer_a or found.producer_b):
        notes.append("inputs: none differ")
    if lineage.code_changed:
        notes.append("the step's code changed")
    parts += [Text(note) for note in notes]
    return parts


def _short(content_hash: str | None) -> str:
    return "-" if content_hash is None else content_hash[:16]


def _producer(producer: ProducerRef | None) -> str:
    return "- (saved)" if producer is None else f"{producer.name} ({producer.run_name})"


def _number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _flag(changed: bool) -> str:
    return "changed" if changed else ""


def _value(value: object, width: int = 60) -> str:
    """A JSON value on one line, cut at `width` characters."""
    import json

    text = json.dumps(value, default=str) if value is not None else "-"
    return text if len(text) <= width else text[: width - 1] + "…"
