"""Stored JSON is read by orjson where that answers what `json.loads` answers
(api.storage.base.load_json), and by the standard library everywhere else: the same values on
both databases."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from api.storage.base import load_json
from tests.api.client import Api

DOCUMENTS = [
    "{}",
    "[]",
    "null",
    '{"a": 1, "b": [1.5, -0.0, 1e-7, 1.7976931348623157e308], "c": {"d": null}}',
    '{"big": 123456789012345678901234567890, "negative": -98765432109876543210}',
    '{"edge": 9223372036854775807, "past": 9223372036854775808, "neg": -9223372036854775809}',
    '{"hash": "1234567890123456789012345"}',  # digits in a string: read the slow way, same value
    '{"nan": NaN, "inf": Infinity, "ninf": -Infinity}',
    '{"huge": 1e400}',
    '"\\ud800"',  # a lone surrogate
    '"na\\u00efve \\u2713 \\ud83d\\ude00"',
    '{"a": 1, "a": 2}',  # the last wins
    "[[[[[[[[[[1]]]]]]]]]]",
    '{"f": 0.1, "g": 0.30000000000000004, "h": 5e-324}',
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_load_json_answers_what_the_standard_library_answers(document: str) -> None:
    expected = json.loads(document)
    assert _same(load_json(document), expected)
    assert _same(load_json(document.encode("utf-8", "surrogatepass")), expected)


def test_load_json_on_random_documents() -> None:
    generator = random.Random(7)

    def value(depth: int) -> Any:
        kind = generator.randrange(7 if depth < 4 else 4)
        if kind == 0:
            return generator.randrange(-(2**80), 2**80) >> generator.randrange(80)
        if kind == 1:
            return generator.uniform(-1e6, 1e6) * 10 ** generator.randrange(-300, 300)
        if kind == 2:
            return "".join(chr(generator.randrange(32, 0x2FFF)) for _ in range(5))
        if kind == 3:
            return generator.choice([None, True, False])
        if kind == 4:
            return [value(depth + 1) for _ in range(generator.randrange(4))]
        return {f"k{i}": value(depth + 1) for i in range(generator.randrange(4))}

    for _ in range(2_000):
        document = json.dumps(value(0))
        assert _same(load_json(document), json.loads(document)), document


def test_metadata_past_64_bits_reads_back_exactly(gql: Api) -> None:
    metadata = {"big": 2**70, "edge": 2**63, "float": 0.1, "text": "naïve ✓", "list": [1, None]}
    version = gql.create_version("exact", metadata=metadata)
    found = gql.data("query ($id: ID!) { artifactVersion(id: $id) { metadata } }", id=version)
    assert _same(found["artifactVersion"]["metadata"], metadata)
