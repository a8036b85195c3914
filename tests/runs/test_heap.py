"""A `studio run` process loads its flow's handlers while it sets up and starts the run with
everything loaded frozen (runs/heap.py): the run's first full collection no longer walks the
catalog, the handlers and the SDK. Each check runs in a process of its own, as `studio run`
does: freezing this test process would keep its garbage for the rest of the session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from studio.flow.io import save_flow
from studio.engine.young_collections import YOUNG_THRESHOLD
from studio.flow.models import Endpoint, Flow, Node, Position, Wire

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, *args: str, home: Path) -> dict:
    env = {**os.environ, "FLOW_STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          env=env, cwd=home, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _set_flow(path: Path) -> Path:
    start = Node(id="start", name="Start", action="trigger.manual", position=Position(x=0, y=0))
    fields = Node(id="set", name="Set", action="core.set", position=Position(x=300, y=0),
                  values={"include": "none", "assignments": [{"name": "ok", "type": "boolean", "value": "true"}]})
    save_flow(Flow(name="heap", nodes=[start, fields],
                   wires=[Wire(source=Endpoint(node="start", port="output"), target=Endpoint(node="set", port="in"))]),
              path)
    return path


def test_studio_run_starts_its_run_with_the_set_up_loaded_and_frozen(tmp_path):
    flow = _set_flow(tmp_path / "heap.flow.json")
    seen = _python("""
        import contextlib, gc, io, json, sys
        import studio.runs.terminal as terminal
        at_start = {}
        execute = terminal.execute

        async def watched(*args, **kwargs):
            at_start["frozen"] = gc.get_freeze_count()
            at_start["young_threshold"] = gc.get_threshold()[0]
            at_start["set_loaded"] = "studio.connectors.core.data" in sys.modules
            return await execute(*args, **kwargs)

        terminal.execute = watched
        from studio.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["run", sys.argv[1], "--json"])
        print(json.dumps({**at_start, "code": code, "status": json.loads(out.getvalue())["status"]}))
        """, str(flow), home=tmp_path)
    assert seen["code"] == 0 and seen["status"] == "succeeded"
    assert seen["set_loaded"]  # the Set node's handler module was imported before the run began
    assert seen["frozen"] > 50_000  # the catalog and handlers: out of the run's collections
    assert seen["young_threshold"] == YOUNG_THRESHOLD  # held from the set-up on (engine/young_collections.py)


def test_load_handlers_imports_the_agents_module_only_for_a_flow_with_an_agent_node(tmp_path):
    seen = _python("""
        import gc, json, sys
        from studio.flow.models import Flow, Node, Position
        from studio.runs.heap import freeze_loaded, load_handlers

        def flow(action):
            return Flow(name="f", nodes=[Node(id="n", name="N", action=action, position=Position(x=0, y=0))])

        agents = "studio.connectors.openai.agents"
        load_handlers([flow("core.set")])
        without = agents in sys.modules
        load_handlers([flow("agent.run")])
        with_agent = agents in sys.modules
        before = gc.get_freeze_count()
        freeze_loaded(collect=False)
        print(json.dumps({"without": without, "with": with_agent, "before": before,
                          "after": gc.get_freeze_count()}))
        """, home=tmp_path)
    assert seen["without"] is False and seen["with"] is True
    assert seen["before"] == 0 and seen["after"] > 50_000
