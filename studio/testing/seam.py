"""The one place flow tests reach the run machinery: loading a flow file, the trust check, the
connections, running to the end and the result document. Everything else in studio/testing goes
through these names, so moving the runner means changing this import only."""

from __future__ import annotations

from studio.engine.headless import (  # noqa: F401 - re-exported for studio/testing
    Connector,
    ProgressPrinter,
    UsageError,
    connection_names,
    execute,
    load_flow_file,
    result_document,
    trust_problem,
)
