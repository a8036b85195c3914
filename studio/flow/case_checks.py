"""The pure checks of a flow's stored tests (`Flow.tests`): nodes, pinned outputs and the trigger
exist, assertion kinds and their fields fit the catalog, paths and patterns parse, and no two tests
share a cassette file. Validation (`validate.py`) reports them with the rest of the flow's
problems; `studio/testing` checks a test with them before it runs and reads outputs by path."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .errors import Problem

if TYPE_CHECKING:
    from studio.catalog.catalog import Catalog

    from .cases import FlowTest
    from .models import Flow

_STEP = re.compile(r"""\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(-?\d+)\]|\[["']([^"']*)["']\]""")


class PathError(Exception):
    pass


def path_steps(path: str) -> list[str | int]:
    """`choices[0].message.content` (or `$.choices[0]...`) as its keys and indexes."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[str | int] = []
    at = 0
    while at < len(text):
        match = _STEP.match(text, at)
        if match is None or match.end() == at:
            raise PathError(f"cannot read the path {path!r} at {text[at:]!r} (write keys with dots and "
                            "indexes in brackets: choices[0].message.content)")
        name, index, quoted = match.groups()
        steps.append(int(index) if index is not None else (name if name is not None else quoted))
        at = match.end()
    return steps


def cassette_file_name(test_name: str) -> str:
    """The file a test's recorded requests live in (inside the flow's `NAME.cassettes/`)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name.strip()).strip("-.") or "test"
    return f"{safe}.json"


def case_problems(flow: Flow, catalog: Catalog, test: FlowTest, where: str) -> list[Problem]:
    """What is wrong with one stored test (unknown kinds, nodes, missing fields), each at its path
    under `where` (`tests[0]`)."""
    names = {n.name for n in flow.nodes}
    out = [Problem(f"{where}.pinned.{name}", f"no node named {name!r} in the flow")
           for name in test.pinned if name not in names]
    if test.trigger and test.trigger not in names:
        out.append(Problem(f"{where}.trigger", f"no node named {test.trigger!r} in the flow"))
    same = [t.name for t in flow.tests if t is not test and cassette_file_name(t.name) == cassette_file_name(test.name)]
    if same:
        out.append(Problem(f"{where}.name", f"{test.name!r} would share its cassette with test {same[0]!r}; rename one"))
    for i, item in enumerate(test.assertions):
        here = f"{where}.assertions[{i}]"
        try:
            kind = catalog.assertion(item.kind)
        except KeyError:
            known = ", ".join(k.id for k in catalog.assertions)
            out.append(Problem(f"{here}.kind", f"unknown assertion kind {item.kind!r} (expected one of: {known})"))
            continue
        if item.node and item.node not in names:
            out.append(Problem(f"{here}.node", f"no node named {item.node!r} in the flow"))
        if kind.target in ("output", "node") and not item.node:
            out.append(Problem(f"{here}.node", f"{kind.id} needs a node"))
        for spec in kind.inputs:
            if spec.required and item.values.get(spec.key) in (None, ""):
                out.append(Problem(f"{here}.values.{spec.key}", f"required by {kind.id} ({spec.label})"))
        for key in item.values:
            if key not in {s.key for s in kind.inputs}:
                out.append(Problem(f"{here}.values.{key}", f"{kind.id} has no field {key!r}"))
        if item.path:
            try:
                path_steps(item.path)
            except PathError as exc:
                out.append(Problem(f"{here}.path", str(exc)))
        if kind.id == "matches":
            try:
                re.compile(str(item.values.get("pattern", "")))
            except re.error as exc:
                out.append(Problem(f"{here}.values.pattern", f"not a regular expression ({exc})"))
    return out


def stored_test_problems(flow: Flow, catalog: Catalog) -> list[Problem]:
    """Every stored test's problems for validation; each message names its test."""
    out: list[Problem] = []
    for index, test in enumerate(flow.tests):
        out.extend(Problem(p.path, f"test {test.name!r}: {p.message}")
                   for p in case_problems(flow, catalog, test, f"tests[{index}]"))
    return out
