"""The main window's files: New, Open, Open Recent, Save, Save As, Import, Export and Export
bundle, and bundled examples (which open as new, unsaved copies so Save never overwrites them)."""

from __future__ import annotations

import logging
from pathlib import Path

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QFileDialog

from studio.flow.models import Flow, Node, Position, new_id

from .editor_settings import documents_dir, save_settings

log = logging.getLogger(__name__)

FILE_FILTER = "Flow files (*.flow.json *.json);;All files (*)"
MAX_RECENT = 10


class FilesMixin:
    """File commands of MainWindow (mixed in; reads the window's document, canvas and settings)."""

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded, or clean)."""
        if not self.document.dirty:
            return True
        answer = self.ask("Unsaved changes", f"Save changes to {self.document.flow.name}?", ["Save", "Discard", "Cancel"])
        if answer == "Save":
            return self.save()
        return answer == "Discard"

    def new_flow(self) -> None:
        if not self.maybe_save():
            return
        self._drop_recovery()
        self.origin_dir = None
        self.document.load(Flow())
        self.canvas.clear_statuses()
        self._show_canvas()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open flow", self._last_dir(), FILE_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path, *, ask_to_save: bool = True) -> bool:
        from studio.flow.io import FlowLoadError, load_flow

        if ask_to_save and not self.maybe_save():
            return False
        path = Path(path)
        try:
            # Half-built flows (no trigger yet, a loop) open too; their problems are listed.
            flow = load_flow(path, self.catalog, validate=False)
            data = path.read_bytes()
            self.origin_dir = None
        except FlowLoadError as exc:
            self.ask("Cannot open flow", str(exc), ["OK"])
            self.show_message(str(exc).splitlines()[0])
            return False
        except OSError as exc:
            self.ask("Cannot open flow", f"{path}: {exc}", ["OK"])
            return False
        self._drop_recovery()
        example = self._is_example(path)
        # A bundled example opens as a new, unsaved copy (by any route: Open, Open Recent, the
        # command line), so Save never overwrites it; its data files stay reachable.
        self.document.load(flow, None if example else path)
        if example:
            self.origin_dir = path.resolve().parent
        self._set_trust_source(flow, data)
        self.canvas.clear_statuses()
        self.runs.last_outputs.clear()
        self._show_canvas()
        QTimer.singleShot(0, self.canvas.fit)
        if not example:
            self._add_recent(path)
        problems = self.refresh_side_panels()
        errors = [p for p in problems if p.is_error]
        if problems:
            self.problems_dock.show()
            self.problems_dock.raise_()
            if errors:
                self.show_message(f"Opened {path} — {len(errors)} problem(s) to fix before it can run")
            else:
                self.show_message(f"Opened {path} — {len(problems)} warning(s): it runs, but see Problems")
        else:
            self.show_message(f"Opened {path}")
        return True

    def save(self) -> bool:
        if self.document.path is None or self._is_example(self.document.path):
            return self.save_as()
        return self._write(self.document.path)

    def save_as(self) -> bool:
        suggested = str(self._save_dir() / (self._slug(self.document.flow.name) + ".flow.json"))
        path, _ = QFileDialog.getSaveFileName(self, "Save flow", suggested, FILE_FILTER)
        if not path:
            return False
        return self._write(Path(path))

    def _write(self, path: Path) -> bool:
        from studio.flow.io import save_flow

        path = Path(path)
        if not path.name.endswith(".json"):
            path = path.with_name(path.name + ".flow.json")
        flow = self.document.flow
        carried = self._bundled_files() if self.document.path is None else []  # e.g. an example's data
        try:
            flow.version += 1
            save_flow(flow, path)
            copied = self._carry_files(carried, path.parent)
        except Exception as exc:  # noqa: BLE001 - disk full, permissions ...
            flow.version -= 1
            self.ask("Cannot save", f"{path}: {exc}", ["OK"])
            return False
        self.origin_dir = None
        self.document.mark_saved(path)
        self._remember_own(path)
        self._drop_recovery()
        self._add_recent(path)
        self.show_message(f"Saved {path}" + (f" with {len(copied)} data file(s) it reads" if copied else ""))
        return True

    @staticmethod
    def _carry_files(files: list[tuple[str, Path]], folder: Path) -> list[Path]:
        """Copy the files a flow reads by relative path next to its new location (never over an
        existing file), so a flow first saved elsewhere still finds them."""
        import shutil

        copied = []
        for relative, source in files:
            target = folder / relative
            if target.exists() or target.resolve() == source:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied.append(target)
        return copied

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import nodes from flow", self._last_dir(), FILE_FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: str | Path) -> list[str]:
        """Add another flow's nodes, wires and notes to this one (new ids, names kept unique)."""
        from studio.flow.io import FlowLoadError, load_flow

        try:
            other = load_flow(path, self.catalog)
            data = Path(path).read_bytes()
        except (FlowLoadError, OSError) as exc:
            self.ask("Cannot import", str(exc), ["OK"])
            return []
        self._set_trust_source(other, data, add=True)
        mapping = {n.id: new_id() for n in other.nodes}
        taken = {n.name for n in self.document.flow.nodes}
        offset = max((n.position.y for n in self.document.flow.nodes), default=-200) + 200
        nodes: list[Node] = []
        for n in other.nodes:
            copy = n.model_copy(deep=True)
            copy.id = mapping[n.id]
            name = n.name
            i = 2
            while name in taken:
                name = f"{n.name} {i}"
                i += 1
            taken.add(name)
            copy.name = name
            copy.position = Position(x=n.position.x, y=n.position.y + offset)
            nodes.append(copy)
        from studio.flow.models import Endpoint, Wire

        wires = [Wire(source=Endpoint(node=mapping[w.source.node], port=w.source.port),
                      target=Endpoint(node=mapping[w.target.node], port=w.target.port)) for w in other.wires]
        notes = []
        for note in other.notes:
            c = note.model_copy(deep=True)
            c.id = new_id()
            c.position = Position(x=note.position.x, y=note.position.y + offset)
            notes.append(c)
        self.document.add_nodes(nodes, wires, notes, text=f"Import {Path(path).name}")
        self._show_canvas()
        return [n.id for n in nodes]

    def export_dialog(self) -> bool:
        from studio.flow.io import save_flow

        suggested = str(self._save_dir() / (self._slug(self.document.flow.name) + ".flow.json"))
        path, _ = QFileDialog.getSaveFileName(self, "Export flow", suggested, FILE_FILTER)
        if not path:
            return False
        try:
            save_flow(self.document.flow, path)
        except Exception as exc:  # noqa: BLE001 - disk full, permissions ...: said, not swallowed
            log.warning("export failed", exc_info=True)
            self.ask("Cannot export", f"{path}: {exc}", ["OK"])
            return False
        self.show_message(f"Exported {path}")
        return True

    def export_bundle_dialog(self) -> bool:
        suggested = str(self._save_dir() / (self._slug(self.document.flow.name) + ".zip"))
        path, _ = QFileDialog.getSaveFileName(self, "Export bundle", suggested, "Zip files (*.zip)")
        if not path:
            return False
        try:
            self.export_bundle(path)
        except Exception as exc:  # noqa: BLE001 - disk full, permissions ...: said, not swallowed
            log.warning("export failed", exc_info=True)
            self.ask("Cannot export bundle", f"{path}: {exc}", ["OK"])
            return False
        return True

    def export_bundle(self, path: str | Path) -> Path:
        """A zip with the flow, its example inputs (what the Inputs tab holds now) and how to run
        it headless (studio.flow.bundle writes it)."""
        from studio.flow.bundle import example_inputs, write_bundle

        flow = self.document.flow
        self.run_inputs.set_flow(flow)
        inputs = example_inputs(flow, self.run_inputs.payload() if self.run_inputs.editors else None)
        path = write_bundle(flow, path, self.catalog, base=self._files_base(), inputs=inputs)
        self.show_message(f"Exported bundle {path}")
        return path

    def _files_base(self) -> Path | None:
        """The folder the flow's relative files are read from: its file's, or an example's."""
        return self.document.path.parent if self.document.path else self.origin_dir

    def _bundled_files(self) -> list[tuple[str, Path]]:
        from studio.flow.bundle import bundled_files

        return bundled_files(self.document.flow, self.catalog, self._files_base())

    @staticmethod
    def _slug(name: str) -> str:
        from studio.flow.bundle import slug

        return slug(name)

    def _last_dir(self) -> str:
        recent = [p for p in self.settings.get("recent", []) if not self._is_example(p)]
        return str(Path(recent[0]).parent) if recent else str(documents_dir())

    def _save_dir(self) -> Path:
        """Where Save As and Export start: the flow's own folder, else the user's documents
        folder (never the bundled examples)."""
        path = self.document.path
        if path is not None and not self._is_example(path):
            return Path(path).resolve().parent
        return documents_dir()

    @staticmethod
    def _is_example(path: str | Path) -> bool:
        """True for a file in the bundled examples folder (read-only to the editor)."""
        from studio import resources

        try:
            return Path(path).resolve().is_relative_to(resources.examples_dir().resolve())
        except (OSError, ValueError):
            return False

    def _add_recent(self, path: Path) -> None:
        recent = [str(Path(path).resolve())] + [p for p in self.settings.get("recent", []) if p != str(Path(path).resolve())]
        self.settings["recent"] = recent[:MAX_RECENT]
        save_settings(self.settings)
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.get("recent", [])
        for p in recent:
            action = self.recent_menu.addAction(p)
            action.triggered.connect(lambda _=False, p=p: self.open_file(p))
        self.recent_menu.setEnabled(bool(recent))

    def _open_example(self, path: str, run: bool) -> None:
        """Examples open as new, unsaved flows so the bundled file is never overwritten."""
        if not self.open_file(path):
            return
        if self.document.path is not None:  # an example from somewhere else than the bundle
            self.document.path = None
            self.origin_dir = Path(path).resolve().parent  # its data files stay reachable
            self.document.path_changed.emit()
        if run:
            index = self.run_on.findData(self._simulated_name())
            if index >= 0:
                self.run_on.setCurrentIndex(index)
            self.run_flow()

    @staticmethod
    def _simulated_name() -> str:
        from studio.credentials import SIMULATED

        return SIMULATED
