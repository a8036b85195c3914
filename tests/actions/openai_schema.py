"""Check a request body against OpenAI's published OpenAPI schema (a trimmed copy kept in
tests/fixtures/openai, so the check works on a clean clone)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "openai" / "request_schemas.json"


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def schema_errors(operation: str, body: dict[str, Any]) -> list[str]:
    """Every way `body` breaks the schema of `operation` ("POST /chat/completions"). For multipart
    operations the form fields arrive as strings, so only names and required fields are checked."""
    spec = _spec()
    entry = spec["operations"][operation]
    root = {**entry["schema"], "components": spec["components"]}
    if entry["content_type"].startswith("multipart/"):
        name = entry["schema"]["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
        known = set(schema.get("properties", {}))
        names = {k.removesuffix("[]") for k in body}  # "image[]": the parts of the array field "image"
        errors = [f"unknown field {k!r}" for k in sorted(names) if k not in known]
        errors += [f"missing required field {k!r}" for k in schema.get("required", []) if k not in names]
        return errors
    validator = jsonschema.Draft202012Validator(root)
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or '<body>'}: {error.message}"
        for error in validator.iter_errors(body)
    )


def assert_valid(operation: str, body: dict[str, Any]) -> None:
    errors = schema_errors(operation, body)
    assert not errors, f"{operation} body breaks OpenAI's schema:\n" + "\n".join(errors)


ANSWERS = FIXTURE.with_name("response_schemas.json")


@lru_cache(maxsize=1)
def _answer_spec() -> dict[str, Any]:
    return json.loads(ANSWERS.read_text(encoding="utf-8"))


def answer_operations() -> list[str]:
    """The operations ("GET /videos/{video_id}") whose answers have a schema in the fixture."""
    return list(_answer_spec()["operations"])


def answer_errors(operation: str, status: int, body: Any) -> list[str]:
    """Every way a successful answer `body` breaks the schema OpenAI documents for `operation`."""
    spec = _answer_spec()
    entry = spec["operations"][operation]
    errors = [] if status == entry["status"] else [f"status {status}, documented {entry['status']}"]
    validator = jsonschema.Draft202012Validator({**entry["schema"], "components": spec["components"]})
    return errors + sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or '<body>'}: {error.message}"
        for error in validator.iter_errors(body)
    )
