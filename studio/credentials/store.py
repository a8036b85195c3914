"""Connections and their secrets. What a connection is (name, base URL, organization) is saved in
`connections.json` in the config folder; its API key never is. The key goes to the OS keyring; where
there is none, to an encrypted file unlocked by a passphrase (keyrings.cryptfile), or it comes from
the OPENAI_API_KEY environment variable. There is no plaintext fallback."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studio.connectors.openai.client import DEFAULT_BASE_URL

log = logging.getLogger(__name__)

SERVICE = "flow-studio"
CONNECTIONS_FILE = "connections.json"
ENCRYPTED_FILE = "keys.cfg"
MIN_PASSPHRASE_LENGTH = 8


class CredentialError(ValueError):
    """A connection cannot be used as asked; the message says what to do."""


class ConnectionRecord(BaseModel):
    """A saved connection without its secret (safe to write to disk and to show)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=80)
    base_url: str = DEFAULT_BASE_URL
    organization: str | None = None
    # "api_key" (Prismatic, n8n) or "bearer" (ByteChef): both send `Authorization: Bearer`.
    # An HTTP connection (type "http", for HTTP Request): bearer, header, query or basic.
    auth: str = "api_key"
    type: str = "openai"  # the catalog's connection type id
    header_name: str | None = None  # http: the header (auth header) or query parameter (auth query)
    username: str | None = None  # http: the user of basic auth


@dataclass(frozen=True)
class KeyringStatus:
    available: bool
    backend: str
    message: str
    kind: str = "system"  # "system" (an OS keyring), "encrypted" (the passphrase file) or "none"


# Backends that keep secrets in the operating system's own keyring.
SYSTEM_BACKEND_MODULES = (
    "keyring.backends.SecretService", "keyring.backends.libsecret", "keyring.backends.kwallet",
    "keyring.backends.macOS", "keyring.backends.Windows",
)
# Backends that are no system keyring: keyring's fail/null ones, and files (keyrings.alt and
# keyrings.cryptfile) that would ask for a password with getpass on a terminal, or keep plain text.
NOT_SYSTEM_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt", "keyrings.cryptfile")
NOT_SYSTEM_PARTS = ("null", "fail")  # a module or class named so (keyring's own, or alike)
NOT_SYSTEM_WORDS = ("plaintext", "cryptfile", "crypted")  # inside any part of the name
CHAINER = "keyring.backends.chainer.ChainerBackend"


def _qualname(backend: Any) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _positive_priority(backend: Any) -> bool:
    try:
        return float(getattr(backend, "priority", 1)) > 0
    except Exception:  # noqa: BLE001 - a backend whose priority property itself fails is unusable
        return False


def _chain_children(backend: Any) -> list[Any]:
    try:
        return list(getattr(backend, "backends", []) or [])
    except Exception:  # noqa: BLE001 - discovering the chain's backends can fail like any plugin
        return []


def system_backend(backend: Any) -> Any | None:
    """The backend of `backend` that keeps keys in an OS keyring, or None. keyring's chainer counts
    only through a child that is a real OS keyring (and that child is used alone: the chain's file
    backends would prompt on a terminal and its last one writes plain text)."""
    name = _qualname(backend)
    if name == CHAINER:
        for child in _chain_children(backend):
            if type(child).__module__ in SYSTEM_BACKEND_MODULES and _positive_priority(child):
                return child
        return None
    parts = name.lower().split(".")
    if (name.startswith(NOT_SYSTEM_MODULES) or any(p in NOT_SYSTEM_PARTS for p in parts)
            or any(word in p for p in parts for word in NOT_SYSTEM_WORDS)):
        return None
    return backend if _positive_priority(backend) else None


def _usable_backend(backend: Any) -> bool:
    """True when `backend` is (or chains) a real system keyring."""
    return system_backend(backend) is not None


def _describe(backend: Any) -> str:
    """What keyring offers instead of a system keyring, for the message."""
    name = type(backend).__name__
    if _qualname(backend) == CHAINER:
        children = [type(c).__name__ for c in _chain_children(backend)]
        return f"{name} of {', '.join(children)}" if children else f"{name} with no backend"
    return name


def _refuse_terminal_prompt(*_args: Any, **_kwargs: Any) -> Any:
    raise CredentialError("passphrase: the encrypted key file is locked; unlock it in Connections "
                          "(the passphrase is never asked on a terminal)")


class ConnectionStore:
    """The saved connections of this user, and where their keys live."""

    def __init__(self, folder: Path | None = None, keyring_backend: Any = None) -> None:
        if folder is None:
            from studio.paths import config_dir

            folder = config_dir()
        self.folder = Path(folder)
        self._backend = keyring_backend
        self._encrypted: Any = None

    # -- records ---------------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self.folder / CONNECTIONS_FILE

    def list(self) -> list[ConnectionRecord]:  # noqa: A003 - reads naturally at call sites
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise CredentialError(f"{self.path}: cannot read saved connections ({exc})") from None
        records = []
        for i, item in enumerate(data.get("connections", []) if isinstance(data, dict) else []):
            try:
                records.append(ConnectionRecord.model_validate(item))
            except ValidationError as exc:
                log.warning("%s: connections[%d] skipped: %s", self.path, i, exc.errors()[0]["msg"])
        return records

    def get(self, name: str) -> ConnectionRecord:
        records = self.list()
        for record in records:
            if record.name == name:
                return record
        known = ", ".join(repr(r.name) for r in records) or "none saved"
        raise CredentialError(f"no connection named {name!r} (known: {known})")

    def save(self, record: ConnectionRecord, api_key: str | None = None) -> None:
        """Add or replace `record`; a given key goes to the secret store, never to the file."""
        if api_key:
            self._set_secret(record.name, api_key)
        records = [r for r in self.list() if r.name != record.name] + [record]
        self._write(records)

    def delete(self, name: str) -> None:
        self._write([r for r in self.list() if r.name != name])
        try:
            self._delete_secret(name)
        except CredentialError:
            pass

    def _write(self, records: list[ConnectionRecord]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"connections": [r.model_dump() for r in records]}, indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".connections-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    # -- secrets ---------------------------------------------------------------------------------

    def _keyring(self) -> Any:
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    def keyring_status(self) -> KeyringStatus:
        if self._encrypted is not None:
            return KeyringStatus(True, "encrypted file",
                                 f"API keys are kept in an encrypted file ({self._encrypted_path()}).", "encrypted")
        backend = self._keyring()
        system = system_backend(backend)
        if system is not None:
            name = type(system).__name__
            return KeyringStatus(True, name, f"API keys are kept in the system keyring ({name}).", "system")
        return KeyringStatus(
            False, type(backend).__name__,
            f"No system keyring was found (keyring offers {_describe(backend)}: files, not a system keyring). "
            "Choose an encrypted key file unlocked by a passphrase, or set the OPENAI_API_KEY environment "
            "variable. Keys are never stored in plain text.",
            "none",
        )

    def _encrypted_path(self) -> Path:
        return self.folder / ENCRYPTED_FILE

    def encrypted_file_exists(self) -> bool:
        """True when an encrypted key file was made before (its passphrase unlocks it)."""
        return self._encrypted_path().exists()

    def use_encrypted_file(self, passphrase: str) -> None:
        """Keep keys in an encrypted file (keyrings.cryptfile, Argon2 + AES) unlocked by `passphrase`."""
        if not passphrase:
            raise CredentialError("passphrase: a non-empty passphrase is needed to encrypt the key file")
        if not self._encrypted_path().exists() and len(passphrase) < MIN_PASSPHRASE_LENGTH:
            # A short passphrase falls to guessing in minutes, whatever the key derivation costs.
            raise CredentialError(f"passphrase: use at least {MIN_PASSPHRASE_LENGTH} characters for a new "
                                  f"encrypted key file (got {len(passphrase)})")
        from keyrings.cryptfile.cryptfile import CryptFileKeyring

        backend = CryptFileKeyring()
        backend.file_path = str(self._encrypted_path())
        # cryptfile asks with getpass on the terminal whenever it has no key (a new file, a lock
        # after a wrong passphrase): with no terminal that blocks or fails without a word. This
        # instance refuses instead; the editor asks for the passphrase in a dialog.
        backend._get_new_password = _refuse_terminal_prompt
        unlock = backend._unlock

        def _unlock() -> None:
            if backend._keyring_key is None:
                _refuse_terminal_prompt()
            unlock()

        backend._unlock = _unlock
        try:  # setting the key unlocks an existing file: a wrong passphrase fails here, not later
            backend.keyring_key = passphrase
        except Exception:  # noqa: BLE001 - cryptfile raises ValueError or its own errors
            raise CredentialError("passphrase: it does not unlock the encrypted key file") from None
        self._encrypted = backend

    def _secret_backend(self) -> Any:
        if self._encrypted is not None:
            return self._encrypted
        return system_backend(self._keyring())

    def _set_secret(self, name: str, api_key: str) -> None:
        backend = self._secret_backend()
        if backend is None:
            raise CredentialError(self.keyring_status().message)
        try:
            backend.set_password(SERVICE, name, api_key)
        except CredentialError:
            raise
        except Exception as exc:  # noqa: BLE001 - a locked or broken keyring: say which and why
            reason = str(exc).strip() or type(exc).__name__
            raise CredentialError(f"the key could not be saved in {type(backend).__name__}: {reason}") from None

    def _delete_secret(self, name: str) -> None:
        backend = self._secret_backend()
        if backend is None:
            return
        try:
            backend.delete_password(SERVICE, name)
        except Exception:  # noqa: BLE001 - "no such password" differs per backend
            pass

    def api_key(self, name: str) -> str | None:
        backend = self._secret_backend()
        if backend is None:
            return None
        try:
            return backend.get_password(SERVICE, name)
        except Exception as exc:  # noqa: BLE001 - a locked or broken keyring must not crash a run
            log.warning("cannot read the key of connection %r from %s: %s", name, type(backend).__name__,
                        type(exc).__name__)
            return None

    def has_key(self, name: str) -> bool:
        return bool(self.api_key(name))
