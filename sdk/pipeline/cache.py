"""Cache keys. A step's key is made of: its code normalised through the AST (comments,
docstrings, blank lines and decorators do not count; any change of logic does), the code of the
materializers involved, its parameters as canonical JSON, the content hashes of its inputs, its
output configuration, and this module's format version. The parts are sent with the key, so the
API can say which one changed when the cache misses."""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sdk.types import JsonObject

if TYPE_CHECKING:
    from sdk.client.views import ArtifactVersion
    from sdk.pipeline.steps import Step

CACHE_FORMAT = "1"

_code_digests: dict[Any, str] = {}


def _digest(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class _StripDocs(ast.NodeTransformer):
    """Drop docstrings, decorators and return annotations: they document or configure (the
    outputs are keyed on their own), they do not compute."""

    def _strip(self, node: Any) -> Any:
        self.generic_visit(node)
        body = node.body
        first = body[0].value if body and isinstance(body[0], ast.Expr) else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            node.body = body[1:] or [ast.Pass()]
        if hasattr(node, "decorator_list"):
            node.decorator_list = []
        if hasattr(node, "returns"):
            node.returns = None
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _strip  # noqa: N815


def code_digest(obj: Any) -> str:
    """Digest of a function's or class's logic; the bytecode when no source is available."""
    cached = _code_digests.get(obj)
    if cached is not None:
        return cached
    try:
        source = textwrap.dedent(inspect.getsource(obj))
        tree = _StripDocs().visit(ast.parse(source))
        digest = _digest(ast.dump(tree, annotate_fields=False, include_attributes=False))
    except (OSError, TypeError, SyntaxError):
        code = getattr(obj, "__code__", None)
        digest = _digest(code.co_code if code is not None else repr(obj))
    _code_digests[obj] = digest
    return digest


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def components(
    step: Step, artifacts: Mapping[str, ArtifactVersion], parameters: Mapping[str, Any]
) -> JsonObject | None:
    """The parts of the cache key, or None when an input has no content hash to key on."""
    if any(version.content_hash is None for version in artifacts.values()):
        return None
    materializers = sorted(
        {version.materializer for version in artifacts.values()} | _output_materializers(step)
    )
    return {
        "format": CACHE_FORMAT,
        "code": code_digest(step.func),
        "materializers": _digest(_canonical([_materializer_digest(m) for m in materializers])),
        "parameters": {name: _digest(_canonical(v)) for name, v in parameters.items()},
        "inputs": {name: version.content_hash for name, version in artifacts.items()},
        "outputs": _digest(_canonical(_output_config(step))),
    }


def cache_key(parts: Mapping[str, Any]) -> str:
    return _digest(_canonical(parts))


def _output_config(step: Step) -> list[Any]:
    return [
        [
            spec.key,
            spec.name_template,
            None if spec.config is None else spec.config.version,
            _materializer_path(step, spec.key),
        ]
        for spec in step.outputs
    ]


def _materializer_path(step: Step, key: str) -> str | None:
    option = step.options.output_materializers
    chosen = option.get(key) if isinstance(option, Mapping) else option
    return None if chosen is None else f"{chosen.__module__}:{chosen.__qualname__}"


def _output_materializers(step: Step) -> set[str]:
    """Materializers the outputs will be written with, as far as the step declares them."""
    from sdk.materializers import materializer_for

    paths: set[str] = set()
    for spec in step.outputs:
        explicit = _materializer_path(step, spec.key)
        if explicit is not None:
            paths.add(explicit)
        elif isinstance(spec.annotation, type):
            cls = materializer_for(spec.annotation)
            paths.add(f"{cls.__module__}:{cls.__qualname__}")
    return paths


def _materializer_digest(path: str) -> str:
    from sdk.materializers import MaterializerError, import_materializer

    try:
        return code_digest(import_materializer(path))
    except (MaterializerError, ImportError, AttributeError):
        return _digest(path)
