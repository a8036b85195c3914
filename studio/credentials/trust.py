"""Trust decisions for flow files that would start something on this machine.

A flow saved by this machine's Flow Studio is the user's own; any other file (imported, copied,
edited elsewhere) that would start a local process or open a port needs an explicit "trust" from
the user first. Both lists are kept by SHA-256 of the file's bytes, so a changed file asks again."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class TrustStore:
    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            from studio.paths import config_dir

            path = config_dir() / "trusted.json"
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"own": [], "trusted": []}
        return {k: [h for h in data.get(k, []) if isinstance(h, str)] for k in ("own", "trusted")}

    def _write(self, data: dict[str, list[str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def _add(self, kind: str, digest: str) -> None:
        with self._lock:
            data = self._read()
            if digest not in data[kind]:
                data[kind].append(digest)
                self._write(data)

    def remember_own(self, data: bytes) -> None:
        """Called after the editor saves a file: this content was made here."""
        self._add("own", file_digest(data))

    def trust(self, data: bytes) -> None:
        """The user looked at what the file would start and allowed it."""
        self._add("trusted", file_digest(data))

    def is_trusted(self, data: bytes) -> bool:
        digest = file_digest(data)
        with self._lock:
            stored = self._read()
        return digest in stored["own"] or digest in stored["trusted"]
