"""The handler registry and the trigger handlers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from studio.engine import builtin, handlers
from studio.engine.context import NodeContext
from studio.engine.handlers import HandlerRegistry, default_registry


async def test_register_get_contains_and_replace():
    registry = HandlerRegistry()

    @registry.register("x.one")
    async def one(ctx):
        return 1

    async def two(ctx):
        return 2

    registry.register("x.two", two)
    assert "x.one" in registry and "x.two" in registry and "x.three" not in registry
    assert registry.get("x.two") is two
    assert list(registry) == ["x.one", "x.two"] and len(registry) == 2
    registry.register("x.two", one)
    assert registry.get("x.two") is one
    with pytest.raises(KeyError, match="no handler for action 'x.three'"):
        registry.get("x.three")
    copy = registry.copy()
    copy.register("x.four", two)
    assert "x.four" not in registry


def test_engine_import_does_not_import_connectors():
    code = ("import sys, studio.engine.executor, studio.engine.handlers;"
            "print(any(m.startswith('studio.connectors') for m in sys.modules))")
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


def test_default_registry_has_every_trigger():
    registry = default_registry()
    for action_id in ("trigger.manual", "trigger.schedule", "trigger.webhook", "trigger.chat", "trigger.tool_flow"):
        assert action_id in registry
    assert default_registry() is registry


def test_missing_optional_handler_module_is_skipped_but_broken_one_raises(monkeypatch, tmp_path):
    (tmp_path / "broken_handlers_pkg.py").write_text("import definitely_not_installed_dep\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    handlers._import_optional("studio.not_a_module_at_all")
    with pytest.raises(ModuleNotFoundError):
        handlers._import_optional("broken_handlers_pkg")


def _ctx(inputs, payload):
    return NodeContext(run_id="r", flow=None, node=None, action=None, run_dir=Path("."), inputs=inputs,
                       upstream=None, emit=lambda *a, **k: None, connect=None,
                       services={"trigger_payload": payload})


@pytest.mark.parametrize(
    ("inputs", "payload", "expected"),
    [
        ({"fields": [{"name": "a", "default": 1}, {"key": "b", "value": "x"}]}, {"b": "y"}, {"a": 1, "b": "y"}),
        ({"fields": {"a": 1}}, None, {"a": 1}),
        ({"schema": {"properties": {"a": {"type": "integer", "default": 3}}}}, {}, {"a": 3}),
        ({}, "text", "text"),
    ],
)
async def test_manual_trigger_merges_payload_over_defaults(inputs, payload, expected):
    assert await builtin.manual(_ctx(inputs, payload)) == expected


async def test_other_triggers_output_their_payload():
    assert await builtin.webhook(_ctx({}, {"body": {"a": 1}})) == {"body": {"a": 1}}
    assert await builtin.chat(_ctx({}, "hello")) == {"chatInput": "hello"}
    assert await builtin.tool_flow(_ctx({"fields": {"limit": 5}}, {"q": "x"})) == {"limit": 5, "q": "x"}
    assert "fired_at" in await builtin.schedule(_ctx({}, None))


def test_agent_handlers_load_only_when_asked_for():
    """The Agents SDK is most of a `studio run` process's start: a flow without agent nodes never
    imports it; the first look-up of an agent action (or listing the registry) does. Checked in a
    fresh interpreter, since this one may have imported it already."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = """
import sys
from studio.engine.handlers import default_registry
registry = default_registry()
early = registry.copy()  # a copy made before the agents loaded still finds them
assert "chat.create_completion" in registry
assert "agents" not in sys.modules and "studio.connectors.openai.agents" not in sys.modules, "loaded early"
assert "no.such_action" not in registry and "agents" not in sys.modules
handler = registry.get("agent.run")
assert "agents" in sys.modules and handler.__module__.startswith("studio.connectors.openai.agents")
assert early.get("agent.run") is handler and "agent.create" in early
assert len(registry) == len(list(registry)) == len(early) and "agent.classify_and_branch" in list(registry)
print("ok")
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
