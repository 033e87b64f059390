"""The forms of an OpenLineage dataset's namespace and name, as the spec's naming conventions
give them (https://openlineage.io/docs/spec/naming): namespace and name together form a URI
`scheme:[//authority]path`, the namespace being `scheme:[//authority]` (the datasource) and the
name the path.

Checked as leniently as the spec is: a namespace is a URI scheme (RFC 3986: a letter, then
letters, digits, `+`, `-` or `.`), optionally followed by `:` and the rest of the URI's
datasource part, without whitespace: `s3://bucket`, `postgres://host:5432`,
`abfss://container@account.dfs.core.windows.net`, `arn:aws:glue:eu-west-1:123456789012` and a
scheme alone (`bigquery`, `file`, `dbfs`) all pass; `s3://` with no authority after it does
not (but `file://`, the local file system's, does). A name is any text without control
characters (paths may hold spaces). What producers put in the authority and path (hosts,
buckets, table names) is theirs to choose."""

from __future__ import annotations

import re

from api.errors import BadRequest

SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
NAMESPACE_RULE = (
    "an OpenLineage dataset namespace is scheme:[//authority] (s3://bucket, "
    "postgres://host:5432, bigquery, file): a URI scheme (a letter, then letters, digits, "
    "'+', '-' or '.'), then optionally ':' and the datasource, with no whitespace"
)
NAME_RULE = (
    "an OpenLineage dataset name is the path of the dataset in its namespace "
    "(raw/orders, db.schema.table): not empty, no control characters"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def namespace_problem(namespace: str) -> str | None:
    """Why `namespace` is not of the spec's form, or None."""
    if not namespace:
        return "it is empty"
    if any(c.isspace() for c in namespace) or _CONTROL.search(namespace):
        return "it holds whitespace or control characters"
    scheme, colon, rest = namespace.partition(":")
    if SCHEME.fullmatch(scheme) is None:
        return f"it does not start with a URI scheme ({scheme!r} is none)"
    if colon and rest.startswith("//") and len(rest) == 2 and scheme.lower() != "file":
        return "'//' is followed by no authority"
    return None


def check_dataset(namespace: str, name: str, where: str, index: int) -> None:
    """BadRequest naming the dataset (`inputs[0]`, its namespace and name) and the rule it
    breaks, when its namespace or name is not of the spec's form."""
    dataset = f"event {index}: {where} (namespace {namespace!r}, name {name!r})"
    problem = namespace_problem(namespace)
    if problem is not None:
        raise BadRequest(f"{dataset}: {problem}; {NAMESPACE_RULE}", field=f"{where}.namespace")
    if not name.strip() or _CONTROL.search(name):
        raise BadRequest(f"{dataset}: {NAME_RULE}", field=f"{where}.name")
