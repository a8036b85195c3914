"""The reports of a test session: a compact text report for terminals, JSON (`--json`) and JUnit
XML (`--junit FILE`) for CI systems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO
from xml.etree import ElementTree as ET

from .assertions import show
from .runner import FlowFile, TestOutcome

MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}


def failure_lines(outcome: TestOutcome) -> list[str]:
    """Why a test did not pass, a few lines (requests not in the cassette come first)."""
    lines = []
    if outcome.error:
        lines.extend(outcome.error.splitlines())
    if outcome.changes:
        lines.append("changed since the cassette was recorded:")
        lines.extend(f"  {line}" for line in outcome.changes)
    for miss in outcome.misses:
        lines.extend(miss.describe().splitlines())
    for result in outcome.assertions:
        if result.outcome == "failed":
            lines.append(f"{result.kind} on {result.where}: {result.message}")
            lines.append(f"  expected: {show(result.expected)}")
            lines.append(f"  actual:   {show(result.actual)}")
            if result.note:
                lines.append(f"  ({result.note})")
    return lines


def summary(outcomes: list[TestOutcome]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "error": 0}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts


def write_text(outcomes: list[TestOutcome], broken: list[FlowFile], stream: TextIO, *, untested: int = 0) -> None:
    for item in broken:
        print(f"ERROR {item.path}: {item.error}", file=stream)
    for outcome in outcomes:
        skipped = [a for a in outcome.assertions if a.outcome == "skipped"]
        extra = f", {len(skipped)} skipped (non-deterministic)" if skipped else ""
        print(f"{MARK.get(outcome.status, outcome.status.upper()):5} {outcome.flow_path} :: {outcome.test} "
              f"[{outcome.mode}, {outcome.duration_ms:.0f} ms{extra}]", file=stream)
        if outcome.status != "passed":
            for line in failure_lines(outcome):
                print(f"      {line}", file=stream)
    counts = summary(outcomes)
    parts = [f"{counts['passed']} passed", f"{counts['failed']} failed"]
    if counts["error"] or broken:
        parts.append(f"{counts['error'] + len(broken)} errors")
    if untested:
        parts.append(f"{untested} flow(s) without tests")
    print(", ".join(parts), file=stream)


def json_document(outcomes: list[TestOutcome], broken: list[FlowFile]) -> dict[str, Any]:
    counts = summary(outcomes)
    counts["error"] += len(broken)
    return {"summary": counts, "broken_files": [{"flow": str(b.path), "error": b.error} for b in broken],
            "tests": [o.to_json() for o in outcomes]}


def write_junit(outcomes: list[TestOutcome], broken: list[FlowFile], path: Path) -> None:
    """One <testsuite> per flow file, one <testcase> per test."""
    root = ET.Element("testsuites", name="studio test")
    suites: dict[str, ET.Element] = {}
    for item in broken:
        suite = ET.SubElement(root, "testsuite", name=str(item.path), tests="1", failures="0", errors="1")
        case = ET.SubElement(suite, "testcase", classname=str(item.path), name="(load)")
        ET.SubElement(case, "error", message=item.error[:500]).text = item.error
    for outcome in outcomes:
        suite = suites.get(outcome.flow_path)
        if suite is None:
            suite = suites[outcome.flow_path] = ET.SubElement(root, "testsuite", name=outcome.flow_path)
        case = ET.SubElement(suite, "testcase", classname=outcome.flow_name, name=outcome.test,
                             time=f"{outcome.duration_ms / 1000:.3f}")
        lines = failure_lines(outcome)
        if outcome.status == "failed":
            ET.SubElement(case, "failure", message=(lines[0] if lines else "failed")[:500]).text = "\n".join(lines)
        elif outcome.status == "error":
            ET.SubElement(case, "error", message=(lines[0] if lines else "error")[:500]).text = "\n".join(lines)
        skipped = [a for a in outcome.assertions if a.outcome == "skipped"]
        if skipped:
            ET.SubElement(case, "system-out").text = "\n".join(f"skipped {a.kind} on {a.where}: {a.message}"
                                                                for a in skipped)
    for name, suite in suites.items():
        mine = [o for o in outcomes if o.flow_path == name]
        suite.set("tests", str(len(mine)))
        suite.set("failures", str(sum(o.status == "failed" for o in mine)))
        suite.set("errors", str(sum(o.status == "error" for o in mine)))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def write_json(outcomes: list[TestOutcome], broken: list[FlowFile], stream: TextIO) -> None:
    json.dump(json_document(outcomes, broken), stream, indent=2, ensure_ascii=False, default=str)
    stream.write("\n")
