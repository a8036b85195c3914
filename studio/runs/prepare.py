"""Preparing a run of a flow file: load and validate it, check that this machine trusts what it
would start (studio/flow/capabilities.py, docs/security.md), and resolve its connections before
anything runs. Everything here raises with a message for the user; nothing runs yet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.catalog import load_catalog
from studio.credentials.trust import TrustStore
from studio.flow.capabilities import needs_trust
from studio.flow.io import FlowLoadError, load_flow
from studio.flow.models import Flow

from .connections import Connector, UsageError


def load_flow_file(path_text: str | Path) -> tuple[Flow, bytes]:
    """The flow and the file's bytes (the trust store keys on them). FlowLoadError on a bad file."""
    path = Path(path_text)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlowLoadError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return load_flow(path), data


def trust_problem(flow: Flow, data: bytes, trusted_flag: bool, flow_dir: Any = None, *,
                  listens: bool = True) -> str | None:
    """Why this flow may not run here without --trust, or None (`listens`: as for needs_trust)."""
    reasons = needs_trust(flow, load_catalog(), flow_dir, listens=listens)
    if not reasons or trusted_flag or TrustStore().is_trusted(data):
        return None
    lines = "\n".join(f"  - {reason}" for reason in reasons)
    return (
        "this flow would do these things on this machine:\n"
        f"{lines}\n"
        "Check them, then run again with --trust to allow it."
    )


@dataclass
class PreparedRun:
    """A flow file ready to run: loaded, trusted, its connections resolved."""

    flow: Flow
    path: Path
    connector: Connector

    @property
    def services(self) -> dict[str, str]:
        """What handlers read relative files against (the flow file and its folder)."""
        return {"flow_path": str(self.path), "flow_dir": str(self.path.parent)}


def prepare_file(path: str | Path, *, trust: bool = False, base_url: str | None = None,
                 connection: str | None = None) -> PreparedRun:
    """Load, validate, trust-check and connect a flow file. Raises FlowLoadError for a bad file
    and UsageError for an untrusted flow or a missing connection or key. `connection` is used by
    the nodes left at the default connection (the editor's "Run on"; `studio run --connection`)."""
    flow, data = load_flow_file(path)
    return prepare_flow(flow, data, path, trust=trust, base_url=base_url, connection=connection)


def prepare_flow(flow: Flow, data: bytes, path: str | Path, *, trust: bool = False,
                 base_url: str | None = None, connection: str | None = None) -> PreparedRun:
    """As prepare_file, for a flow already loaded from `path` (whose bytes are `data`). Messages
    name the file as `path` was given."""
    resolved = Path(path).resolve()
    problem = trust_problem(flow, data, trust, resolved.parent)
    if problem:
        raise UsageError(f"{path}: {problem}")
    connector = Connector(base_url, fallback=connection or None)
    connector.check(flow)  # a missing key is reported now, before anything runs
    return PreparedRun(flow=flow, path=resolved, connector=connector)
