"""`studio`: the desktop editor by default, and headless subcommands for terminals and CI.

Exit codes: 0 success, 1 a node failed, 2 bad file or usage, 3 waiting for approval,
130 interrupted. Each subcommand lives in its own function and imports what it needs lazily,
so `studio --version` stays instant and never loads Qt."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WAITING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _version() -> str:
    try:
        return metadata.version("flow-studio")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def cmd_gui(args: argparse.Namespace) -> int:
    from studio.ui.app import run_app

    return run_app(args.files)


def cmd_catalog(args: argparse.Namespace) -> int:
    from studio.catalog import load_catalog

    catalog = load_catalog()
    if args.json:
        json.dump(catalog.to_public_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    for action in catalog.actions:
        names = ", ".join(f"{s.system}: {s.name}" for s in action.sources)
        print(f"{action.kind:8} {action.id:40} {action.title}" + (f"  [{names}]" if names else ""))
    return EXIT_OK


def cmd_connections(args: argparse.Namespace) -> int:
    from studio.runs.saved_connections import connections_command

    return connections_command(args)


def cmd_schema(args: argparse.Namespace) -> int:
    from studio.flow.schema import flow_json_schema

    json.dump(flow_json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Errors fail the file (exit 2); warnings (an empty required field, a broken stored test)
    are listed, and the file is still ok: it loads and runs."""
    from studio.catalog import load_catalog
    from studio.flow.io import FlowLoadError, load_flow
    from studio.flow.validate import flow_warnings

    status = EXIT_OK
    catalog = load_catalog()
    for path in args.files:
        try:
            flow = load_flow(path, catalog=catalog)
        except FlowLoadError as exc:
            print(str(exc), file=sys.stderr)
            status = EXIT_USAGE
            continue
        warnings = flow_warnings(flow, catalog)
        for warning in warnings:
            print(f"{path}: warning: {warning}", file=sys.stderr)
        print(f"{path}: ok" + (f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""))
    return status


def _file_logging() -> None:
    """Runs log to the rotating file (with the redaction filter); stderr stays for progress."""
    from studio.logs import setup_logging

    try:
        setup_logging(to_stderr=False)
    except OSError as exc:  # a read-only home must not stop a run
        print(f"studio: logging to file is off ({exc})", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from studio.runs.terminal import run_in_terminal

    _file_logging()
    return run_in_terminal(args.flow, inputs=args.input, base_url=args.base_url, as_json=args.json,
                           trust=args.trust, concurrency=args.concurrency, use_pinned=args.use_pinned,
                           connection=args.connection, simulated=args.simulated)


def cmd_resume(args: argparse.Namespace) -> int:
    from studio.runs.terminal import resume_in_terminal

    _file_logging()
    return resume_in_terminal(args.run_id, approve=args.approve, reject=args.reject, base_url=args.base_url,
                              as_json=args.json, trust=args.trust)


def cmd_test(args: argparse.Namespace) -> int:
    from studio.testing.command import test_command

    _file_logging()  # libraries' warnings go to the log file, not between the report's lines
    return test_command(args)


def cmd_import_n8n(args: argparse.Namespace) -> int:
    """Exit 0 when a flow was written (placeholders or not), 2 when the input is not an n8n workflow."""
    from studio.importers.n8n import NotAnN8nWorkflow, import_file
    from studio.importers.n8n.pins import save_pins

    try:
        result = import_file(args.workflow)
    except NotAnN8nWorkflow as exc:
        print(f"studio import n8n: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from studio.flow.io import save_flow

    try:
        save_flow(result.flow, args.output)
    except OSError as exc:
        print(f"studio import n8n: cannot write {args.output}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    pin_error = save_pins(result)
    if pin_error:
        result.report.warnings.append(pin_error)
    if args.json:
        json.dump({"flow": str(args.output), **result.report.to_json()}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(f"{args.output}: written")
        for line in result.report.summary_lines():
            print(f"  {line}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from studio.runs.serve import serve_in_terminal

    dispatch = None
    if args.queue:  # queue mode: triggers enqueue runs, `studio worker` runs them
        from studio.queue.enqueue import Enqueuer

        try:
            dispatch = Enqueuer(args.queue)
        except ValueError as exc:
            print(f"studio serve: {exc}", file=sys.stderr, flush=True)
            return EXIT_USAGE
    try:
        return serve_in_terminal(args.flows, host=args.host, port=args.port, base_url=args.base_url,
                                 grace=args.grace, trust=args.trust, dispatch=dispatch)
    finally:
        if dispatch is not None:
            dispatch.close()


def cmd_worker(args: argparse.Namespace) -> int:
    from studio.logs import setup_logging
    from studio.queue.process import run_worker
    from studio.queue.worker import WorkerSettings, lease_seconds

    setup_logging()
    try:
        settings = WorkerSettings(queue_url=args.queue, base_url=args.base_url, trust=args.trust,
                                  history_url=args.history, max_per_connection=args.max_per_connection,
                                  lease_s=lease_seconds())
        return run_worker(settings, concurrency=args.concurrency)
    except ValueError as exc:
        print(f"studio worker: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio",
        description="Flow Studio: build OpenAI automations as flows and run them locally. "
        "With no subcommand, opens the desktop editor.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.set_defaults(func=cmd_gui, files=[])
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("gui", help="open the desktop editor (the default)")
    p.add_argument("files", nargs="*", help="flow files to open")
    p.set_defaults(func=cmd_gui)

    p = sub.add_parser("run", help="run a flow headless")
    p.add_argument("flow", help="the *.flow.json file to run")
    p.add_argument("--input", "-i", action="append", default=[], metavar="KEY=VALUE",
                   help="a trigger input (repeatable); VALUE is parsed as JSON when it can be")
    p.add_argument("--base-url", help="override the connection's base URL (any OpenAI-compatible server)")
    on = p.add_mutually_exclusive_group()
    on.add_argument("--connection", metavar="NAME",
                    help="the connection for nodes left at the default one (like the editor's Run on)")
    on.add_argument("--simulated", action="store_true",
                    help="run nodes left at the default connection on the Simulated (offline) connection: no key")
    p.add_argument("--json", action="store_true", help="print the result document as JSON on stdout")
    p.add_argument("--trust", action="store_true",
                   help="allow what the flow would start on this machine (local MCP commands, ports)")
    p.add_argument("--concurrency", type=int, default=None, help="how many nodes may run at once")
    p.add_argument("--use-pinned", action="store_true",
                   help="reuse the outputs pinned in the editor instead of running those nodes")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("resume", help="continue a run that waits for approval")
    p.add_argument("run_id")
    p.add_argument("--approve", action="append", default=[], metavar="ID")
    p.add_argument("--reject", action="append", default=[], metavar="ID")
    p.add_argument("--base-url")
    p.add_argument("--json", action="store_true")
    p.add_argument("--trust", action="store_true",
                   help="allow what the flow would start on this machine (local MCP commands, ports)")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("validate", help="check flow files; exit 2 naming the first problem")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("catalog", help="list every trigger, action and agent node")
    p.add_argument("--json", action="store_true", help="the whole catalog as JSON (a stable interface)")
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("schema", help="print the JSON Schema of the flow file format")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("test", help="run the tests stored in flow files (replayed offline from their cassettes)")
    from studio.testing.command import add_arguments as add_test_arguments

    add_test_arguments(p)
    p.set_defaults(func=cmd_test)
    p = sub.add_parser("connections", help="list, add or remove saved connections (secrets from stdin or the "
                       "environment, never the command line)")
    from studio.runs.saved_connections import add_arguments as add_connection_arguments

    add_connection_arguments(p)
    p.set_defaults(func=cmd_connections)
    p = sub.add_parser("import", help="turn another tool's workflow into a flow file")
    kinds = p.add_subparsers(title="formats", metavar="FORMAT", required=True)
    k = kinds.add_parser("n8n", help="an n8n workflow export (*.json)")
    k.add_argument("workflow", help="the n8n workflow JSON file")
    k.add_argument("-o", "--output", required=True, help="the *.flow.json file to write")
    k.add_argument("--json", action="store_true", help="print the import report as JSON on stdout")
    k.set_defaults(func=cmd_import_n8n)

    p = sub.add_parser("serve", help="keep schedule and webhook triggers of flows active")
    p.add_argument("flows", nargs="*")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="webhook port (0 picks a free one)")
    p.add_argument("--base-url", help="override the connections' base URL")
    p.add_argument("--grace", type=float, default=10.0,
                   help="seconds runs in flight may take to finish after SIGINT/SIGTERM before they are cancelled")
    p.add_argument("--trust", action="store_true",
                   help="allow what the flows would start on this machine (local MCP commands, ports)")
    p.add_argument("--queue", metavar="redis://HOST:PORT/N",
                   help="enqueue runs on this Redis for `studio worker` processes instead of running them here")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run the runs `studio serve --queue` enqueues")
    p.add_argument("--queue", required=True, metavar="redis://HOST:PORT/N", help="the Redis the runs are queued on")
    p.add_argument("--concurrency", type=int, default=1, help="how many runs this worker runs at once")
    p.add_argument("--base-url", help="override the connections' base URL")
    p.add_argument("--trust", action="store_true",
                   help="allow what the queued flows would start on this machine (local MCP commands, ports)")
    p.add_argument("--history", metavar="URL", help="the shared run history (sqlite:///PATH; default: the user's)")
    p.add_argument("--max-per-connection", type=int, default=None, metavar="N",
                   help="at most N runs at once per connection across all workers (OpenAI limits are per key)")
    p.set_defaults(func=cmd_worker)
    return parser


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices}


def _looks_like_file(arg: str) -> bool:
    """A flow file rather than a mistyped command: it exists, names a .json file or a folder."""
    from pathlib import Path

    return arg.endswith(".json") or "/" in arg or "\\" in arg or Path(arg).exists()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in _commands(parser) and _looks_like_file(argv[0]):
        argv.insert(0, "gui")  # `studio FILE.flow.json` opens the file in the editor
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def gui_main(argv: list[str] | None = None) -> int:
    """`flow-studio [FILE...]` (what the desktop entry runs): the editor with those files."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return main(["gui", *argv])


if __name__ == "__main__":
    sys.exit(main())
