"""One row per figure, printed as a table and written as JSON."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    goal: str = ""
    met: bool | None = None
    notes: str = ""

    @property
    def measured(self) -> bool:
        return not math.isnan(self.value)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or not self.measured:
            return None
        return self.value / self.baseline


def format_table(figures: list[Figure]) -> str:
    header = ("figure", "value", "baseline", "ratio", "goal", "met")
    rows = [header]
    for f in figures:
        base = f"{f.baseline:.3f} {f.unit} ({f.baseline_name})" if f.baseline is not None else (f.baseline_name or "-")
        rows.append((
            f.name,
            f"{f.value:.3f} {f.unit}" if f.measured else "not measured",
            base,
            f"{f.ratio:.3f}" if f.ratio is not None else "-",
            f.goal or "-",
            {True: "yes", False: "NO", None: "-"}[f.met],
        ))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(figures: list[Figure], path: Path, extra: dict | None = None) -> None:
    """A figure that was not measured has `value: null` (JSON has no NaN)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        **(extra or {}),
        "figures": [dict(asdict(f), value=f.value if f.measured else None, ratio=f.ratio) for f in figures],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
