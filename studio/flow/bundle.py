"""Export bundles: one zip with a flow, its example inputs, the data files it reads by relative
path, and a README saying how to run it headless. Below the UI so the editor and the command
line write the same bundle."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .io import dump_flow
from .models import Flow

if TYPE_CHECKING:
    from studio.catalog.catalog import Catalog


def slug(name: str) -> str:
    """A file-name-safe form of a flow's name (`My flow!` -> `my-flow`)."""
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "flow"


def bundled_files(flow: Flow, catalog: Catalog, base: Path | None) -> list[tuple[str, Path]]:
    """(relative path, file) of the files the flow names by a relative path (File inputs) that
    exist under `base`, the flow's folder, so a bundle runs elsewhere; anything outside the
    folder, absolute, or computed by an expression is left out."""
    from studio.catalog.models import ValueType

    if base is None:
        return []
    base = Path(base).resolve()
    found: dict[str, Path] = {}
    for node in flow.nodes:
        action = catalog.get(node.action) if node.action in catalog else None
        for spec in action.inputs if action else []:
            value = node.values.get(spec.key)
            if spec.type != ValueType.FILE or not isinstance(value, str) or "{{" in value:
                continue
            candidate = (base / value).resolve()
            if not Path(value).is_absolute() and candidate.is_file() and candidate.is_relative_to(base):
                found[candidate.relative_to(base).as_posix()] = candidate
    return sorted(found.items())


def example_inputs(flow: Flow, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The flow's saved example inputs with `overrides` (what the editor's Inputs tab holds now)."""
    inputs = flow.settings.get("example_inputs") or {}
    inputs = dict(inputs) if isinstance(inputs, dict) else {}
    return {**inputs, **(overrides or {})}


def readme(flow: Flow, inputs: dict[str, Any]) -> str:
    name = slug(flow.name)
    args = " ".join(f"--input {k}={json.dumps(v)!r}" for k, v in inputs.items())
    return (f"{flow.name}\n\n{flow.description}\n\n"
            f"Run it headless:\n  studio run {name}.flow.json {args}\n\n"
            "Connections are named, never stored: set OPENAI_API_KEY or save a connection in the editor.\n")


def write_bundle(flow: Flow, path: str | Path, catalog: Catalog, *, base: Path | None = None,
                 inputs: dict[str, Any] | None = None) -> Path:
    """Write the bundle zip to `path` (no half-written zip is left when writing fails; the error
    is raised for the caller to show). `base` is the folder the flow's relative files are read
    from; `inputs` the example inputs to ship (default: the flow's own)."""
    path = Path(path)
    name = slug(flow.name)
    inputs = example_inputs(flow) if inputs is None else inputs
    z = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
    try:
        with z:
            z.writestr(f"{name}/{name}.flow.json", dump_flow(flow))
            z.writestr(f"{name}/inputs.json", json.dumps(inputs, indent=2))
            z.writestr(f"{name}/README.txt", readme(flow, inputs))
            for relative, source in bundled_files(flow, catalog, base):
                z.write(source, f"{name}/{relative}")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
