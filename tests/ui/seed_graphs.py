"""Seeds the stores of the explorer's large-graph tests through the SDK.

- `chain_pipeline`: `chain_seed` then 20 `extend` steps, each consuming the previous version of
  the artifact `chain` and saving the next (`chain:1` ... `chain:21`, floats): a 42-node line.
- `fan_pipeline`: `fan_seed` saves `fan_root`, then 249 `leaf` steps each consume it and save
  a version of `fan_leaf`: downstream of `fan_root`, 499 nodes (plus a Markdown note).

    LINEAGEQL_HOME=... python -m tests.ui.seed_graphs
"""

from __future__ import annotations

from typing import Annotated

from sdk import pipeline, step

CHAIN = 20
FAN = 249


@step
def chain_seed() -> Annotated[float, "chain"]:
    return 0.5


@step
def extend(value: float) -> Annotated[float, "chain"]:
    return value + 1.25


@pipeline
def chain_pipeline() -> None:
    value = chain_seed()
    for _ in range(CHAIN):
        value = extend(value)


@step
def fan_seed() -> Annotated[str, "fan_root"]:
    return (
        "# Fan root\n\nThe **root** of a wide graph:\n\n- one\n- two\n\n<script>alert(1)</script>"
    )


@step
def leaf(root: str, index: int) -> Annotated[int, "fan_leaf"]:
    return len(root) + index  # a parameter of its own: no leaf is a cache hit of another


@pipeline
def fan_pipeline() -> None:
    root = fan_seed()
    for index in range(FAN):
        leaf(root, index=index)


if __name__ == "__main__":
    chain_pipeline()
    fan_pipeline()
