"""Files in the editor: save and reopen give the same flow, the dirty prompt guards unsaved work,
autosave writes a recovery file that is offered after a crash, import and export bundles."""

import json
import zipfile

from studio.flow.io import dump_flow, load_flow
from studio.flow.models import Endpoint, Wire


def _build(window):
    canvas, doc = window.canvas, window.document
    a = canvas.add_action("trigger.manual", (0, 0))
    b = canvas.add_action("chat.create_completion", (300, 0))
    doc.connect(Wire(source=Endpoint(node=a, port="output"), target=Endpoint(node=b, port="in")))
    doc.set_node_value(b, "model", "gpt-4.1")
    canvas.add_note("a sticky note")
    return a, b


def test_save_and_reopen_equal(window, tmp_path):
    _build(window)
    before = window.document.flow.model_copy(deep=True)
    path = tmp_path / "mine.flow.json"
    assert window._write(path)
    assert not window.document.dirty and "[*]" in window.windowTitle()
    saved = load_flow(path, window.catalog)
    window.document.load(before.model_copy(update={"name": "other"}))  # something else in between
    assert window.open_file(path)
    reopened = window.document.flow
    assert dump_flow(reopened) == dump_flow(saved)
    assert reopened.model_copy(update={"version": before.version}) == before
    assert window.settings["recent"][0] == str(path.resolve())
    # the canvas shows what was reopened
    assert len(window.canvas.graph.all_nodes()) == 2 and len(window.canvas.viewer.all_pipes()) == 1


def test_dirty_prompt_guards_unsaved_work(window):
    _build(window)
    assert window.document.dirty and window.isWindowModified()
    window.answers = ["Cancel"]
    window.new_flow()
    assert len(window.document.flow.nodes) == 2 and window.asked
    window.answers = ["Discard"]
    window.new_flow()
    assert window.document.flow.nodes == [] and not window.document.dirty


def test_autosave_and_recovery_offer(window, qtbot):
    from studio.ui.main_window import MainWindow, recovery_dir

    _build(window)
    written = window.autosave()
    assert written is not None and written.parent == recovery_dir()
    assert json.loads(written.read_text())["nodes"][1]["values"]["model"] == "gpt-4.1"
    # a new window (after a crash) offers the file and restores it as unsaved work
    other = MainWindow(record_history=False, autosave=False)
    qtbot.addWidget(other)
    other.ask = lambda title, text, buttons: "Restore"
    assert other.offer_recovery()
    assert [n.name for n in other.document.flow.nodes] == [n.name for n in window.document.flow.nodes]
    assert other.document.dirty
    other.document.undo_stack.setClean()
    # saving drops the recovery file
    window.document.undo_stack.setClean()
    window._drop_recovery()
    assert not written.exists()


def test_import_and_export_bundle(window, tmp_path):
    _build(window)
    path = tmp_path / "a.flow.json"
    window._write(path)
    ids = window.import_file(path)
    assert len(ids) == 2 and len(window.document.flow.nodes) == 4 and len(window.document.flow.wires) == 2
    assert len({n.name for n in window.document.flow.nodes}) == 4
    window.document.flow.settings["example_inputs"] = {"topic": "tides"}
    bundle = window.export_bundle(tmp_path / "b.zip")
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        flow_file = next(n for n in names if n.endswith(".flow.json"))
        assert json.loads(z.read(flow_file))["name"] == window.document.flow.name
        inputs = next(n for n in names if n.endswith("inputs.json"))
        assert json.loads(z.read(inputs)) == {"topic": "tides"}


def test_an_exported_bundle_runs_elsewhere_with_its_data_file_and_typed_inputs(window, tmp_path):
    """The bundle carries the files the flow reads by relative path and the Inputs tab's values,
    and `studio run` of the unpacked bundle in another folder succeeds."""
    import subprocess
    import sys

    from studio.connectors.openai.fake_server import FakeOpenAIServer
    from studio.resources import examples_dir

    window._open_example(str(examples_dir() / "file-upload-list-delete.flow.json"), False)
    bundle = window.export_bundle(tmp_path / "files.zip")
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        assert any(n.endswith("/data/notes.jsonl") for n in names)
        z.extractall(tmp_path / "elsewhere")
    flow_file = next((tmp_path / "elsewhere").rglob("*.flow.json"))
    with FakeOpenAIServer(latency_ms=0) as server:
        done = subprocess.run([sys.executable, "-m", "studio.cli", "run", str(flow_file), "--base-url",
                               server.base_url, "--json"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        uploads = server.requests_to("/files", "POST")
    assert done.returncode == 0, done.stderr
    assert len(uploads) == 1 and uploads[0].files["file"][0] == "notes.jsonl"

    window.document.undo_stack.setClean()
    window._open_example(str(examples_dir() / "chat-then-moderation.flow.json"), False)
    window.refresh_side_panels()
    window.run_inputs.editors["topic"][1].setText("kelp")
    with zipfile.ZipFile(window.export_bundle(tmp_path / "chat.zip")) as z:
        inputs = json.loads(z.read(next(n for n in z.namelist() if n.endswith("inputs.json"))))
    assert inputs == {"topic": "kelp"}


def test_saving_an_example_elsewhere_takes_its_data_files_along(window, tmp_path, run_async):
    from studio.connectors.openai.fake_server import FakeOpenAIServer
    from studio.resources import examples_dir

    window._open_example(str(examples_dir() / "file-upload-list-delete.flow.json"), False)
    target = tmp_path / "mine" / "upload.flow.json"
    target.parent.mkdir()
    assert window._write(target)
    assert (target.parent / "data" / "notes.jsonl").read_bytes() == \
        (examples_dir() / "data" / "notes.jsonl").read_bytes()
    assert window.origin_dir is None and window.document.path == target
    with FakeOpenAIServer(latency_ms=0) as server:
        window.runs.base_url = server.base_url
        assert window.run_flow()
        result = run_async(window.runs.wait())
    assert result.status == "succeeded", result.error
