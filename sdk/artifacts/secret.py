"""The store secret: the key of the HMAC-SHA256 signatures on pickled artifacts.

Read from LINEAGEQL_STORE_SECRET, else from the file LINEAGEQL_STORE_SECRET_FILE, else from
`{LINEAGEQL_HOME}/store.secret`, which is created (mode 0600, 256 random bits) on first use.
Every SDK client of one deployment must use the same secret to load each other's pickles.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path

from sdk.errors import LineageQLError

SECRET_VARIABLE = "LINEAGEQL_STORE_SECRET"
SECRET_FILE_VARIABLE = "LINEAGEQL_STORE_SECRET_FILE"
SECRET_FILE_NAME = "store.secret"
MIN_SECRET_LENGTH = 32
HOW_TO_MAKE = 'python -c "import secrets; print(secrets.token_hex(32))"'


class StoreSecretError(LineageQLError):
    """The store secret is configured but unusable (too short, unreadable file)."""


def store_secret(env: Mapping[str, str] | None = None) -> bytes:
    """The key for signing and verifying pickled artifacts (see the module docstring)."""
    env = os.environ if env is None else env
    configured = env.get(SECRET_VARIABLE)
    if configured:
        return _checked(configured.strip(), SECRET_VARIABLE)
    secret_file = env.get(SECRET_FILE_VARIABLE)
    if secret_file:
        try:
            text = Path(secret_file).expanduser().read_text().strip()
        except OSError as exc:
            raise StoreSecretError(
                f"cannot read {SECRET_FILE_VARIABLE}={secret_file!r} ({exc.strerror}); point it "
                "at the deployment's store secret file, or unset it"
            ) from None
        return _checked(text, f"the file {secret_file} ({SECRET_FILE_VARIABLE})")
    home = Path(env.get("LINEAGEQL_HOME") or ".lineageql").expanduser().absolute()
    return _checked(_home_secret(home / SECRET_FILE_NAME), str(home / SECRET_FILE_NAME))


def key_id(secret: bytes) -> str:
    """A short public fingerprint of a secret, recorded next to signatures so that a refusal
    can tell "signed with another secret" from "changed after signing"."""
    return hashlib.sha256(b"lineageql store secret id\0" + secret).hexdigest()[:16]


def _home_secret(path: Path) -> str:
    """The secret in `path`, created there first when missing: written 0600 to a temporary
    file, then linked into place, so no reader ever sees a half-written secret."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".store-secret-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use theirs
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_text().strip()


def _checked(value: str, source: str) -> bytes:
    if len(value) < MIN_SECRET_LENGTH:
        raise StoreSecretError(
            f"the store secret from {source} has {len(value)} characters; it needs at least "
            f"{MIN_SECRET_LENGTH}. Make one with `{HOW_TO_MAKE}` and share it with every "
            "client of the store."
        )
    return value.encode()
