"""Trust in the main window: a flow from elsewhere that would start a program or open a port
runs only once the user trusts it (studio/flow/capabilities.py decides what needs trust); what
the user saves here becomes their own."""

from __future__ import annotations

import logging
from pathlib import Path

from studio.flow.models import Flow

from .trust_dialog import ensure_trusted

log = logging.getLogger(__name__)


class TrustMixin:
    """Where the document's content came from, for MainWindow (mixed in)."""

    def _forget_trust_source(self) -> None:
        self._trust_data = None

    def _set_trust_source(self, flow: Flow, data: bytes, add: bool = False) -> None:
        """Remember where content that would start something came from; content that starts
        nothing needs no trust, so later additions by the user are theirs."""
        from studio.flow.capabilities import needs_trust

        if not needs_trust(flow, self.catalog, self._flow_dir()):
            if not add:
                self._trust_data = None
            return
        self._trust_data = data if not add or self._trust_data is None else self._trust_data + b"\n" + data

    def check_trust(self) -> bool:
        """Before a run: asks once about an imported flow that starts a process or opens a port."""
        if self._trust_data is None:
            return True
        if ensure_trusted(self, self.document.flow, self._trust_data, catalog=self.catalog,
                          flow_dir=self._flow_dir()):
            self._trust_data = None
            return True
        return False

    def _flow_dir(self) -> Path | None:
        """The folder the flow's relative paths are read from (its file's, or an example's)."""
        if self.document.path is not None:
            return Path(self.document.path).resolve().parent
        base = self.runs.base_dir() if self.runs.base_dir is not None else None
        return Path(base).resolve() if base is not None else None

    def _remember_own(self, path: Path) -> None:
        """A file saved here is the user's own, unless it still holds untrusted imported content."""
        from studio.credentials.trust import TrustStore

        try:
            store = TrustStore()
            if self._trust_data is None or store.is_trusted(self._trust_data):
                store.remember_own(path.read_bytes())
                self._trust_data = None
        except OSError:
            log.warning("could not remember the saved flow as this machine's own", exc_info=True)
