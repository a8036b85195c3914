"""The one place flow tests reach the run machinery: loading a flow file, the trust check, the
connections, running to the end and the result document. Everything else in studio/testing goes
through these names, so moving the runner means changing this import only."""

from __future__ import annotations

from studio.runs.connections import Connector, UsageError, connection_names  # noqa: F401 - re-exported
from studio.runs.prepare import load_flow_file, trust_problem  # noqa: F401 - re-exported
from studio.runs.records import result_document  # noqa: F401 - re-exported
from studio.runs.terminal import ProgressPrinter, execute, new_run_id  # noqa: F401 - re-exported
