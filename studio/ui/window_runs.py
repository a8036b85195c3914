"""The main window's runs: Run, Run from / Run only the selected node, what a finished run
shows, pinned outputs, and past runs from History shown on the canvas."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from studio.flow.models import Flow


class RunsMixin:
    """Run commands of MainWindow (mixed in; the RunController does the running)."""

    def run_flow(self, start_at: str | None = None, only: str | None = None, trigger_payload: Any = None) -> bool:
        for f in self.panel.fields.values():  # a field still being typed in counts
            if f.editor.has_pending_edit():
                f.editor.commit()
        if not self.document.flow.nodes:
            self.show_message("Nothing to run: add a trigger and some nodes first.")
            return False
        if not self._ready_to_run():
            return False
        if trigger_payload is None and start_at is None and only is None:
            self.run_inputs.set_flow(self.document.flow)  # the fields as they are now
            if self.run_inputs.editors:
                trigger_payload = self.run_inputs.payload()
                if self.run_inputs.errors:
                    self.inputs_dock.show()
                    self.inputs_dock.raise_()
                    self.show_message("Not run: " + "; ".join(self.run_inputs.errors.values()))
                    return False
        if not self.runs.running and not self.check_trust():
            self.show_message("Not run: the flow was not trusted to start things on this computer.")
            return False
        self.canvas.clear_statuses()
        self.run_panel.reset()
        self.run_dock.show()
        self.run_dock.raise_()
        ok = self.runs.start(self.document.flow, flow_path=self.document.path, start_at=start_at, only=only,
                             trigger_payload=trigger_payload)
        self._update_run_actions()
        if ok:
            self.show_message("Running…" + (f" (on {self._run_connection()})" if self._run_connection() else ""))
        return ok

    def _ready_to_run(self) -> bool:
        """False, with the Problems panel shown, while the flow has errors (warnings do not
        stop a run): Problems says the flow will not run until they are fixed, so it does not."""
        blocker = self._run_blocker()
        if blocker is None:
            return True
        self.problems_dock.show()
        self.problems_dock.raise_()
        self.show_message(blocker)
        return False

    def _run_blocker(self) -> str | None:
        """Why the flow may not run now (the errors Problems lists), or None."""
        problems = self.problems.validate(self.document.flow, self.catalog, self.document)
        errors = [p for p in problems if p.is_error]
        if not errors:
            return None
        return f"Not run: {len(errors)} problem{'s' if len(errors) != 1 else ''} to fix first (see Problems): {errors[0]}"

    def run_selected(self, from_here: bool) -> bool:
        ids = self.canvas.selected_ids()
        if len(ids) != 1:
            self.show_message("Select one node first.")
            return False
        return self.run_flow(start_at=ids[0]) if from_here else self.run_flow(only=ids[0])

    def _on_run_finished(self, result: Any) -> None:
        from .run_panel import preview_from_output

        self.run_panel.on_finished(result)
        self.canvas.show_final([(nid, node.status, node.output) for nid, node in result.nodes.items()
                                if node.status == "succeeded"], preview_from_output)
        self._update_run_actions()
        if self.runs.record_history:
            self.history_panel.apply_retention()
            self.refresh_side_panels()
            self.history_panel.refresh()
        msg = f"Run {result.status} in {result.duration_ms / 1000:.2f} s"
        if result.error:
            msg += f": {result.error.get('message', '')}"
        self.show_message(msg, 15000)

    def _on_run_failed_to_start(self, message: str) -> None:
        self.run_panel.summary.setText(f"Could not start: {message}")
        self.show_message(message)
        self._update_run_actions()

    def _on_decided(self, node_id: str, request_id: str, approved: bool) -> None:
        verb = "Approved" if approved else "Rejected"
        if self.runs.running:
            self.show_message(f"{verb}; resuming the run…")
        else:
            self.show_message(f"{verb}. The run continues once every request of this node has an answer.")

    def _node_output(self, node_id: str) -> tuple[bool, Any]:
        """(has one, output) of a node's last successful run: this session's, or a past run shown."""
        if node_id in self.runs.last_outputs:
            return True, self.runs.last_outputs[node_id]
        state = self.run_panel.nodes.get(node_id) or {}
        return state.get("status") == "succeeded", state.get("output")

    def _pin_info(self, node_id: str) -> tuple[bool, bool]:
        if self.history_panel.flow_id != self.document.flow.id:
            self.refresh_side_panels()
        return node_id in self.history_panel.pinned(), self._node_output(node_id)[0]

    def pin_node_output(self, node_id: str, pin: bool = True) -> bool:
        """The canvas's Pin output / Unpin: the same pins as the History tab's buttons."""
        if self.history_panel.flow_id != self.document.flow.id:
            self.refresh_side_panels()
        name = self.document.node(node_id).name
        if not pin:
            done = self.history_panel.unpin(node_id)
            if done:
                self.show_message(f"Unpinned {name}: later runs run it again")
            return done
        has, output = self._node_output(node_id)
        if not has:
            self.show_message(f"{name} has no output to pin yet: run it first.")
            return False
        self.history_panel.history.pin_output(self.document.flow.id, node_id, output)
        self.history_panel.refresh()
        self.history_panel.pins_changed.emit(self.history_panel.pinned())
        self.show_message(f"Pinned the output of {name}: later runs reuse it")
        return True

    def inspect_node(self, node_id: str) -> None:
        self.run_dock.show()
        self.run_panel.show_node(node_id, self.document.node(node_id).name)

    def show_past_run(self, run: Any) -> None:
        """A recorded run on the canvas: badges and previews, and its outputs in the inspector."""
        from .run_panel import preview_from_output

        self._show_canvas()
        self.canvas.clear_statuses()
        self.run_panel.reset()
        known = set(self.document.node_ids())
        for node in run.nodes:
            self.run_panel.nodes[node.node_id] = {"name": node.node_name, "status": node.status, "output": node.output,
                                                  "error": node.error, "usage": node.usage, "steps": node.steps}
            if node.node_id in known:
                error = node.error.get("message") if isinstance(node.error, dict) else node.error
                preview = preview_from_output(node.output) if node.status == "succeeded" else error
                self.canvas.set_status(node.node_id, node.status, preview)
        if run.status == "waiting":
            self._adopt_waiting_run(run)
        self.run_panel.run_status = run.status
        total = (run.usage or {}).get("total_tokens")
        self.run_panel.tokens = total if isinstance(total, int) else 0
        duration = (run.finished_at - run.started_at) * 1000 if run.finished_at else None
        self.run_panel._summarise(duration_ms=duration)
        self.run_panel.refresh()  # the inspected node as it was in that run
        self.run_dock.show()
        self.show_message(f"Showing the {run.trigger} run of "
                          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(run.started_at))} ({run.status})")

    def _adopt_waiting_run(self, run: Any) -> None:
        """A past run that waits for approval: its cards can still continue it (the record the
        run kept on disk holds the agent's state)."""
        from studio.runs.records import load_run_record

        record = load_run_record(run.run_id)
        if not record or self.runs.running:
            return
        path = Path(record["flow_path"]) if record.get("flow_path") else None
        for entry in self.runs.adopt_waiting(record, self.document.flow, self.document.path or path):
            state = self.run_panel.nodes.setdefault(entry["node_id"], {"name": entry.get("node_name"), "usage": {}})
            state["status"] = "waiting"
            state["waiting"] = entry.get("requests") or []
            self.canvas.set_status(entry["node_id"], "waiting", f"{len(state['waiting'])} approval(s) pending")

    def _before_chat_run(self, flow: Flow) -> bool:
        """The Chat panel's runs pass the same gates as Run: no errors in Problems, and trust."""
        from studio.triggers.chat import ChatError

        if not self._ready_to_run():
            raise ChatError(self._run_blocker() or "the flow has problems to fix first (see Problems)")
        if not self.check_trust():
            return False
        self.canvas.clear_statuses()
        self.run_panel.reset()
        return True
