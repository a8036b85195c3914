"""The editor's handle on one flow document: every edit goes through an undo command here, and
views (canvas, property panel) follow the signals. The document is the authority; views never
write to each other."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Callable

from qtpy.QtCore import QObject, Signal
from qtpy.QtGui import QUndoCommand, QUndoStack

from studio.flow.models import Flow, Group, Node, Note, Position, Wire


class _Edit(QUndoCommand):
    """A reversible edit expressed as two functions over the document."""

    def __init__(self, text: str, redo: Callable[[], None], undo: Callable[[], None], merge_id: int = -1,
                 merge_key: Any = None) -> None:
        super().__init__(text)
        self._redo, self._undo = redo, undo
        self._merge_id, self.merge_key = merge_id, merge_key

    def redo(self) -> None:
        self._redo()

    def undo(self) -> None:
        self._undo()

    def id(self) -> int:  # noqa: A003 - Qt's name
        return self._merge_id


class FlowDocument(QObject):
    """Signals carry node ids; listeners read the current state from `flow`."""

    changed = Signal()  # anything changed (dirty marker, autosave)
    node_added = Signal(str)
    node_removed = Signal(str)
    node_changed = Signal(str)  # values, name, settings or position of one node
    wires_changed = Signal()
    notes_changed = Signal()
    groups_changed = Signal()
    path_changed = Signal()
    tests_changed = Signal()  # the flow's stored test cases
    reset = Signal()  # a different flow is shown (open, new, restore): views rebuild

    def __init__(self, flow: Flow | None = None, path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._flow = flow or Flow()
        self._places: dict[str, int] = {}  # node id -> its place in the flow's list (see node())
        self.path = path
        self.catalog: Any = None  # the catalog, when known: says which inputs name a node
        self.undo_stack = QUndoStack(self)
        self.undo_stack.indexChanged.connect(self._on_index)
        # validate_flow's findings for the current state; every content signal below drops them
        # (every undo command emits one). These connections come first, so a view that reacts to
        # a signal sees fresh problems. Renaming the flow emits path_changed only: the flow's name
        # and settings are part of the cache key instead.
        self._problems: list[Any] | None = None
        self._problems_key: Any = None
        for signal in (self.node_added, self.node_removed, self.node_changed, self.wires_changed,
                       self.notes_changed, self.groups_changed, self.reset):
            signal.connect(self.forget_problems)

    def _on_index(self, _index: int) -> None:
        self.changed.emit()

    def problems(self, catalog: Any) -> list[Any]:
        """`check_flow(flow, catalog)` (errors, then warnings), computed once per state of the
        document: selecting a node in a 1000-node flow used to re-check the whole flow (66 ms)
        each time. Raises what the validator raises."""
        key = (id(catalog), id(self._flow), self._flow.name, repr(self._flow.settings))
        if self._problems is None or self._problems_key != key:
            from studio.flow.validate import check_flow

            self._problems = check_flow(self._flow, catalog)
            self._problems_key = key
        return list(self._problems)

    def forget_problems(self, *_args: Any) -> None:
        """Drop the cached problems (every edit does; call it after changing `flow` directly)."""
        self._problems = None

    @property
    def flow(self) -> Flow:
        return self._flow

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self.undo_stack.setClean()
        self.path_changed.emit()

    # -- node values -------------------------------------------------------------------------

    def set_node_value(self, node_id: str, key: str, value: Any) -> None:
        """Set one input value (None removes it, so the documented default applies). Undoable;
        consecutive edits of the same field merge into one undo step."""
        node = self._flow.node(node_id)
        missing = object()
        before = copy.deepcopy(node.values[key]) if key in node.values else missing
        after = copy.deepcopy(value)

        def apply(v: Any) -> Callable[[], None]:
            def run() -> None:
                n = self._flow.node(node_id)
                if v is missing or v is None:
                    n.values.pop(key, None)
                else:
                    n.values[key] = copy.deepcopy(v)
                self.node_changed.emit(node_id)
            return run

        self.undo_stack.push(_Edit(f"Edit {key}", apply(after), apply(before)))

    def set_node_field(self, node_id: str, field: str, value: Any) -> None:
        """Set a node attribute other than its input values (name, disabled, on_error, retry)."""
        if field == "name":
            self.rename_node(node_id, value)
            return
        node = self._flow.node(node_id)
        before = copy.deepcopy(getattr(node, field))

        def apply(v: Any) -> Callable[[], None]:
            def run() -> None:
                setattr(self._flow.node(node_id), field, copy.deepcopy(v))
                self.node_changed.emit(node_id)
            return run

        self.undo_stack.push(_Edit(f"Change {field}", apply(value), apply(before)))

    def rename_node(self, node_id: str, name: str) -> None:
        """Rename a node and everything that names it, as one undo step, so a rename never breaks
        the flow: expressions that read it (`nodes.Old...` in any node's values), inputs whose
        value is a node's name (the catalog marks them, e.g. a Chat Trigger's Reply Node), the
        flow's own reply node setting and the stored tests that name it."""
        from studio.flow.cases import rename_node_in_tests
        from studio.flow.references import referenced_names, rename_in_value

        old = self._flow.node(node_id).name
        if name == old:
            return
        naming = self._node_name_inputs()
        values_before = {n.id: copy.deepcopy(n.values) for n in self._flow.nodes
                         if any(old in referenced_names(v) or (k in naming.get(n.action, ()) and v == old)
                                for k, v in n.values.items())}
        values_after = {nid: {k: name if k in naming.get(self._flow.node(nid).action, ()) and v == old
                              else rename_in_value(v, old, name) for k, v in values.items()}
                        for nid, values in values_before.items()}
        settings_before = copy.deepcopy(self._flow.settings)
        settings_after = copy.deepcopy(settings_before)
        if settings_after.get("reply_node") == old:
            settings_after["reply_node"] = name
        tests_before = copy.deepcopy(self._flow.tests)
        tests_after = rename_node_in_tests(tests_before, old, name)

        def apply(new_name: str, values: dict[str, dict[str, Any]], settings: dict[str, Any],
                  tests: list[Any]) -> Callable[[], None]:
            def run() -> None:
                self._flow.node(node_id).name = new_name
                self._flow.settings = copy.deepcopy(settings)
                for nid, vals in values.items():
                    self._flow.node(nid).values = copy.deepcopy(vals)
                if tests != self._flow.tests:
                    self._flow.tests = copy.deepcopy(tests)
                    self.tests_changed.emit()
                for nid in dict.fromkeys([node_id, *values]):
                    self.node_changed.emit(nid)
            return run

        count = len(values_after) - (node_id in values_after)
        text = f"Rename {old} to {name}" + (f" (and {count} node{'s' if count != 1 else ''} naming it)" if count else "")
        self.undo_stack.push(_Edit(text, apply(name, values_after, settings_after, tests_after),
                                   apply(old, values_before, settings_before, tests_before)))

    def _node_name_inputs(self) -> dict[str, set[str]]:
        """Action id -> keys of its inputs whose value is a node's name (from `catalog`)."""
        if self.catalog is None:
            return {}
        return {a.id: {i.key for i in a.inputs if i.names_node} for a in self.catalog.actions
                if any(i.names_node for i in a.inputs)}

    def node(self, node_id: str) -> Node:
        """The node with this id. Its place in the flow's list is remembered and checked at each
        look-up, made again when the list has changed: panels, badges and the canvas look nodes
        up dozens of times a selection (in a 1,000-node flow a scan is 23 us)."""
        nodes = self._flow.nodes
        at = self._places.get(node_id)
        if at is not None and at < len(nodes) and nodes[at].id == node_id:
            return nodes[at]
        self._places = {}
        for index, n in enumerate(nodes):
            self._places.setdefault(n.id, index)  # the first of a duplicate id, as Flow.node
        at = self._places.get(node_id)
        return nodes[at] if at is not None else self._flow.node(node_id)  # (its KeyError)

    def node_ids(self) -> list[str]:
        return [n.id for n in self._flow.nodes]

    def unique_name(self, base: str) -> str:
        """A node name not yet used in this flow (names are how expressions address nodes)."""
        base = re.sub(r"[^A-Za-z0-9_ -]", "", base).strip() or "Node"
        if not re.match(r"[A-Za-z_]", base[0]):
            base = "N " + base
        base = base[:72]
        taken = {n.name for n in self._flow.nodes}
        if base not in taken:
            return base
        i = 2
        while f"{base} {i}" in taken:
            i += 1
        return f"{base} {i}"

    # -- structure: nodes, wires, notes ------------------------------------------------------

    def add_nodes(self, nodes: list[Node], wires: list[Wire] = (), notes: list[Note] = (),
                  text: str = "Add node") -> None:
        """Add nodes (and wires/notes among them, e.g. a paste) as one undo step."""
        nodes = [n.model_copy(deep=True) for n in nodes]
        wires, notes = list(wires), [n.model_copy(deep=True) for n in notes]

        def redo() -> None:
            for n in nodes:
                self._flow.nodes.append(n.model_copy(deep=True))
                self.node_added.emit(n.id)
            if wires:
                self._flow.wires.extend(wires)
                self.wires_changed.emit()
            if notes:
                self._flow.notes.extend(n.model_copy(deep=True) for n in notes)
                self.notes_changed.emit()

        def undo() -> None:
            ids = {n.id for n in nodes}
            note_ids = {n.id for n in notes}
            if wires:
                self._flow.wires = [w for w in self._flow.wires if w not in wires]
                self.wires_changed.emit()
            if notes:
                self._flow.notes = [n for n in self._flow.notes if n.id not in note_ids]
                self.notes_changed.emit()
            self._flow.nodes = [n for n in self._flow.nodes if n.id not in ids]
            for n in nodes:
                self.node_removed.emit(n.id)

        self.undo_stack.push(_Edit(text, redo, undo))

    def add_node(self, node: Node) -> None:
        self.add_nodes([node], text=f"Add {node.name}")

    def remove_nodes(self, node_ids: list[str], note_ids: list[str] = ()) -> None:
        """Delete nodes with every wire touching them (and notes) as one undo step."""
        ids = set(node_ids)
        nids = set(note_ids)
        saved = [(i, n.model_copy(deep=True)) for i, n in enumerate(self._flow.nodes) if n.id in ids]
        saved_wires = [(i, w) for i, w in enumerate(self._flow.wires) if w.source.node in ids or w.target.node in ids]
        saved_notes = [(i, n.model_copy(deep=True)) for i, n in enumerate(self._flow.notes) if n.id in nids]
        if not saved and not saved_notes:
            return

        def redo() -> None:
            if saved_wires:
                self._flow.wires = [w for w in self._flow.wires if not (w.source.node in ids or w.target.node in ids)]
                self.wires_changed.emit()
            self._flow.nodes = [n for n in self._flow.nodes if n.id not in ids]
            for _, n in saved:
                self.node_removed.emit(n.id)
            if saved_notes:
                self._flow.notes = [n for n in self._flow.notes if n.id not in nids]
                self.notes_changed.emit()

        def undo() -> None:
            for i, n in saved:
                self._flow.nodes.insert(i, n.model_copy(deep=True))
                self.node_added.emit(n.id)
            for i, w in saved_wires:
                self._flow.wires.insert(i, w)
            if saved_wires:
                self.wires_changed.emit()
            for i, n in saved_notes:
                self._flow.notes.insert(i, n.model_copy(deep=True))
            if saved_notes:
                self.notes_changed.emit()

        count = len(saved) + len(saved_notes)
        self.undo_stack.push(_Edit(f"Delete {count} item{'s' if count != 1 else ''}", redo, undo))

    def move_nodes(self, positions: dict[str, tuple[float, float]], text: str = "Move") -> None:
        """Set canvas positions of several nodes as one undo step (a drag, or auto-layout)."""
        positions = {k: (float(x), float(y)) for k, (x, y) in positions.items() if self._has_node(k)}
        before = {k: (self.node(k).position.x, self.node(k).position.y) for k in positions}
        if all(before[k] == positions[k] for k in positions):
            return

        def apply(pos: dict[str, tuple[float, float]]) -> Callable[[], None]:
            def run() -> None:
                for nid, (x, y) in pos.items():
                    self._flow.node(nid).position = Position(x=x, y=y)
                    self.node_changed.emit(nid)
            return run

        self.undo_stack.push(_Edit(text, apply(positions), apply(before)))

    def connect(self, wire: Wire) -> None:
        if wire in self._flow.wires:
            return
        self.edit_wires(add=[wire], text="Connect")

    def disconnect(self, wire: Wire) -> None:
        if wire not in self._flow.wires:
            return
        self.edit_wires(remove=[wire], text="Disconnect")

    def edit_wires(self, add: list[Wire] = (), remove: list[Wire] = (), text: str = "Connect") -> None:
        """Remove then add wires as one undo step (re-routing a pipe is both)."""
        before = list(self._flow.wires)
        after = [w for w in before if w not in remove]
        after += [w for w in add if w not in after]
        if after == before:
            return

        def apply(wires: list[Wire]) -> Callable[[], None]:
            def run() -> None:
                self._flow.wires = list(wires)
                self.wires_changed.emit()
            return run

        self.undo_stack.push(_Edit(text, apply(after), apply(before)))

    def add_note(self, note: Note) -> None:
        note = note.model_copy(deep=True)

        def redo() -> None:
            self._flow.notes.append(note.model_copy(deep=True))
            self.notes_changed.emit()

        def undo() -> None:
            self._flow.notes = [n for n in self._flow.notes if n.id != note.id]
            self.notes_changed.emit()

        self.undo_stack.push(_Edit("Add note", redo, undo))

    def set_note(self, note_id: str, **fields: Any) -> None:
        """Change a note's text, position, width or height (undoable)."""
        note = next(n for n in self._flow.notes if n.id == note_id)
        before = {k: copy.deepcopy(getattr(note, k)) for k in fields}
        if all(before[k] == fields[k] for k in fields):
            return

        def apply(values: dict[str, Any]) -> Callable[[], None]:
            def run() -> None:
                n = next(n for n in self._flow.notes if n.id == note_id)
                for k, v in values.items():
                    setattr(n, k, copy.deepcopy(v))
                self.notes_changed.emit()
            return run

        self.undo_stack.push(_Edit("Edit note", apply(fields), apply(before)))

    # -- groups ------------------------------------------------------------------------------

    def add_group(self, group: Group) -> None:
        group = group.model_copy(deep=True)

        def redo() -> None:
            self._flow.groups.append(group.model_copy(deep=True))
            self.groups_changed.emit()

        def undo() -> None:
            self._flow.groups = [g for g in self._flow.groups if g.id != group.id]
            self.groups_changed.emit()

        self.undo_stack.push(_Edit(f"Add group {group.title}", redo, undo))

    def group(self, group_id: str) -> Group:
        return next(g for g in self._flow.groups if g.id == group_id)

    def set_group(self, group_id: str, nodes: dict[str, tuple[float, float]] | None = None, **fields: Any) -> None:
        """Change a group's title, colour, position or size, and move `nodes` (id -> x, y) with
        it: a frame dragged with the nodes inside is one undo step."""
        group = self.group(group_id)
        before = {k: copy.deepcopy(getattr(group, k)) for k in fields}
        nodes = {k: (float(x), float(y)) for k, (x, y) in (nodes or {}).items() if self._has_node(k)}
        nodes_before = {k: (self.node(k).position.x, self.node(k).position.y) for k in nodes}
        if all(before[k] == fields[k] for k in fields) and nodes == nodes_before:
            return

        def apply(values: dict[str, Any], positions: dict[str, tuple[float, float]]) -> Callable[[], None]:
            def run() -> None:
                g = self.group(group_id)
                for k, v in values.items():
                    setattr(g, k, copy.deepcopy(v))
                self.groups_changed.emit()
                for nid, (x, y) in positions.items():
                    self._flow.node(nid).position = Position(x=x, y=y)
                    self.node_changed.emit(nid)
            return run

        text = "Move group" if "position" in fields else "Resize group" if "width" in fields else "Edit group"
        self.undo_stack.push(_Edit(text, apply(fields, nodes), apply(before, nodes_before)))

    def remove_groups(self, group_ids: list[str]) -> None:
        """Delete frames (the nodes inside stay)."""
        ids = set(group_ids)
        saved = [(i, g.model_copy(deep=True)) for i, g in enumerate(self._flow.groups) if g.id in ids]
        if not saved:
            return

        def redo() -> None:
            self._flow.groups = [g for g in self._flow.groups if g.id not in ids]
            self.groups_changed.emit()

        def undo() -> None:
            for i, g in saved:
                self._flow.groups.insert(i, g.model_copy(deep=True))
            self.groups_changed.emit()

        self.undo_stack.push(_Edit(f"Delete {len(saved)} group{'s' if len(saved) != 1 else ''}", redo, undo))

    def set_flow_name(self, name: str) -> None:
        before = self._flow.name

        def apply(v: str) -> Callable[[], None]:
            def run() -> None:
                self._flow.name = v
                self.path_changed.emit()
            return run

        self.undo_stack.push(_Edit("Rename flow", apply(name), apply(before)))

    def set_tests(self, tests: list[Any], text: str = "Edit tests") -> None:
        """Replace the flow's stored test cases (one undoable edit)."""
        before = copy.deepcopy(self._flow.tests)
        after = copy.deepcopy(list(tests))

        def apply(v: list[Any]) -> Callable[[], None]:
            def run() -> None:
                self._flow.tests = copy.deepcopy(v)
                self.tests_changed.emit()
            return run

        self.undo_stack.push(_Edit(text, apply(after), apply(before)))

    def load(self, flow: Flow, path: Path | None = None) -> None:
        """Show another flow (Open, New, restore): not undoable, starts clean."""
        self._flow = flow
        self.path = path
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.reset.emit()
        self.path_changed.emit()
        self.changed.emit()

    def _has_node(self, node_id: str) -> bool:
        return any(n.id == node_id for n in self._flow.nodes)
