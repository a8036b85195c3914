"""docs/actions.md is the catalog's list of actions and endpoints, and every action that calls
OpenAI says which API and endpoints it uses."""

from pathlib import Path

from studio.catalog import load_catalog
from studio.catalog.actions_doc import actions_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "actions.md"


def test_docs_actions_md_is_current():
    assert DOC.read_text(encoding="utf-8") == actions_markdown(load_catalog()), (
        "docs/actions.md is out of date: python -m studio.catalog.actions_doc > docs/actions.md")


def test_every_action_that_calls_openai_names_its_api_and_endpoints():
    from studio.connectors.openai.actions import ACTION_HANDLERS

    missing = [a.id for a in load_catalog().actions
               if a.id in ACTION_HANDLERS and a.id != "raw.request" and not (a.api and a.endpoints)]
    assert missing == []
    for action in load_catalog().actions:
        for endpoint in action.endpoints:
            if action.id != "raw.request":
                method, path = endpoint.split(" ", 1)
                assert method in {"GET", "POST", "DELETE"} and path.startswith("/v1/"), (action.id, endpoint)
        assert action.id in actions_markdown(load_catalog())


def test_deprecated_apis_are_marked():
    catalog = load_catalog()
    assert all(a.deprecated for a in catalog.actions if a.api == "Assistants")
    assert all(a.deprecated for a in catalog.actions if a.api == "Videos")
    assert not any(a.deprecated for a in catalog.actions if a.api in {"Responses", "Conversations", "Batch"})
