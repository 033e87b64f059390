"""The fallback: cloudpickle, signed, with the versions it needs recorded next to the data.

Loading a pickle runs code, and a pickle only loads on the Python it was written with. So
`save` writes `versions.json`: the Python and cloudpickle versions, and an HMAC-SHA256 over
them and `data.pkl`, keyed by the store secret (`sdk.artifacts.secret`). `load` reads the
bytes, checks the signature, then the Python major.minor, and only then unpickles; any failure
is refused with UntrustedArtifactError unless the caller passed `allow_untrusted=True`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle
import platform
import sys
import warnings
from typing import Any, ClassVar

import cloudpickle

from sdk.artifacts.secret import key_id, store_secret
from sdk.materializers.base import (
    BaseMaterializer,
    HashingWriter,
    MaterializerError,
    PickleFallbackWarning,
    UntrustedArtifactError,
    type_path,
    untrusted_allowed,
)
from sdk.types import JsonObject

_DATA = "data.pkl"
_VERSIONS = "versions.json"
ALGORITHM = "hmac-sha256"
FORMAT = 1
_DOMAIN = b"lineageql signed pickle\0"
_ESCAPE = (
    "If you trust where it came from, load it with `.load(allow_untrusted=True)` (or "
    "`load_artifact(..., allow_untrusted=True)`)"
)


class _SigningWriter:
    """A write-only file that feeds every byte to an HMAC on its way to `raw`."""

    def __init__(self, raw: HashingWriter, mac: hmac.HMAC) -> None:
        self._raw = raw
        self._mac = mac

    def write(self, data: Any) -> int:
        self._mac.update(data)
        return self._raw.write(data)


class PickleMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (object,)

    def save(self, data: Any) -> None:
        warnings.warn(
            f"Storing a {type_path(type(data))} with cloudpickle: no materializer stores it "
            f"exactly, and it will only load on Python {_python_minor()}. Register a custom "
            "materializer with sdk.materializers.register(...) to store it portably.",
            PickleFallbackWarning,
            stacklevel=2,
        )
        secret = store_secret()
        header = {
            "format": FORMAT,
            "python": platform.python_version(),
            "cloudpickle": cloudpickle.__version__,
            "algorithm": ALGORITHM,
            "key_id": key_id(secret),
        }
        mac = _new_mac(secret, header)
        with self.open(_DATA, "wb") as f:
            try:
                cloudpickle.dump(data, _SigningWriter(f, mac))
            except (pickle.PicklingError, TypeError, RecursionError) as exc:
                # What pickling itself raises ("cannot pickle '_thread.lock' object" is a
                # TypeError); the store's OSError and other errors pass unchanged.
                raise MaterializerError(
                    f"Cannot save a {type_path(type(data))}: cloudpickle failed on it "
                    f"({type(exc).__name__}: {exc}). Register a materializer for this type "
                    "with sdk.materializers.register(...), or make the value picklable."
                ) from exc
        versions = {**header, "signature": mac.hexdigest()}
        with self.open(_VERSIONS, "wb") as f:
            f.write(json.dumps(versions, indent=2).encode())

    def load(self, data_type: type[Any]) -> Any:
        header = self._header()
        with self.open(_DATA, "rb") as f:
            payload = f.read()  # verified and unpickled from memory: no second read to swap
        if not untrusted_allowed():
            self._verify(header, payload)
            self._check_python(header)
        return cloudpickle.loads(payload)

    def _header(self) -> JsonObject:
        if not self.exists(_VERSIONS):
            if untrusted_allowed():
                return {}
            raise UntrustedArtifactError(
                f"The pickled artifact at {self.uri} has no {_VERSIONS}: it is not signed and "
                "the Python that wrote it is unknown, so it is not unpickled (unpickling runs "
                f"any code the file holds). {_ESCAPE}."
            )
        with self.open(_VERSIONS, "rb") as f:
            raw = f.read()
        try:
            header = json.loads(raw)
        except ValueError:
            header = None
        if isinstance(header, dict):
            return header
        if untrusted_allowed():
            return {}
        raise UntrustedArtifactError(
            f"{_VERSIONS} of the pickled artifact at {self.uri} is not a JSON object, so the "
            f"artifact cannot be verified and is not unpickled. {_ESCAPE}."
        )

    def _verify(self, header: JsonObject, payload: bytes) -> None:
        recorded = header.get("signature")
        if not isinstance(recorded, str) or header.get("algorithm") != ALGORITHM:
            raise UntrustedArtifactError(
                f"The pickled artifact at {self.uri} is not signed (it was saved before "
                "artifacts were signed, or written by other means), so it is not unpickled: "
                f"unpickling runs any code the file holds. {_ESCAPE}, then save it again to "
                "sign it."
            )
        secret = store_secret()
        unsigned = {k: v for k, v in header.items() if k != "signature"}
        mac = _new_mac(secret, unsigned)
        mac.update(payload)
        if hmac.compare_digest(mac.hexdigest(), recorded):
            return
        ours, theirs = key_id(secret), header.get("key_id")
        if theirs != ours:
            raise UntrustedArtifactError(
                f"The pickled artifact at {self.uri} was signed with another store secret "
                f"(key id {theirs}; this client's is {ours}), so it is not unpickled. Every "
                "client of one store must use the same secret: set LINEAGEQL_STORE_SECRET (or "
                "LINEAGEQL_STORE_SECRET_FILE) to the secret of the client that saved it. "
                f"{_ESCAPE}."
            )
        raise UntrustedArtifactError(
            f"The signature of the pickled artifact at {self.uri} does not match: {_DATA} or "
            f"{_VERSIONS} changed after it was saved (it records Python "
            f"{header.get('python')}; this is Python {platform.python_version()}), so it is "
            f"not unpickled. {_ESCAPE}."
        )

    def _check_python(self, header: JsonObject) -> None:
        written_with = str(header.get("python"))
        if ".".join(written_with.split(".")[:2]) != _python_minor():
            raise UntrustedArtifactError(
                f"The artifact at {self.uri} was pickled with Python {written_with} and this is "
                f"Python {platform.python_version()}; pickles only load on the same Python "
                f"minor version. Load it with Python {written_with}, or save it again with a "
                f"materializer that does not pickle. {_ESCAPE}, at your own risk."
            )


def _new_mac(secret: bytes, header: JsonObject) -> hmac.HMAC:
    """The HMAC of a pickle: over the header (canonical JSON) and then the pickled bytes."""
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(secret, _DOMAIN + canonical + b"\0", hashlib.sha256)


def _python_minor() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"
