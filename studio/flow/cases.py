"""Test cases stored in a flow document (`Flow.tests`): a trigger payload, outputs to pin
(mocks) and assertions as data. Export and bundles carry them with the flow. What each
assertion kind takes is described in the catalog (`studio catalog --json`, `assertions`), the
way an action's inputs are; `studio/testing` evaluates them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TEST_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,79}$"
"""Test names also name their cassette file, so they stay simple."""


class Assertion(BaseModel):
    """One check on a run: `kind` is a catalog assertion id (`equals`, `status`, ...), `node`
    the node it looks at (its name; empty: the whole run), `path` a JSON path into that node's
    output, and `values` the kind's own fields by key (`expected`, `pattern`, ...)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="Catalog assertion id, e.g. `equals` (`studio catalog --json`).")
    node: str = Field(default="", description="The node's name; empty for run-level checks.")
    path: str = Field(default="", description="JSON path into the node's output, e.g. "
                      "`choices[0].message.content`; empty: the whole output.")
    values: dict[str, Any] = Field(default_factory=dict, description="The kind's fields by key.")
    note: str = Field(default="", description="Why this check matters (shown when it fails).")


class FlowTest(BaseModel):
    """A stored test: run the flow with `payload` (replayed from its cassette, or live) and check
    every assertion."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TEST_NAME_PATTERN, description="Unique within the flow; names the "
                      "cassette file (`NAME.cassettes/<test>.json`).")
    description: str = ""
    trigger: str = Field(default="", description="The trigger node to fire (its name); empty: the "
                         "flow's usual trigger.")
    payload: Any = Field(default_factory=dict, description="The trigger payload (its inputs).")
    pinned: dict[str, Any] = Field(default_factory=dict, description="Outputs by node name that "
                                   "stand in for those nodes (mocks): they do not run.")
    mode: Literal["replay", "live"] = Field(default="replay", description="replay: offline from "
                                            "the cassette; live: through the flow's connections.")
    assertions: list[Assertion] = Field(default_factory=list)


def rename_node_in_tests(tests: list[FlowTest], old: str, new: str) -> list[FlowTest]:
    """`tests` with node `old` called `new` (assertions, pinned outputs, the trigger), so renaming
    a node never breaks its tests."""
    out = []
    for test in tests:
        pinned = {new if k == old else k: v for k, v in test.pinned.items()}
        assertions = [a.model_copy(update={"node": new}) if a.node == old else a for a in test.assertions]
        out.append(test.model_copy(update={"pinned": pinned, "assertions": assertions,
                                           "trigger": new if test.trigger == old else test.trigger}))
    return out
