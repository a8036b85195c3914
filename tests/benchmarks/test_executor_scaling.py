"""The executor's per-node work must not grow with the flow's size (a per-node rebuild of the
name -> id table once made a 10,000-node run take 9 s). Counted, never timed."""

from __future__ import annotations

from benchmarks.executor import CATALOG, registry, trivial_flow
from studio.engine.executor import run_flow


class CountingList(list):
    """A list that counts how often it is walked from start to end."""

    walks = 0

    def __iter__(self):
        type(self).walks += 1
        return super().__iter__()


async def _walks_of_flow_nodes(n: int) -> int:
    flow = trivial_flow(n, "chain")
    CountingList.walks = 0
    flow.nodes = CountingList(flow.nodes)
    result = await run_flow(flow, catalog=CATALOG, registry=registry(), keep_events=False)
    assert result.status == "succeeded"
    assert len(result.nodes) == n
    return CountingList.walks


async def test_the_flow_node_list_is_walked_a_fixed_number_of_times_whatever_the_size():
    small, large = await _walks_of_flow_nodes(20), await _walks_of_flow_nodes(400)
    assert small == large, f"node list walked {small} times for 20 nodes but {large} times for 400"


async def test_expressions_still_find_nodes_by_name_in_a_large_flow():
    from studio.catalog.catalog import Catalog
    from studio.catalog.models import Action, Input, ValueType
    from studio.flow.models import Endpoint, Node, Wire

    echo = Action(id="bench.echo", kind="action", title="Echo", category="Bench", uses_connection=False,
                  inputs=[Input(key="value", label="Value", type=ValueType.JSON)])
    catalog = Catalog(actions=[*CATALOG.actions, echo], connections=[])
    reg = registry()

    async def echo_handler(ctx):
        return ctx.inputs["value"]

    reg.register("bench.echo", echo_handler)
    flow = trivial_flow(300, "chain")
    flow.nodes.append(Node(id="reader", name="Reader", action="bench.echo",
                           values={"value": "{{ nodes.N0.status }}/{{ nodes.N298.status }}"}))
    flow.wires.append(Wire(source=Endpoint(node="n298", port="output"), target=Endpoint(node="reader", port="in")))
    result = await run_flow(flow, catalog=catalog, registry=reg, keep_events=False)
    assert result.status == "succeeded", result.error
    assert result.output("Reader") == "succeeded/succeeded"
