"""The problems list shows check_flow's findings (errors and warnings) with the node they belong
to, and a double-click selects that node."""

import pytest
from qtpy.QtCore import Qt

from studio.catalog import load_catalog
from studio.flow.errors import Problem
from studio.flow.models import Endpoint, Flow, Node, Wire
from studio.ui.problems import ProblemsList, node_of


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture
def problems(qtbot):
    p = ProblemsList()
    qtbot.addWidget(p)
    p.resize(600, 300)
    p.show()
    qtbot.waitExposed(p)
    return p


def looped() -> Flow:
    a = Node(action="chat.create_completion", name="A", values={"model": "gpt-4o-mini"})
    b = Node(action="chat.create_completion", name="B", values={"model": "gpt-4o-mini", "temperature": 9})
    return Flow(name="Half built", nodes=[a, b],
                wires=[Wire(source=Endpoint(node=a.id, port="output"), target=Endpoint(node=b.id, port="in")),
                       Wire(source=Endpoint(node=b.id, port="output"), target=Endpoint(node=a.id, port="in"))])


def test_lists_problems_and_double_click_selects_the_node(problems, catalog, qtbot):
    flow = looped()
    counts = []
    problems.count_changed.connect(counts.append)
    found = problems.validate(flow, catalog)
    rows = problems.rows()
    assert len(rows) == len(found) >= 3 and counts == [len(found)]
    messages = [m for _, m in rows]
    assert any("no trigger" in m for m in messages)
    assert any("cycle" in m for m in messages)
    temp = next(i for i, (_, m) in enumerate(rows) if "temperature" in m or "9" in m)
    assert rows[temp][0].startswith("B (nodes[1]")
    assert problems.node_at(temp) == flow.nodes[1].id
    chosen = []
    problems.node_selected.connect(chosen.append)
    item = problems.tree.topLevelItem(temp)
    centre = problems.tree.visualItemRect(item).center()
    qtbot.mouseClick(problems.tree.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(problems.tree.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert chosen[-1] == flow.nodes[1].id
    # a whole-flow problem has no node to select
    whole = next(i for i, (_, m) in enumerate(rows) if "no trigger" in m)
    assert problems.node_at(whole) is None
    assert problems.summary.text().startswith(f"{len(found)} errors: the flow will not run until they are fixed")


def test_warnings_are_listed_with_their_own_icon_and_summary(problems, catalog):
    from studio.flow.cases import FlowTest

    start = Node(action="trigger.manual", name="Start")
    check = Node(action="moderation.classify", name="Check")
    flow = Flow(name="unfinished", nodes=[start, check],
                wires=[Wire(source=Endpoint(node=start.id, port="output"), target=Endpoint(node=check.id, port="in"))],
                tests=[FlowTest.model_validate({"name": "t", "assertions": [{"kind": "status", "node": "Gone",
                                                                                 "values": {"status": "succeeded"}}]})])
    found = problems.validate(flow, catalog)
    assert [p.severity for p in found] == ["warning", "warning"]
    assert [where for where, _ in problems.rows()] == ["Check (nodes[1].values.input)", "tests[0].assertions[0].node"]
    assert problems.summary.text() == "2 warnings: the flow runs, but these need fixing."
    warning_icon = problems.style().standardIcon(problems.style().StandardPixmap.SP_MessageBoxWarning)
    item = problems.tree.topLevelItem(0)
    assert item.icon(0).pixmap(16).toImage() == warning_icon.pixmap(16).toImage()
    assert item.toolTip(0).startswith("Warning: the flow runs")
    problems.set_problems([Problem("nodes", "no trigger"), *found], flow)
    assert problems.summary.text() == ("1 error: the flow will not run until it is fixed; "
                                       "2 warnings: the flow runs, but these need fixing.")
    assert problems.tree.topLevelItem(0).toolTip(0).startswith("Error:")


def test_a_valid_flow_has_no_problems(problems, catalog):
    flow = Flow(name="ok", nodes=[Node(action="trigger.manual", name="Start")])
    problems.set_problems([Problem("nodes", "x")], flow)
    assert problems.validate(flow, catalog) == []
    assert problems.rows() == [] and problems.summary.text() == "No problems."


def test_node_of_paths():
    flow = looped()
    a, b = flow.nodes
    assert node_of(flow, "nodes[1].values.temperature") == b.id
    assert node_of(flow, "wires[0].target.port") == b.id
    assert node_of(flow, "wires[0].source.port") == a.id
    assert node_of(flow, "nodes[7]") is None and node_of(flow, "nodes") is None and node_of(flow, "") is None


# -- in the main window: half-built flows open and restore; their problems are listed --------------


def test_a_flow_without_a_trigger_reopens_and_its_problem_is_listed(window, tmp_path):
    from studio.flow.io import FlowLoadError, load_flow, save_flow

    flow = looped()
    path = tmp_path / "half.flow.json"
    save_flow(flow, path)
    with pytest.raises(FlowLoadError):  # full validation refuses it ...
        load_flow(path)
    assert window.open_file(path)  # ... the editor opens it
    assert [n.name for n in window.document.flow.nodes] == ["A", "B"]
    assert window.asked == []  # no "Cannot open" box
    messages = [m for _, m in window.problems.rows()]
    assert any("no trigger" in m for m in messages) and any("cycle" in m for m in messages)
    assert window.problems_dock.isVisible()
    assert "problem(s)" in window.statusBar().currentMessage()
    # double-click in the list selects the node on the canvas
    row = next(i for i, (_, m) in enumerate(window.problems.rows()) if "Temperature" in m)
    window.problems._activated(window.problems.tree.topLevelItem(row))
    assert window.canvas.selected_ids() == [flow.nodes[1].id]
    # fixing it empties the list
    window.canvas.add_action("trigger.manual", (0, 200))
    window.refresh_side_panels()
    assert not any("no trigger" in m for m in (m for _, m in window.problems.rows()))


def test_a_half_built_flow_is_restored_after_a_crash(window, qtbot):
    from studio.ui.main_window import MainWindow

    window.document.load(looped())
    window.canvas.add_note("unsaved")  # makes the document dirty
    assert window.autosave() is not None
    other = MainWindow(record_history=False, autosave=False)
    qtbot.addWidget(other)
    other.ask = lambda title, text, buttons: "Restore"
    assert other.offer_recovery()
    assert [n.name for n in other.document.flow.nodes] == ["A", "B"]
    assert any("no trigger" in m for _, m in other.problems.rows())
    other.document.undo_stack.setClean()
