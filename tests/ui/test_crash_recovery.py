"""Nothing lost on a crash: an editor process with unsaved edits is killed with SIGKILL right after
its autosave; the next editor offers the recovery file and restores exactly those edits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from studio.resources import examples_dir

EDITOR = textwrap.dedent("""
    import sys, time
    from qtpy.QtWidgets import QApplication
    from studio.ui.main_window import MainWindow

    app = QApplication([])
    window = MainWindow(record_history=False, autosave=True, theme="dark")
    assert window.open_file(sys.argv[1])
    node = window.document.flow.node_by_name("Write").id
    window.document.set_node_value(node, "temperature", 0.25)
    path = window.autosave()
    print("autosaved", path, flush=True)
    while True:  # an editor busy with something else when the machine kills it
        app.processEvents()
        time.sleep(0.01)
""")


def test_unsaved_edits_survive_a_kill(window, tmp_path):
    example = tmp_path / "chat-then-moderation.flow.json"  # the user's own file (an example opens as a copy)
    example.write_bytes((examples_dir() / example.name).read_bytes())
    proc = subprocess.Popen([sys.executable, "-c", EDITOR, str(example)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    try:
        line = proc.stdout.readline()
        assert line.startswith("autosaved"), line + proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    window.answers = ["Restore"]
    assert window.offer_recovery()
    restored = window.document.flow
    write = next(n for n in restored.nodes if n.action == "chat.create_completion")
    assert write.values["temperature"] == 0.25
    assert window.document.dirty  # restored work stays unsaved until the user saves it
    assert window.document.path == example  # Save writes back to the file that was open
