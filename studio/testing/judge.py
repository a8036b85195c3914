"""Judged assertions: a model scores a value against a criterion ("the answer is polite").

They are non-deterministic, so they run in live runs and while recording (the judgement goes into
the cassette like any other exchange); a replay uses the recorded judgement when the cassette holds
it and otherwise skips the assertion instead of failing."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from studio.flow.cases import Assertion

from .cassette import Cassette

VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"pass": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["pass", "reason"],
    "additionalProperties": False,
}
INSTRUCTIONS = ("You grade one value produced by an automated flow against a criterion. Answer only with "
                "JSON: {\"pass\": true or false, \"reason\": one short sentence}.")


def make_judge(connect: Callable[[str | None], Awaitable[Any]], cassette: Cassette | None):
    """A Judge (see assertions.Judge) that asks a model through the flow's connections."""

    async def judge(item: Assertion, value: Any) -> tuple[bool | None, str]:
        values = item.values
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        misses_before = len(cassette.misses) if cassette is not None else 0
        try:
            client = await connect(values.get("connection") or None)
            completion = await client.sdk.chat.completions.create(
                model=str(values.get("model") or "gpt-4o-mini"), temperature=0,
                messages=[{"role": "system", "content": INSTRUCTIONS},
                          {"role": "user", "content": f"Criterion: {values.get('criterion')}\n\nValue:\n{text}"}],
                response_format={"type": "json_schema", "json_schema": {"name": "verdict", "schema": VERDICT_SCHEMA,
                                                                        "strict": True}},
            )
        except Exception as exc:  # noqa: BLE001 - a judge that cannot answer does not fail the test
            if cassette is not None and cassette.mode == "replay" and cassette.forget_misses_after(misses_before):
                return None, "non-deterministic: this judgement is not recorded in the cassette (studio test --record)"
            return None, f"the judge could not answer: {type(exc).__name__}: {str(exc)[:200]}"
        content = completion.choices[0].message.content or ""
        try:
            verdict = json.loads(content)
        except ValueError:
            return None, f"the judge's answer is not JSON: {content[:200]!r}"
        if not isinstance(verdict, dict) or not isinstance(verdict.get("pass"), bool):
            return None, f"the judge's answer has no pass/fail: {content[:200]!r}"
        return verdict["pass"], str(verdict.get("reason") or "")

    return judge
