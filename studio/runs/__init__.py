"""The run service: the one way a flow is run, whoever asks (`studio run` and `studio resume`,
`studio serve`, the editor and its chat panel).

- prepare (`prepare.py`): load and validate a flow file, check trust, resolve its connections;
- start and observe (`service.py`): `start_run` starts the executor and returns an `ActiveRun`
  whose `result()` waits for the end and records it; events go to `on_event`; `cancel()` stops it;
  `run_file` prepares and runs a flow file in one call;
- record (`records.py`): the run history, the run folder and its `run.json`, the result document,
  interrupted-run recovery;
- resume (`resume.py`): continue a run that waits for approval, in this process or a new one;
- front-ends: `terminal.py` (`studio run`/`resume`), `serve.py` (`studio serve`), and
  `interrupt.py` (Ctrl-C/SIGTERM in a terminal), `saved_connections.py` (`studio connections`:
  the saved connections a run resolves, managed from a terminal). The editor's `studio/ui/bridge.py` calls
  `start_run` directly.

Import the submodules; this package imports nothing at import time so `studio --version` stays fast."""
