"""`studio connections list|add|remove`: the saved connections from a terminal, for every
catalog connection type (OpenAI API keys, HTTP Credentials ...). Fields are given as KEY=VALUE;
the secret is read from stdin or an environment variable, never from the command line (where
shell history and the process list would keep it), and goes to the credential store only.

Exit codes: 0 done, 2 bad usage (unknown type or field, a secret on the command line, an unknown
connection, no credential store)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    p = actions.add_parser("list", help="list saved connections (never their secrets)")
    p.add_argument("--json", action="store_true", help="print them as JSON")
    p.set_defaults(connections_action=_list)
    p = actions.add_parser("add", help="save a connection (an existing one of that name is replaced)")
    p.add_argument("name")
    p.add_argument("--type", default="openai", help="the connection type id (`studio connections types`)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="values",
                   help="a field of the type, e.g. base_url=http://localhost:8000/v1 (repeatable)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--secret-stdin", action="store_true", help="read the secret from standard input")
    where.add_argument("--secret-env", metavar="VAR", help="read the secret from environment variable VAR")
    p.set_defaults(connections_action=_add)
    p = actions.add_parser("remove", help="delete a saved connection and its secret")
    p.add_argument("name")
    p.set_defaults(connections_action=_remove)
    p = actions.add_parser("types", help="list the connection types and their fields")
    p.set_defaults(connections_action=_types_list)


def connections_command(args: argparse.Namespace) -> int:
    from studio.credentials import CredentialError

    try:
        return args.connections_action(args)
    except CredentialError as exc:
        print(f"studio connections: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _store() -> Any:
    from studio.credentials import ConnectionStore

    return ConnectionStore()


def _types() -> dict[str, Any]:
    from studio.catalog import load_catalog

    return {t.id: t for t in load_catalog().connections}


def _list(args: argparse.Namespace) -> int:
    from studio.credentials.fields import field_values

    store, types = _store(), _types()
    rows = []
    for record in store.list():
        ctype = types.get(record.type)
        rows.append({"name": record.name, "type": record.type,
                     "fields": field_values(record, ctype) if ctype else {},
                     "has_secret": store.has_key(record.name)})
    if args.json:
        json.dump({"connections": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if not rows:
        print("no saved connections (the built-in 'Simulated (offline)' needs none)")
    for row in rows:
        shown = ", ".join(f"{k}={v}" for k, v in row["fields"].items() if v)
        secret = "secret saved" if row["has_secret"] else "no secret"
        print(f"{row['name']}  [{row['type']}]  {shown}  ({secret})")
    return EXIT_OK


def _types_list(_args: argparse.Namespace) -> int:
    for ctype in _types().values():
        fields = ", ".join(f.key + (" (secret)" if f.secret else "") + (f" [{'|'.join(f.options)}]" if f.options else "")
                           for f in ctype.fields)
        print(f"{ctype.id:8} {ctype.title}: {fields}")
    return EXIT_OK


def _secret(args: argparse.Namespace) -> str | None:
    from studio.credentials import CredentialError

    if args.secret_env:
        value = os.environ.get(args.secret_env, "").strip()
        if not value:
            raise CredentialError(f"--secret-env {args.secret_env}: that environment variable is empty or not set")
        return value
    if args.secret_stdin:
        value = sys.stdin.readline().strip()
        if not value:
            raise CredentialError("--secret-stdin: standard input held no secret")
        return value
    return None


def _names_a_secret(key: str, spec: Any) -> bool:
    """The type's secret by key or alias ("Token", "API Key"), or any secret-looking name."""
    from studio.flow.validate import looks_like_secret_key

    def norm(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    names = {norm(spec.key), *(norm(a) for a in spec.aliases)} if spec is not None else set()
    return norm(key) in names or looks_like_secret_key(key)


def _add(args: argparse.Namespace) -> int:
    from studio.credentials import CredentialError
    from studio.credentials.fields import record_from_fields, secret_field

    types = _types()
    ctype = types.get(args.type)
    if ctype is None:
        raise CredentialError(f"--type: unknown connection type {args.type!r} (expected one of: {', '.join(types)})")
    secret_spec = secret_field(ctype)
    values: dict[str, str] = {}
    for item in args.values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CredentialError(f"--set {item!r}: expected KEY=VALUE")
        if _names_a_secret(key.strip(), secret_spec):
            label = secret_spec.label if secret_spec is not None else "value"
            raise CredentialError(f"--set {key.strip()}: the {label} is a secret; give it with "
                                  "--secret-stdin or --secret-env VAR, never on the command line")
        values[key.strip()] = value
    record = record_from_fields(ctype, args.name, values)
    secret = _secret(args)
    if secret is not None and secret_spec is None:
        raise CredentialError(f"{ctype.title} connections have no secret")
    store = _store()
    store.save(record, api_key=secret)
    note = "" if store.has_key(record.name) else f"; no {secret_spec.label} saved yet" if secret_spec else ""
    print(f"saved connection {record.name!r} [{record.type}]{note}")
    return EXIT_OK


def _remove(args: argparse.Namespace) -> int:
    store = _store()
    store.get(args.name)  # CredentialError naming the known ones when there is no such connection
    store.delete(args.name)
    print(f"removed connection {args.name!r}")
    return EXIT_OK
