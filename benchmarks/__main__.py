"""`make bench` (`python -m benchmarks`): run every figure, print one table, write results.json.

    python -m benchmarks                 # the full set (a few minutes on 2 cores)
    python -m benchmarks --quick         # tiny sizes: checks the benchmarks work, figures mean little
    python -m benchmarks --only engine   # engine | executor | webhook | editor | scaleout (repeatable)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .report import Figure, format_table, write_json

RESULTS = Path(__file__).resolve().parent / "results.json"
PARTS = ("engine", "executor", "webhook", "editor", "scaleout")

FULL = {
    "engine": dict(sizes=(100, 1000), chain=100, repeats=5, chain_repeats=11),
    "executor": dict(n=10_000, repeats=3),
    "webhook": dict(total=5000, connections=32, repeats=3, warm=300),
    "editor": dict(sizes=(100, 500, 1000), starts=3, selects=20, stall_requests=200),
    "scaleout": dict(executions=200, latency_ms=100.0, workers=(1, 2, 4), concurrency=8),
}
QUICK = {
    "engine": dict(sizes=(10,), chain=3, repeats=1, latency_ms=5.0, cancel=5),
    "executor": dict(n=50, repeats=1),
    "webhook": dict(total=40, connections=4, repeats=1, warm=5),
    "editor": dict(sizes=(5, 10), starts=1, selects=3, stall_requests=5, latency_ms=5.0),
    "scaleout": dict(executions=6, latency_ms=5.0, workers=(1, 2), concurrency=2),
}


def not_measured(part: str, error: BaseException) -> Figure:
    """A part that could not run is reported as such, never as a number."""
    return Figure(f"{part}: not measured", float("nan"), "", notes=f"{type(error).__name__}: {error}"[:300])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help=f"where to write the JSON (default {RESULTS})")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    out = args.out or (RESULTS if not args.quick else Path(tempfile.gettempdir()) / "flow-bench-quick.json")

    # Runs record history and settings: keep them out of the user's real folders.
    home = tempfile.mkdtemp(prefix="flow-bench-home-")
    os.environ["FLOW_STUDIO_HOME"] = home
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.pop("OPENAI_API_KEY", None)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    figures: list[Figure] = []
    failed = False
    began = time.perf_counter()
    for part in args.only or PARTS:
        log(f"{part} ...")
        started = time.perf_counter()
        try:
            module = __import__(f"benchmarks.{part}", fromlist=["run"])
            figures.extend(module.run(log=log, **settings[part]))
        except Exception as exc:  # noqa: BLE001 - one broken part must not hide the others
            traceback.print_exc()
            figures.append(not_measured(part, exc))
            failed = True
        log(f"{part}: {time.perf_counter() - started:.1f} s")
    print(format_table(figures))
    write_json(figures, out, extra={"total_seconds": round(time.perf_counter() - began, 1), "quick": args.quick,
                                    "settings": {k: settings[k] for k in (args.only or PARTS)}})
    log(f"wrote {out} ({time.perf_counter() - began:.0f} s in all)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
