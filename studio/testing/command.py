"""`studio test [FLOW|DIR ...]`: run every stored test of every flow and report. The parser part
imports nothing heavy, so `studio --version` stays instant.

Exit codes: 0 every test passed, 1 a test failed, 2 a bad file, bad test data or bad usage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], metavar="FLOW|DIR",
                        help="flow files, or folders searched for *.flow.json (default: the current folder)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only tests with this name (a glob such as 'smoke*'; repeatable)")
    parser.add_argument("--record", action="store_true",
                        help="run replayed tests for real and (re)write their cassettes")
    parser.add_argument("--base-url", help="when recording or live: the server to use (any OpenAI-compatible one)")
    parser.add_argument("--trust", action="store_true",
                        help="allow what the flows would start on this machine (local MCP commands, ports)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    parser.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report to FILE")
    parser.add_argument("--jobs", type=int, default=4, help="how many tests run at once (default 4)")


def test_command(args: argparse.Namespace) -> int:
    import asyncio

    from . import seam
    from .report import write_json, write_junit, write_text
    from .runner import flow_files, load, run_many, selected

    try:
        paths = flow_files(list(args.paths or ["."]))
        if args.jobs < 1:
            raise seam.UsageError("--jobs must be at least 1")
    except seam.UsageError as exc:
        print(f"studio test: {exc}", file=sys.stderr)
        return EXIT_USAGE
    items = [load(p) for p in paths]
    broken = [i for i in items if i.flow is None]
    loaded = [i for i in items if i.flow is not None]
    untested = sum(1 for i in loaded if not selected(i.flow, args.only))
    if args.only and not any(selected(i.flow, args.only) for i in loaded):
        print(f"studio test: no test named {' or '.join(args.only)} in {len(loaded)} flow file(s)", file=sys.stderr)
        return EXIT_USAGE
    outcomes = asyncio.run(run_many(loaded, only=args.only or None, record=args.record, base_url=args.base_url,
                                    trust=args.trust, jobs=args.jobs))
    if args.json:
        write_json(outcomes, broken, sys.stdout)
    else:
        write_text(outcomes, broken, sys.stdout, untested=untested)
    if args.junit:
        write_junit(outcomes, broken, Path(args.junit))
    if broken or any(o.status == "error" for o in outcomes):
        return EXIT_USAGE
    return EXIT_FAILED if any(o.status == "failed" for o in outcomes) else EXIT_OK
