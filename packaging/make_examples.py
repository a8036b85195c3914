"""Write the example flows in resources/examples/ from one readable description each, so their ids
stay stable (derived from the file and node names) and every example is a valid flow document."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from studio.flow.cases import FlowTest
from studio.flow.models import Endpoint, Flow, Node, Note, Position, Wire

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
NS = uuid.UUID("6f1c3a52-4b1e-4a8e-9d6a-0f9f3c6c2b10")


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NS, "/".join(parts)))


def build(slug: str, name: str, description: str, nodes: list[tuple[str, str, dict]], wires: list[tuple[str, str]],
          note: str = "", inputs: dict | None = None) -> Flow:
    made = []
    for i, (node_name, action, values) in enumerate(nodes):
        made.append(Node(id=_id(slug, node_name), action=action, name=node_name, values=values,
                         position=Position(x=80 + 300 * _column(node_name, nodes, wires), y=80 + 160 * _row(i, node_name, nodes, wires))))
    by_name = {n.name: n.id for n in made}
    flow = Flow(
        id=_id(slug), name=name, description=description, nodes=made,
        wires=[Wire(source=Endpoint(node=by_name[a], port="output"), target=Endpoint(node=by_name[b], port="in"))
               for a, b in wires],
        notes=[Note(id=_id(slug, "note"), text=note, position=Position(x=80, y=-80), width=420, height=90)] if note else [],
        settings={"example_inputs": inputs or {}},
    )
    return flow


def _column(name: str, nodes: list, wires: list[tuple[str, str]]) -> int:
    parents = [a for a, b in wires if b == name]
    return 0 if not parents else 1 + max(_column(p, nodes, wires) for p in parents)


def _row(index: int, name: str, nodes: list, wires: list[tuple[str, str]]) -> int:
    column = _column(name, nodes, wires)
    same = [n for n, _a, _v in nodes if _column(n, nodes, wires) == column]
    return same.index(name)


def examples() -> dict[str, Flow]:
    topic = {"key": "topic", "label": "Topic", "type": "string", "default": "tide pools"}
    flows = {
        "chat-then-moderation": build(
            "chat-then-moderation", "Chat, then moderation",
            "Write a short text with a chat completion and check it with the moderation endpoint.",
            [
                ("Start", "trigger.manual", {"fields": [topic]}),
                ("Write", "chat.create_completion", {
                    "model": "gpt-4o-mini",
                    "messages": [
                        {"role": "system", "content": "You write two friendly sentences."},
                        {"role": "user", "content": "Write about {{ trigger.topic }}."},
                    ],
                }),
                ("Check", "moderation.classify", {"input": "{{ nodes.Write.output.choices[0].message.content }}"}),
            ],
            [("Start", "Write"), ("Write", "Check")],
            note="Run it: the chat text streams into Write, then Check flags anything unsafe.",
            inputs={"topic": "tide pools"},
        ),
        "image-then-vision": build(
            "image-then-vision", "Image, then vision",
            "Generate an image, keep it as a file, and ask a vision model to describe it.",
            [
                ("Start", "trigger.manual", {"fields": [{"key": "subject", "label": "Subject", "type": "string",
                                                        "default": "a lighthouse at dusk"}]}),
                ("Paint", "image.generate", {"prompt": "{{ trigger.subject }}, watercolour", "model": "gpt-image-1",
                                             "size": "1024x1024"}),
                ("Describe", "image.analyze", {"input_type": "file", "images": "{{ nodes.Paint.output.images }}",
                                               "text": "Describe this picture in one sentence."}),
            ],
            [("Start", "Paint"), ("Paint", "Describe")],
            inputs={"subject": "a lighthouse at dusk"},
        ),
        "speech-then-transcription": build(
            "speech-then-transcription", "Speech, then transcription",
            "Turn text into speech (an audio file), then transcribe the file back to text.",
            [
                ("Start", "trigger.manual", {"fields": [{"key": "line", "label": "Line", "type": "string",
                                                        "default": "Flows run on your own machine."}]}),
                ("Speak", "audio.speech", {"input": "{{ trigger.line }}", "voice": "alloy", "response_format": "mp3"}),
                ("Transcribe", "audio.transcribe", {"file": "{{ nodes.Speak.output.audio }}"}),
            ],
            [("Start", "Speak"), ("Speak", "Transcribe")],
            inputs={"line": "Flows run on your own machine."},
        ),
        "file-upload-list-delete": build(
            "file-upload-list-delete", "Upload, list and delete a file",
            "Upload a file next to this flow, list the account's files, then delete the upload.",
            [
                ("Start", "trigger.manual", {}),
                ("Upload", "file.upload", {"file": "data/notes.jsonl", "purpose": "fine-tune"}),
                ("List", "file.list", {}),
                ("Delete", "file.delete", {"file_id": "{{ nodes.Upload.output.id }}"}),
            ],
            [("Start", "Upload"), ("Upload", "List"), ("List", "Delete")],
        ),
        "raw-request": build(
            "raw-request", "Raw request",
            "Call any endpoint under the connection's base URL; here, list the models. Raw Request retries "
            "only what its retry fields say: here up to 4 more tries with exponential backoff, rate limits "
            "(429) included (Retry On All Errors).",
            [
                ("Start", "trigger.manual", {}),
                ("Models", "raw.request", {"url": "/v1/models", "method": "GET", "response_type": "json",
                                           "max_retry_count": 4, "use_exponential_backoff": True,
                                           "retry_on_all_errors": True}),
            ],
            [("Start", "Models")],
        ),
        "fan-out-fan-in": build(
            "fan-out-fan-in", "Three branches, fan-out and fan-in",
            "Three chat completions run at the same time; a fourth combines their answers.",
            [
                ("Start", "trigger.manual", {"fields": [topic]}),
                ("Facts", "chat.create_completion", {"model": "gpt-4o-mini", "messages": [
                    {"role": "user", "content": "Three facts about {{ trigger.topic }}."}]}),
                ("Poem", "chat.create_completion", {"model": "gpt-4o-mini", "messages": [
                    {"role": "user", "content": "A haiku about {{ trigger.topic }}."}]}),
                ("Question", "chat.create_completion", {"model": "gpt-4o-mini", "messages": [
                    {"role": "user", "content": "One open question about {{ trigger.topic }}."}]}),
                ("Combine", "chat.create_completion", {"model": "gpt-4o-mini", "messages": [
                    {"role": "system", "content": "Combine the three parts into one short note."},
                    {"role": "user", "content": "Facts: {{ nodes.Facts.output.choices[0].message.content }}\n"
                                                "Poem: {{ nodes.Poem.output.choices[0].message.content }}\n"
                                                "Question: {{ nodes.Question.output.choices[0].message.content }}"},
                ]}),
            ],
            [("Start", "Facts"), ("Start", "Poem"), ("Start", "Question"),
             ("Facts", "Combine"), ("Poem", "Combine"), ("Question", "Combine")],
            inputs={"topic": "tide pools"},
        ),
    }
    for slug, tests in TESTS.items():
        flows[slug].tests = [FlowTest.model_validate(t) for t in tests]
    return flows


def _check(kind: str, node: str = "", path: str = "", **values: object) -> dict:
    return {"kind": kind, "node": node, "path": path, "values": values}


def _succeeded(*nodes: str) -> list[dict]:
    return [_check("status", node, status="succeeded") for node in nodes]


CONTENT = "choices[0].message.content"
# One replayed test per example (`studio test resources/examples`); the cassettes beside the
# files are recorded with `studio test resources/examples --record --base-url <fake server>`.
TESTS: dict[str, list[dict]] = {
    "chat-then-moderation": [{
        "name": "tide pools", "payload": {"topic": "tide pools"},
        "assertions": [*_succeeded("Write", "Check"),
                       _check("contains", "Write", CONTENT, expected="tide pools"),
                       _check("equals", "Check", "results[0].flagged", expected=False),
                       _check("token_budget", max_tokens=2000)],
    }],
    "image-then-vision": [{
        "name": "lighthouse", "payload": {"subject": "a lighthouse at dusk"},
        "assertions": [*_succeeded("Paint", "Describe"),
                       _check("equals", "Paint", "images[0].media_type", expected="image/png"),
                       _check("in_range", "Paint", "images", minimum=1, length=True),
                       _check("matches", "Describe", CONTENT, pattern=r"\S")],
    }],
    "speech-then-transcription": [{
        "name": "one line", "payload": {"line": "Flows run on your own machine."},
        "assertions": [*_succeeded("Speak", "Transcribe"),
                       _check("equals", "Speak", "audio.media_type", expected="audio/mpeg"),
                       _check("contains", "Transcribe", "text", expected="speech.mp3")],
    }],
    "file-upload-list-delete": [{
        "name": "round trip",
        "assertions": [*_succeeded("Upload", "List", "Delete"),
                       _check("equals", "Upload", "filename", expected="notes.jsonl"),
                       _check("json_schema", "List", schema={
                           "type": "object", "required": ["data"],
                           "properties": {"data": {"type": "array", "minItems": 1}}}),
                       _check("equals", "Delete", "deleted", expected=True)],
    }],
    "raw-request": [{
        "name": "list models",
        "assertions": [*_succeeded("Models"),
                       _check("equals", "Models", "object", expected="list"),
                       _check("compare", "Models", "data[0].object", operator="==", expected="model")],
    }],
    "fan-out-fan-in": [{
        "name": "tide pools", "payload": {"topic": "tide pools"},
        "assertions": [*_succeeded("Facts", "Poem", "Question", "Combine"),
                       _check("contains", "Combine", CONTENT, expected="Question:"),
                       _check("token_budget", "Combine", max_tokens=1000)],
    }],
}


def main() -> None:
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for slug, flow in examples().items():
        text = json.dumps(flow.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
        (EXAMPLES / f"{slug}.flow.json").write_text(text, encoding="utf-8")
    data = EXAMPLES / "data"
    data.mkdir(exist_ok=True)
    (data / "notes.jsonl").write_text(
        '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}\n',
        encoding="utf-8")


if __name__ == "__main__":
    main()
