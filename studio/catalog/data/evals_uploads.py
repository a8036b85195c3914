"""Evals (grading a model over test cases) and Uploads (large files in parts)."""

from studio.catalog.models import Action

from .common import T, connection, field, model, timeout
from .responses import polling

EVALS = "Evals"


def eval_id() -> object:
    return field("eval_id", "Eval ID", T.STRING, "The eval (eval_...).", required=True)


ACTIONS = [
    Action(
        id="eval.create", kind="action", title="Create Eval", category="Evals", api=EVALS,
        endpoints=["POST /v1/evals"],
        description="Create an eval: what a test case holds and how answers are graded.",
        inputs=[
            connection(),
            field("name", "Name", T.STRING, "The eval's name."),
            field("check", "Check", description="How each answer is compared with the case's `expected`.",
                  options=["equals", "not equals", "contains", "contains (any case)"], default="contains"),
            field("item_schema", "Case Schema", T.JSON, "JSON schema of a case (default: {input, expected} strings).",
                  group="Options"),
            field("testing_criteria", "Testing Criteria", T.JSON,
                  "Graders as OpenAI's testing_criteria objects, instead of Check; write OpenAI's templates with "
                  "single braces ({sample.output_text}, {item.expected}).", group="Options"),
            timeout(),
        ],
    ),
    Action(
        id="eval.run", kind="action", title="Run Eval", category="Evals", api=EVALS,
        endpoints=["POST /v1/evals/{eval_id}/runs", "GET /v1/evals/{eval_id}/runs/{run_id}",
                   "GET /v1/evals/{eval_id}/runs/{run_id}/output_items",
                   "POST /v1/evals/{eval_id}/runs/{run_id}"],
        description="Run an eval over test cases (a flow test's cases: [{input, expected}]), wait with progress, "
                    "and output how many passed and each case's answer and grade.",
        inputs=[
            connection(), eval_id(),
            field("cases", "Cases", T.JSON, "The test cases: a list of objects matching the eval's case schema.",
                  default="{{ input }}", required=True),
            model("gpt-4.1-mini"),
            field("prompt", "Prompt", T.TEXT, "The user message per case; {field} (single braces) is the case's "
                  "field, e.g. {input}.", default="{input}"),
            field("instructions", "Instructions", T.TEXT, "A developer message before each case."),
            field("name", "Run Name", T.STRING, "The run's name.", group="Options"),
            field("wait", "Wait for Result", T.BOOLEAN, "Poll until the run is graded.", default=True,
                  group="Waiting"),
            *polling("eval run", wait_default=3600),
            timeout(),
        ],
    ),
    Action(
        id="eval.get_run", kind="action", title="Get Eval Run", category="Evals", api=EVALS,
        endpoints=["GET /v1/evals/{eval_id}/runs/{run_id}", "GET /v1/evals/{eval_id}/runs/{run_id}/output_items"],
        description="A run's status and, once graded, each case's answer and grade.",
        inputs=[connection(), eval_id(),
                field("run_id", "Run ID", T.STRING, "The run (evalrun_...).", required=True), timeout()],
    ),
    Action(
        id="upload.create", kind="action", title="Upload Large File", category="Uploads", api="Uploads",
        endpoints=["POST /v1/uploads", "POST /v1/uploads/{upload_id}/parts", "POST /v1/uploads/{upload_id}/complete",
                   "POST /v1/uploads/{upload_id}/cancel"],
        description="Upload a file of up to 8 GB in parts (the Uploads API); the result is a File like Upload "
                    "File's.",
        inputs=[
            connection(),
            field("file", "File", T.FILE, "A local file or an upstream file.", required=True),
            field("filename", "Filename", T.STRING, "The name OpenAI shows (default: the file's)."),
            field("purpose", "Purpose", description="What the file is for.",
                  options=["assistants", "batch", "fine-tune", "vision"], default="batch", required=True),
            field("part_size_mb", "Part Size (MB)", T.NUMBER, "Size of each part (at most 64).", default=64,
                  minimum=0.001, maximum=64, group="Options"),
            timeout(),
        ],
    ),
]
