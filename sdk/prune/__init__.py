"""Deleting artifact versions and their data: plan (`plan.py`), execute (`execute.py`),
sweep orphans (`orphans.py`).

A version is *unused* when no step run produced or consumed it (saved, registered or external
data nobody ran on). Versions a run references are never touched. Prune runs where the SDK
runs, because the SDK reaches the artifact store (the API only holds metadata); it works the
same embedded and against a server. `Client().prune(...)` and
`Client().delete_artifact_version(version)` are the entry points."""

from sdk.prune.execute import PruneResult, delete_artifact_version, execute_prune, prune_artifacts
from sdk.prune.plan import DEFAULT_ORPHAN_GRACE, Candidate, PrunePlan, plan_prune

__all__ = [
    "DEFAULT_ORPHAN_GRACE",
    "Candidate",
    "PrunePlan",
    "PruneResult",
    "delete_artifact_version",
    "execute_prune",
    "plan_prune",
    "prune_artifacts",
]
