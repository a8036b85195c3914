"""Files and models."""

from studio.catalog.models import Action

from .common import T, connection, field, model, src, timeout

PURPOSES = ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]

ACTIONS = [
    Action(
        id="file.upload", kind="action", title="Upload File", category="Files",
        api="Files", endpoints=["POST /v1/files"],
        description="Upload a file to OpenAI that can be used with various features",
        sources=src("prismatic", "Upload File") + src("composio", "Upload file") + src("n8n", "File: Upload"),
        inputs=[
            connection(),
            field("file", "File", T.FILE, "The file to upload (binary data or base64 encoded)", required=True),
            field("filename", "Filename", T.STRING, "Name of the file including extension"),
            field("purpose", "Purpose", description="The intended purpose of the uploaded file", options=PURPOSES,
                  required=True, default="assistants"),
            timeout(),
        ],
    ),
    Action(
        id="file.list", kind="action", title="List Files", category="Files",
        api="Files", endpoints=["GET /v1/files"],
        description="List previously uploaded files",
        sources=src("prismatic", "List Files") + src("composio", "List files") + src("n8n", "File: List"),
        inputs=[
            connection(),
            field("purpose", "Purpose", T.STRING, "Filter files by purpose"),
            field("limit", "Limit", T.INTEGER, "Number of files to retrieve", minimum=1, maximum=10000),
            timeout(),
        ],
    ),
    Action(
        id="file.retrieve", kind="action", title="Retrieve File", category="Files",
        api="Files", endpoints=["GET /v1/files/{file_id}"],
        description="Retrieve information about a specific file", sources=src("prismatic", "Retrieve File"),
        inputs=[connection(), field("file_id", "File ID", T.STRING, "The ID of the file to retrieve", required=True),
                timeout()],
    ),
    Action(
        id="file.delete", kind="action", title="Delete File", category="Files",
        api="Files", endpoints=["DELETE /v1/files/{file_id}"],
        description="Delete a previously uploaded file",
        sources=src("prismatic", "Delete File") + src("composio", "Delete file") + src("n8n", "File: Delete"),
        inputs=[connection(), field("file_id", "File ID", T.STRING, "The ID of the file to delete", required=True),
                timeout()],
    ),
    Action(
        id="model.list", kind="action", title="List Models", category="Models",
        api="Models", endpoints=["GET /v1/models"],
        description="List all available models",
        sources=src("prismatic", "List Models") + src("composio", "List models"),
        inputs=[connection(), timeout()],
    ),
    Action(
        id="model.get", kind="action", title="Get Model by ID", category="Models",
        api="Models", endpoints=["GET /v1/models/{model}"], description="Get model by ID",
        sources=src("prismatic", "Get Model by ID") + src("composio", "Retrieve model"),
        inputs=[connection(), model(required=True), timeout()],
    ),
]
