"""The rules for artifact names, versions, tags and name placeholders, written once.

Both the SDK and the API check values with these functions, so a value refused by one is refused
by the other, with the same message. Standard library only: `import sdk` loads this module and
must stay light. A refused value raises `RuleError` (a ValueError); the API reports it as
BAD_USER_INPUT, the SDK raises it as InputError.

- Text (names, versions, tags): a str of 1 to 255 characters, without leading or trailing
  whitespace and without control characters (C0, DEL, C1). Spaces inside, punctuation and any
  other Unicode are allowed: `computer vision` is a tag, `iris dataset (raw)` a name.
- Custom versions: such text, digits included, or an int (`1` means "1"). A version that is a
  canonical numeral, `"1"`, `"2"`, … (ASCII digits, no leading zero; `"0"` counts too), is a
  number: the next automatic version is one more than the highest number an artifact has,
  whoever chose it. `"007"` or `"v3"` are plain text and never collide with automatic ones.
- Name templates: placeholders are plain `{name}` fields, literal braces doubled.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import Final

MAX_TEXT: Final = 255
"""The longest name, version or tag, in characters."""
MAX_VERSION_NUMBER: Final = 2**31 - 1
"""The largest numeric version (the counter of automatic versions is a 32-bit integer)."""
_NUMERAL: Final = re.compile(r"0|[1-9][0-9]*", re.ASCII)


class RuleError(ValueError):
    """A name, version or tag the rules refuse; the message says which and why."""


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 32 or 127 <= code < 160


def check_text(text: object, what: str) -> str:
    """`text` if it is a usable name, version or tag (see the module docstring), else RuleError.

    `what` names the value in the message, e.g. "tag" or "artifact name"."""
    if not isinstance(text, str):
        raise RuleError(f"{what} must be a string, got {type(text).__name__} {text!r}.")
    if not text:
        raise RuleError(f"{what} must not be empty.")
    if len(text) > MAX_TEXT:
        raise RuleError(
            f"{what} is {len(text)} characters long; the limit is {MAX_TEXT}: "
            f"shorten {text[:40]!r}…"
        )
    if text != text.strip():
        raise RuleError(f"{what} {text!r} has leading or trailing whitespace; strip it.")
    if any(_is_control(char) for char in text):
        raise RuleError(f"{what} {text!r} contains a control character (newline, tab …).")
    return text


def check_name(name: object, what: str = "artifact name") -> str:
    """An artifact (or pipeline, or run) name."""
    return check_text(name, what)


def check_tag(tag: object, what: str = "tag") -> str:
    """One tag: free text, spaces allowed (`computer vision`)."""
    return check_text(tag, what)


def check_tags(tags: object, what: str = "tags") -> tuple[str, ...]:
    """Tags checked one by one, repeats dropped, first-seen order kept; one str is refused."""
    if isinstance(tags, str | bytes):
        raise RuleError(f"{what} must be a list of strings, not one string: write [{tags!r}].")
    if not isinstance(tags, Iterable):
        raise RuleError(f"{what} must be a list of strings, got {type(tags).__name__}.")
    return tuple(dict.fromkeys(check_tag(tag) for tag in tags))


LATEST_ALIAS = "latest"  # built in: always the most recently created version


def check_alias(alias: object, what: str = "alias") -> str:
    """An alias (`production`, `staging`): text without `@` (it separates `name@alias`),
    not the built-in `latest`."""
    text = check_text(alias, what)
    if "@" in text:
        raise RuleError(f"{what} {text!r} contains '@', which separates name@alias; drop it.")
    if text == LATEST_ALIAS:
        raise RuleError(
            f"{what} {text!r} is built in (the most recent version) and cannot be set or "
            "removed; choose another name such as 'production'."
        )
    return text


def version_number(version: str) -> int | None:
    """The number a version stands for when it is a canonical numeral ("1", "42"), else None
    ("007", "v3", "raw_2023", "١" are text)."""
    return int(version) if _NUMERAL.fullmatch(version) else None


def check_version(version: object, what: str = "version") -> str | None:
    """A custom version for a new artifact version: None (the next automatic one), text, or an
    int (`1` means "1"). A numeric version above MAX_VERSION_NUMBER is refused."""
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, str | int):
        raise RuleError(
            f"{what} must be a string such as 'raw_2023' or a number such as 1, got "
            f"{type(version).__name__} {version!r}."
        )
    if isinstance(version, int) and version < 0:
        raise RuleError(f"{what} {version!r} is negative; version numbers start at 1.")
    text = check_text(str(version), what)
    number = version_number(text)
    if number is not None and number > MAX_VERSION_NUMBER:
        raise RuleError(
            f"{what} {text!r} is a number above {MAX_VERSION_NUMBER}, the largest version "
            "number; use a smaller one or a text such as 'v' + the number."
        )
    return text


def lookup_version(version: object, what: str = "version") -> str | None:
    """A version used to find an existing artifact version: None (the latest), text or an int."""
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, str | int):
        raise RuleError(
            f"{what} must be a string or an int, got {type(version).__name__} {version!r}."
        )
    return check_text(str(version), what)


def name_template_fields(template: str) -> list[tuple[str, str | None]]:
    """(literal text, placeholder or None) pairs of an artifact name template.

    Refused: a malformed template (a single `{` or `}`), and placeholders other than a plain
    `{name}` (attribute access, indexing, positional `{}`, conversions, format specs)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise RuleError(
            f"Artifact name {template!r} is not a valid template ({error}). Write placeholders "
            "as {date} and literal braces doubled, as {{ and }}."
        ) from error
    pairs: list[tuple[str, str | None]] = []
    for literal, field, spec, conversion in parsed:
        if field is not None and (not field.isidentifier() or spec or conversion):
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise RuleError(
                f"Placeholder {{{shown}}} in artifact name {template!r} is not allowed: "
                "placeholders are plain names such as {date}, {time} or {model}, without "
                "attribute access, indexing, conversions or format specs."
            )
        pairs.append((literal, field))
    return pairs


def check_name_template(template: object, what: str = "artifact name") -> str:
    """An artifact name that may hold placeholders: valid text with valid placeholders."""
    text = check_text(template, what)
    name_template_fields(text)
    return text
