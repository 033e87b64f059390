"""What users declare about artifacts: `ArtifactConfig` for outputs, `ExternalArtifact` inputs.

Pure data with validation; no I/O. Names, versions and tags are checked by `api.rules`, the rules
the API applies too. Versions are held as strings; a custom version may be any allowed text,
digits included (`1` means "1"), and automatic versions continue after the highest number.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, TypeVar

from api import rules
from api.rules import RuleError
from sdk.errors import InputError

MAX_NAME_LENGTH: Final = rules.MAX_TEXT
_T = TypeVar("_T")


class ArtifactType(StrEnum):
    """What a version holds, with ZenML's values (`ArtifactType.MODEL == "ModelArtifact"`);
    stored by name (MODEL). `artifact_type=` also takes a name or a value as text."""

    DATA = "DataArtifact"
    MODEL = "ModelArtifact"
    DATA_ANALYSIS = "DataAnalysisArtifact"
    SCHEMA = "SchemaArtifact"
    SERVICE = "ServiceArtifact"
    STATISTICS = "StatisticsArtifact"
    BASE = "BaseArtifact"


def artifact_type_name(value: object, *, is_model_artifact: bool = False) -> str | None:
    """The stored name (DATA, MODEL, ...) of `artifact_type` (None: unset, or MODEL when
    `is_model_artifact`), or InputError listing the types."""
    if value is None:
        return ArtifactType.MODEL.name if is_model_artifact else None
    for member in ArtifactType:
        if (
            value is member
            or value in (member.name, member.value)
            or (isinstance(value, str) and value.upper() == member.name)
        ):
            if is_model_artifact and member is not ArtifactType.MODEL:
                raise InputError(
                    f"is_model_artifact=True with artifact_type={value!r}: give one of them"
                )
            return member.name
    raise InputError(
        f"artifact_type {value!r} is not one of "
        + ", ".join(f"{m.name} ({m.value})" for m in ArtifactType)
    )


class _NoValue:
    """Marks `ExternalArtifact.value` as not given (None is a legitimate value)."""

    def __repr__(self) -> str:
        return "<no value>"


_NO_VALUE: Final = _NoValue()


def checked(check: Callable[..., _T], *args: object) -> _T:
    """Apply a rule of `api.rules`; a refused value raises InputError with the rule's message."""
    try:
        return check(*args)
    except RuleError as exc:
        raise InputError(str(exc)) from None


def check_text(text: object, what: str) -> str:
    """Return `text` if it is a usable name, version or tag, else raise InputError.

    Usable: a non-empty str of at most 255 characters, without surrounding whitespace and
    without control characters (newlines, tabs, NUL …); spaces inside are fine.
    """
    return checked(rules.check_text, text, what)


def _custom_version(version: object) -> str | None:
    """Validate a custom version for a new artifact version: any allowed text, digits included;
    an int means its decimal text (`1` is "1")."""
    return checked(rules.check_version, version)


def _lookup_version(version: object) -> str | None:
    """Validate a version used to find an existing artifact version: any text or number."""
    return checked(rules.lookup_version, version)


def _tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Validate tags (free text such as "computer vision") and drop repeats, keeping their
    first-seen order."""
    if isinstance(tags, str | bytes):
        raise InputError(f"tags must be a list of strings, not one string: write tags=[{tags!r}].")
    return checked(rules.check_tags, tags)


@dataclass(frozen=True, init=False)
class ArtifactConfig:
    """How a step output is stored: `Annotated[T, ArtifactConfig(name=..., version=..., tags=...)]`.

    Args:
        name: artifact name; may hold placeholders `{date}`, `{time}` and custom ones filled from
            `with_options(substitutions={...})`. None: the default `{pipeline}::{step}::{output}`.
        version: a custom version such as "raw_2023" or "1" (held as str; an int `1` means
            "1"). None: the next automatic version, one more than the highest numeric version
            (`"007"` is text, not a number).
        tags: tags given to the new version (free text, spaces allowed); any iterable of
            strings, held as a tuple.
        run_metadata: metadata logged on each new version (see `log_metadata`): JSON values
            or `Uri`, `Path`, `DType`, `StorageSize`.
        artifact_type: what the output holds (`ArtifactType.MODEL`, "ModelArtifact" or
            "MODEL"); unset: DATA.
        is_model_artifact: True marks the output a MODEL (as ZenML's argument).
    """

    name: str | None
    version: str | None
    tags: tuple[str, ...]
    run_metadata: dict[str, Any] = field(hash=False)  # a dict: left out of the hash
    artifact_type: str | None  # the stored name (DATA, MODEL, ...); None: DATA

    def __init__(
        self,
        name: str | None = None,
        version: str | int | None = None,
        tags: Iterable[str] = (),
        run_metadata: Mapping[str, Any] | None = None,
        artifact_type: ArtifactType | str | None = None,
        is_model_artifact: bool = False,
    ) -> None:
        from sdk.metadata import entries

        if name is not None:
            checked(rules.check_name_template, name, "ArtifactConfig name")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "version", _custom_version(version))
        object.__setattr__(self, "tags", _tags(tags))
        entries(run_metadata or {})  # refuse what is not JSON when the step is declared
        object.__setattr__(self, "run_metadata", dict(run_metadata or {}))
        kind = artifact_type_name(artifact_type, is_model_artifact=is_model_artifact)
        object.__setattr__(self, "artifact_type", kind)


@dataclass(frozen=True, init=False, eq=False)
class ExternalArtifact:
    """A step input that does not come from another step of the pipeline.

    Give exactly one of: `id` (an existing artifact version), `name` (its latest version,
    `version` of it, or the version `alias` points at when the run starts), or `value` (data
    saved as a new artifact when the pipeline runs, with `materializer` if given). A step fed
    an ExternalArtifact never uses the cache.
    `id` is a `uuid.UUID` or its string.
    For a value, `store_artifact_visualizations=False` saves it without visualizations and
    `store_artifact_metadata=False` without metadata (as ZenML's docs write them).
    Compared by identity, because `value` may be an array or frame without a truthy `==`.
    """

    id: str | None
    name: str | None
    version: str | None
    alias: str | None
    value: Any
    materializer: type | None
    store_artifact_metadata: bool
    store_artifact_visualizations: bool

    def __init__(
        self,
        *,
        id: str | uuid.UUID | None = None,
        name: str | None = None,
        version: str | int | None = None,
        value: Any = _NO_VALUE,
        materializer: type | None = None,
        alias: str | None = None,
        store_artifact_metadata: bool = True,
        store_artifact_visualizations: bool = True,
    ) -> None:
        _check_external_choice(id=id, name=name, version=version, value=value)
        if materializer is not None and (value is _NO_VALUE or not isinstance(materializer, type)):
            raise InputError(
                "ExternalArtifact(materializer=...) needs value=... and a materializer class "
                f"(got {materializer!r}); artifacts looked up by id or name keep the "
                "materializer they were saved with."
            )
        if isinstance(id, uuid.UUID):
            id = str(id)
        object.__setattr__(self, "id", None if id is None else check_text(id, "id"))
        object.__setattr__(self, "name", None if name is None else check_text(name, "name"))
        object.__setattr__(self, "version", _lookup_version(version))
        if alias is not None and (name is None or version is not None):
            raise InputError(
                "ExternalArtifact(alias=...) goes with name=... alone: write "
                "ExternalArtifact(name='my_model', alias='production')."
            )
        object.__setattr__(self, "alias", None if alias is None else check_text(alias, "alias"))
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "materializer", materializer)
        object.__setattr__(self, "store_artifact_metadata", bool(store_artifact_metadata))
        object.__setattr__(
            self, "store_artifact_visualizations", bool(store_artifact_visualizations)
        )

    @property
    def has_value(self) -> bool:
        """True when built from `value=...` (which may be None) rather than found by id or name."""
        return self.value is not _NO_VALUE


def _check_external_choice(*, id: object, name: object, version: object, value: object) -> None:
    """Refuse ExternalArtifact arguments that do not pick exactly one source."""
    choices = {"id": id is not None, "name": name is not None, "value": value is not _NO_VALUE}
    given = [key for key, present in choices.items() if present]
    if len(given) != 1:
        found = ", ".join(given) if given else "none of them"
        raise InputError(
            "ExternalArtifact takes exactly one of id=..., name=... (optionally with "
            f"version=...) or value=...; got {found}."
        )
    if version is not None and given != ["name"]:
        raise InputError(
            "ExternalArtifact(version=...) only works with name=...: "
            "write ExternalArtifact(name='my_data', version='raw_2023')."
        )
