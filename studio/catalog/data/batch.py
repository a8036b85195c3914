"""The Batch API: many requests at half price, answered within 24 hours."""

from studio.catalog.models import Action

from .common import T, connection, field, model, timeout
from .responses import polling

API = "Batch"


def batch_id() -> object:
    return field("batch_id", "Batch ID", T.STRING, "The batch (batch_...).", required=True)


ACTIONS = [
    Action(
        id="batch.run", kind="action", title="Run Batch", category="Batch", api=API,
        endpoints=["POST /v1/files", "POST /v1/batches", "GET /v1/batches/{batch_id}",
                   "GET /v1/files/{file_id}/content", "POST /v1/batches/{batch_id}/cancel"],
        description="Send a list of items as one batch: the requests' JSONL is saved as a run file, the batch is "
                    "polled with progress, and the results come back mapped to the items in order.",
        inputs=[
            connection(),
            field("items", "Items", T.JSON, "A list: texts (each becomes the user message), objects with prompt/"
                  "input/text, or objects with a whole request `body`. A Loop's items or a node's list output.",
                  default="{{ input }}", required=True),
            field("endpoint", "Endpoint", description="Which API answers each item.",
                  options=["/v1/responses", "/v1/chat/completions"], default="/v1/responses"),
            model("gpt-4.1-mini"),
            field("instructions", "Instructions", T.TEXT, "A system message for every item."),
            field("wait", "Wait for Results", T.BOOLEAN, "Poll until the batch ends and download its results "
                  "(off: output the started batch; use Get Batch Results later).", default=True, group="Waiting"),
            *polling("batch", wait_default=86400),
            timeout(),
        ],
    ),
    Action(
        id="batch.retrieve", kind="action", title="Get Batch", category="Batch", api=API,
        endpoints=["GET /v1/batches/{batch_id}"], description="A batch's status and request counts.",
        inputs=[connection(), batch_id(), timeout()],
    ),
    Action(
        id="batch.results", kind="action", title="Get Batch Results", category="Batch", api=API,
        endpoints=["GET /v1/batches/{batch_id}", "GET /v1/files/{file_id}/content"],
        description="Download a finished batch's results, in the order of its requests.",
        inputs=[connection(), batch_id(),
                field("items", "Items", T.JSON, "The items the batch was made from, to put beside their results."),
                timeout()],
    ),
    Action(
        id="batch.cancel", kind="action", title="Cancel Batch", category="Batch", api=API,
        endpoints=["POST /v1/batches/{batch_id}/cancel"], description="Cancel a batch that has not finished.",
        inputs=[connection(), batch_id(), timeout()],
    ),
]
