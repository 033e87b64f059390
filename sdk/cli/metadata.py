"""`--where`, `--sort` and `--desc`: filtering and ordering lists by logged metadata."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from sdk.errors import InputError

WhereOption = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        "-w",
        help="A condition on logged metadata, KEY OP VALUE with OP one of > >= < <= = != ~ "
        "(contains), e.g. 'accuracy>0.9' or 'stage=prod' (repeatable: all must hold).",
    ),
]
SortOption = Annotated[
    str | None,
    typer.Option(
        "--sort",
        help="Order by the value of a logged metadata key (metadata:KEY or KEY); only rows "
        "that have it are listed.",
    ),
]
DescOption = Annotated[bool, typer.Option("--desc", help="With --sort: largest first.")]

# Longest operators first, so that `>=` is not read as `>` followed by `=...`.
_WHERE = re.compile(r"^\s*(?P<key>[^<>=!~]+?)\s*(?P<op>>=|<=|!=|=|>|<|~)\s*(?P<value>.*)$", re.S)
_SYNTAX = {
    ">": "gt",
    ">=": "gte",
    "<": "lt",
    "<=": "lte",
    "=": "equals",
    "!=": "notequals",
    "~": "contains",
}


def where_filters(conditions: list[str] | None) -> list[tuple[str, Any]] | None:
    """(key, ZenML filter) pairs of `--where` conditions: `accuracy>0.9` -> ("accuracy",
    "gt:0.9"). A value is JSON when it parses as JSON (`0.9`, `true`, `"1"`), else text."""
    if not conditions:
        return None
    pairs = []
    for text in conditions:
        found = _WHERE.match(text)
        if found is None:
            raise InputError(
                f"--where {text!r}: write KEY OP VALUE with OP one of "
                f"{' '.join(_SYNTAX)}, e.g. 'accuracy>0.9'"
            )
        pairs.append((found["key"], f"{_SYNTAX[found['op']]}:{found['value']}"))
    return pairs


def sort_by(key: str | None, desc: bool) -> str | None:
    """The SDK's `sort_by` for `--sort KEY [--desc]`."""
    if key is None:
        if desc:
            raise InputError("--desc goes with --sort KEY")
        return None
    name = key.removeprefix("metadata:")
    return f"{'desc:' if desc else ''}metadata:{name}"
