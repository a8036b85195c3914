"""Denial of service through expressions: splitting a value is linear in its length, filling in
expressions stops at a size limit (per value and per run) with a message naming the node and the
field, and `studio run` stops within a second on Ctrl-C or SIGTERM even while a node keeps the
event loop busy -- the run is recorded `failed` or `cancelled`, never left `running`."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from engine_testkit import CATALOG, Graph, Probe, make_registry  # noqa: E402

from studio.engine import expression_limits, expressions, inputs  # noqa: E402
from studio.engine.executor import run_flow  # noqa: E402
from studio.engine.expressions import (  # noqa: E402
    MAX_TEMPLATE_EXPRESSIONS,
    Expression,
    ExpressionError,
    Scope,
    SizeBudget,
    ValueTooLarge,
    json_size,
    parse,
    render,
    split_template,
    to_text,
)
from studio.flow.io import save_flow  # noqa: E402
from studio.flow.models import Endpoint, Flow, Node, Wire  # noqa: E402
from studio.history import RunHistory  # noqa: E402

# --- splitting ---------------------------------------------------------------------------------

_OLD_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def _old_split(template: str) -> list:
    """The regex splitter this replaced (quadratic on unclosed `{{`), as the reference."""
    parts: list = []
    pos = 0
    count = 0
    for match in _OLD_TEMPLATE.finditer(template):
        count += 1
        if count > MAX_TEMPLATE_EXPRESSIONS:
            raise ExpressionError(f"a value may hold at most {MAX_TEMPLATE_EXPRESSIONS} expressions")
        if match.start() > pos:
            parts.append(template[pos : match.start()])
        body = match.group(1)
        if "{{" in body:
            raise ExpressionError("'{{' inside an expression; expressions cannot be nested", body.strip()[:80])
        parts.append(Expression(body.strip(), parse(body)))
        pos = match.end()
    rest = template[pos:]
    if "{{" in rest:
        raise ExpressionError("'{{' without a matching '}}'", rest[rest.index("{{") + 2 :].strip()[:80])
    if rest:
        parts.append(rest)
    return parts


def _outcome(split, template: str):
    try:
        return [p if isinstance(p, str) else ("expr", p.text, p.tree) for p in split(template)]
    except ExpressionError as exc:
        return ("error", str(exc))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{{}} .abtrigern[]'\n")), max_size=60))
def test_scanner_splits_exactly_like_the_old_regex(text):
    assert _outcome(split_template, text) == _outcome(_old_split, text)


def test_scanner_matches_the_old_regex_on_crafted_values():
    for text in ["{{}}", "{{}}}", "{{{}}", "}}{{ trigger.a }}", "a{{ trigger.a }}b{{ trigger.b }}c",
                 "{{ trigger.a }}" * MAX_TEMPLATE_EXPRESSIONS, "{{ trigger.a }}" * (MAX_TEMPLATE_EXPRESSIONS + 1),
                 "{{ a {{ b }}", "x {{ trigger.a }} {{ oops", "{{ 'a}}' }}", "{{\ntrigger.a\n}}"]:
        assert _outcome(split_template, text) == _outcome(_old_split, text), text


@pytest.mark.timeout(30)  # the regex took ~35 s on 50,000 and hours on 500,000
def test_thousands_of_unclosed_braces_split_in_linear_time():
    expected = ("error", "'{{' without a matching '}}' (in {{ " + "{{" * 40 + " }})")
    for count in (50_000, 500_000):
        assert _outcome(split_template, "{{" * count) == expected
        assert expressions.check("{{" * count) == [expected[1]]
        assert expressions.referenced_nodes("{{" * count) == set()


@pytest.mark.timeout(30)
def test_long_values_fail_with_the_usual_messages():
    assert _outcome(split_template, "{{ " + "a" * 200_000 + " }}") == _outcome(_old_split, "{{ " + "a" * 2_000 + " }}")
    assert _outcome(split_template, "{{" + "a" * 200_000) == ("error", "'{{' without a matching '}}' (in {{ " + "a" * 80 + " }})")
    nested = "{{ x" + "{{" * 100_000 + "}}"
    assert _outcome(split_template, nested)[1].startswith("'{{' inside an expression; expressions cannot be nested")
    many = "x{{ trigger.a }}" * 100_000
    assert _outcome(split_template, many) == ("error", f"a value may hold at most {MAX_TEMPLATE_EXPRESSIONS} expressions")
    text = "plain text with } and { " * 10_000 + "{{ trigger.a }}"
    assert render(text, Scope(trigger={"a": 1})).endswith("{ 1")


# --- size limits while rendering ---------------------------------------------------------------


def test_json_size_is_an_upper_bound_and_stops_at_the_limit():
    samples = [None, True, 12, -3.5, 10**30, "plain", 'quo"te\\ \n\x00 é', {"a": [1, {"b": None}], "c\n": "x"},
               [[], {}, ["", 0]], {1: "int key"}]
    for value in samples:
        for indent in (None, 0, 2, 8):
            written = json.dumps(value, ensure_ascii=False, indent=indent, default=str)
            assert json_size(value, 10**9, indent) >= len(written), (value, indent)
        assert expressions.text_size(value, 10**9) >= len(to_text(value))
    shared: list = []
    for _ in range(200):  # 2**200 leaves once written out: the walk must stop at the limit at once
        shared = [shared, shared]
    assert json_size(shared, 10_000) > 10_000
    cycle: list = []
    cycle.append(cycle)
    assert json_size(cycle, 10_000) > 10_000


@pytest.mark.timeout(30)
def test_filters_refuse_to_write_out_huge_shared_structures():
    shared: list = ["x" * 100]
    for _ in range(60):
        shared = [shared, shared]
    scope = Scope(trigger={"big": shared, "many": [shared] * 10})
    for template in ["{{ trigger.big | json }}", "{{ trigger.big | json(2) }}", "{{ trigger.big | string }}",
                     "{{ trigger.big | upper }}", "{{ trigger.many | join(',') }}", "a {{ trigger.big }}",
                     "{{ trigger.big }}"]:
        with pytest.raises(ValueTooLarge, match="the limit is 16 MiB"):
            render(template, scope)
    with pytest.raises(ExpressionError, match=r"number cannot read '\[\.\.\.\]' as a number"):
        render("{{ trigger.big | number }}", scope)


def test_rendering_stops_once_the_value_passes_its_limit(monkeypatch):
    monkeypatch.setattr(expression_limits, "MAX_VALUE_SIZE", 1000)
    scope = Scope(trigger={"a": "x" * 100})
    assert render("{{ trigger.a }}" * 10, scope) == "x" * 1000
    with pytest.raises(ValueTooLarge) as info:
        render("{{ trigger.a }}" * 200 + "!", scope)
    assert info.value.size == 20_001 and info.value.exact  # counted, never built
    assert str(info.value) == "would be 19.5 KiB after its expressions are filled in; the limit is 1000 characters"


async def test_a_chain_of_references_fails_the_node_that_passes_the_limit(monkeypatch):
    monkeypatch.setattr(expression_limits, "MAX_VALUE_SIZE", 100_000)
    graph = Graph().add("Start", "trigger.manual").add("A0", values={"text": "0123456789"})
    for i in range(1, 6):
        graph.add(f"A{i}", values={"text": "{{ nodes.A%d.output.text }}" % (i - 1) * 20}).chain(f"A{i - 1}", f"A{i}")
    graph.chain("Start", "A0")
    registry = make_registry(Probe())

    @registry.register("test.echo")
    async def echo_text(ctx):
        return {"text": ctx.inputs["text"]}

    result = await run_flow(graph.flow(), catalog=CATALOG, registry=registry)
    assert result.status == "failed"
    assert [result.node(f"A{i}").status for i in range(6)] == ["succeeded"] * 4 + ["failed", "skipped"]
    assert result.node("A3").output == {"text": "0123456789" * 8000}
    assert result.error["message"] == ("A4: 'Text' would be 1.5 MiB after its expressions are filled in; "
                                       "the limit is 97.7 KiB")
    assert result.error["details"] == {"field": "text", "size": 1_600_000, "limit": 100_000, "limit_of": "value"}


async def test_the_run_total_of_expression_output_is_limited(monkeypatch):
    monkeypatch.setattr(expression_limits, "MAX_RUN_EXPRESSION_OUTPUT", 2_500)
    graph = Graph().add("Start", "trigger.manual")
    previous = "Start"
    for i in range(5):
        graph.add(f"N{i}", values={"text": "{{ trigger.fields.t }}" * 10}).chain(previous, f"N{i}")
        previous = f"N{i}"
    result = await run_flow(graph.flow(), catalog=CATALOG, registry=make_registry(Probe()),
                            trigger_payload={"fields": {"t": "y" * 100}})
    assert [result.node(f"N{i}").status for i in range(5)] == ["succeeded", "succeeded", "failed", "skipped", "skipped"]
    assert result.error["message"] == ("N2: 'Text' would bring this run's expression output to 2.9 KiB; "
                                       "the limit for one run is 2.4 KiB")
    assert result.error["details"]["limit_of"] == "run"


async def test_shared_references_count_each_time(monkeypatch):
    monkeypatch.setattr(expression_limits, "MAX_VALUE_SIZE", 50_000)
    graph = Graph().add("Start", "trigger.manual")
    previous = "Start"
    for i in range(30):  # each node's value holds the previous node's output twice: 2**30 once written
        graph.add(f"D{i}", values={"value": ["{{ input }}", "{{ input }}"]}).chain(previous, f"D{i}")
        previous = f"D{i}"
    result = await run_flow(graph.flow(), catalog=CATALOG, registry=make_registry(Probe()),
                            trigger_payload={"fields": "z" * 100})
    assert result.status == "failed"
    failed = [r for r in result.nodes.values() if r.status == "failed"]
    assert len(failed) == 1 and "'Value' would be more than" in failed[0].error["message"]


async def test_unexpected_errors_while_resolving_fail_the_node_not_the_run(monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(inputs, "render_value", out_of_memory)
    graph = Graph().add("Start", "trigger.manual").add("B", values={"text": "{{ trigger }}"}).chain("Start", "B")
    result = await run_flow(graph.flow(), catalog=CATALOG, registry=make_registry(Probe()))
    assert result.status == "failed"
    assert result.node("B").status == "failed"
    assert result.error["message"] == "B: MemoryError"


def test_the_default_budget_uses_the_module_limits(monkeypatch):
    monkeypatch.setattr(expression_limits, "MAX_VALUE_SIZE", 123)
    assert SizeBudget().limit == 123
    assert SizeBudget(run_left=50).limit == 50


# --- `studio run` in a real process --------------------------------------------------------------


def _chain_flow(path: Path, nodes: int = 8, refs: int = 200) -> Path:
    agents = [Node(id="A0", action="agent.create", name="A0",
                   values={"name": "a0", "instructions": "Answer briefly and politely, in plain words. " * 2})]
    for i in range(1, nodes):
        agents.append(Node(id=f"A{i}", action="agent.create", name=f"A{i}", values={
            "name": f"a{i}", "instructions": "{{ nodes.A%d.output.instructions }}" % (i - 1) * refs}))
    start = Node(id="Start", action="trigger.manual", name="Start")
    wires = [Wire(source=Endpoint(node="Start", port="output"), target=Endpoint(node="A0", port="in"))]
    wires += [Wire(source=Endpoint(node=f"A{i - 1}", port="agent"), target=Endpoint(node=f"A{i}", port="in"))
              for i in range(1, nodes)]
    save_flow(Flow(name="Chain", nodes=[start, *agents], wires=wires), path)
    return path


@pytest.mark.timeout(120)
def test_reference_chain_fails_with_a_message_in_bounded_memory(tmp_path):
    path = _chain_flow(tmp_path / "chain.flow.json")
    assert path.stat().st_size > 40_000
    limit = 1536 * 1024 * 1024
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
        from studio.cli import main
        sys.exit(main(["run", {str(path)!r}, "--json"]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=100)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["status"] == "failed"
    states = {name: node["status"] for name, node in result["nodes"].items()}
    assert states == {"Start": "succeeded", "A0": "succeeded", "A1": "succeeded", "A2": "succeeded",
                      "A3": "failed", "A4": "skipped", "A5": "skipped", "A6": "skipped", "A7": "skipped"}
    message = result["nodes"]["A3"]["error"]["message"]
    assert message == "A3: 'Instructions' would be 686.6 MiB after its expressions are filled in; the limit is 16 MiB"
    assert result["error"]["message"] == message
    assert RunHistory().get_run(result["run_id"]).status == "failed"


_SPINNING_RUN = """
import sys
from pathlib import Path

from studio.engine.handlers import default_registry

marker = Path(sys.argv[2])


async def spin(ctx):  # a node stuck in Python code: the event loop never gets a turn
    marker.write_text("spinning")
    while True:
        pass


default_registry().register("agent.create", spin)
from studio.cli import main

sys.exit(main(["run", sys.argv[1], "--json"]))
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_studio_run_stops_on_a_signal_while_a_node_is_busy(tmp_path, sig):
    path = _chain_flow(tmp_path / "busy.flow.json", nodes=2, refs=1)
    marker = tmp_path / "spinning"
    proc = subprocess.Popen([sys.executable, "-c", _SPINNING_RUN, str(path), str(marker)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert marker.exists(), proc.stderr.read() if proc.poll() is not None else "the node never started"
        time.sleep(0.2)
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert elapsed < 5, elapsed
    assert "interrupted" in err and "recording run" in err, err
    runs = RunHistory().list_runs()
    assert len(runs) == 1
    assert runs[0].status == "cancelled"
    assert "interrupted" in runs[0].error["message"]


def test_execute_restores_the_previous_signal_handlers(tmp_path):
    import asyncio

    from studio.runs import connections, terminal

    path = _chain_flow(tmp_path / "small.flow.json", nodes=1)
    from studio.flow.io import load_flow

    flow = load_flow(path)
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    printer = terminal.ProgressPrinter()
    result, _, interrupted = asyncio.run(terminal.execute(
        flow, flow_path=path, payload=None, connector=connections.Connector(None), concurrency=2,
        printer=printer, run_id="r1"))
    assert result.status == "succeeded" and not interrupted
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_crash_inside_the_executor_is_a_failed_run_not_a_traceback(tmp_path, monkeypatch):
    import asyncio

    from studio.engine import executor
    from studio.runs import connections, terminal
    from studio.flow.io import load_flow

    def crash(self):
        raise MemoryError

    monkeypatch.setattr(executor._Run, "_plan", crash)
    path = _chain_flow(tmp_path / "small.flow.json", nodes=1)
    result, _, interrupted = asyncio.run(terminal.execute(
        load_flow(path), flow_path=path, payload=None, connector=connections.Connector(None), concurrency=2,
        printer=terminal.ProgressPrinter(), run_id="r2"))
    assert result.status == "failed" and not interrupted
    assert result.error["message"] == "the run stopped: MemoryError"
    assert {node.status for node in result.nodes.values()} == {"skipped"}
