"""Vector stores: the file collections File Search reads."""

from studio.catalog.models import Action

from .common import T, connection, field, timeout
from .responses import polling

API = "Vector stores"
VS = "/v1/vector_stores"


def store_id() -> object:
    return field("vector_store_id", "Vector Store ID", T.STRING, "The vector store (vs_...).", required=True)


def wait(what: str) -> object:
    return field("wait", "Wait Until Processed", T.BOOLEAN, f"Poll until the {what} processed (progress shown).",
                 default=True, group="Waiting")


ACTIONS = [
    Action(
        id="vector_store.create", kind="action", title="Create Vector Store", category="Vector Stores", api=API,
        endpoints=[f"POST {VS}", f"GET {VS}/{{vector_store_id}}"],
        description="Create a vector store, optionally with files (waits until they are processed).",
        inputs=[
            connection(),
            field("name", "Name", T.STRING, "The store's name."),
            field("file_ids", "File IDs", T.STRING_LIST, "Uploaded files (file-...) to add."),
            field("expires_after_days", "Expires After (days)", T.INTEGER,
                  "Delete the store this many days after it was last used (empty: never).", minimum=1,
                  maximum=365),
            field("metadata", "Metadata", T.KEY_VALUE, "Up to 16 key-value pairs."),
            wait("files are"), *polling("vector store"), timeout(),
        ],
    ),
    Action(
        id="vector_store.list", kind="action", title="List Vector Stores", category="Vector Stores", api=API,
        endpoints=[f"GET {VS}"], description="List the account's vector stores.",
        inputs=[connection(), field("limit", "Limit", T.INTEGER, "1-100.", default=20, minimum=1, maximum=100),
                field("order", "Order", options=["desc", "asc"], default="desc"),
                field("after", "After", T.STRING, "Paging: list after this id.", group="Options"), timeout()],
    ),
    Action(
        id="vector_store.retrieve", kind="action", title="Get Vector Store", category="Vector Stores", api=API,
        endpoints=[f"GET {VS}/{{vector_store_id}}"], description="Get a vector store and its file counts.",
        inputs=[connection(), store_id(), timeout()],
    ),
    Action(
        id="vector_store.update", kind="action", title="Update Vector Store", category="Vector Stores", api=API,
        endpoints=[f"POST {VS}/{{vector_store_id}}"], description="Rename a store, change metadata or expiry.",
        inputs=[connection(), store_id(), field("name", "Name", T.STRING, "The new name."),
                field("metadata", "Metadata", T.KEY_VALUE, "The new key-value pairs."),
                field("expires_after_days", "Expires After (days)", T.INTEGER, "Days after last use.", minimum=1,
                      maximum=365), timeout()],
    ),
    Action(
        id="vector_store.delete", kind="action", title="Delete Vector Store", category="Vector Stores", api=API,
        endpoints=[f"DELETE {VS}/{{vector_store_id}}"], description="Delete a vector store (its files stay).",
        inputs=[connection(), store_id(), timeout()],
    ),
    Action(
        id="vector_store.add_file", kind="action", title="Add File to Vector Store", category="Vector Stores",
        api=API, endpoints=[f"POST {VS}/{{vector_store_id}}/files", f"GET {VS}/{{vector_store_id}}/files/{{file_id}}"],
        description="Add an uploaded file to a store and wait until it is chunked and embedded.",
        inputs=[connection(), store_id(),
                field("file_id", "File ID", T.STRING, "An uploaded file (file-...).", required=True),
                field("attributes", "Attributes", T.KEY_VALUE, "Up to 16 attributes to filter searches by."),
                wait("file is"), *polling("file"), timeout()],
    ),
    Action(
        id="vector_store.remove_file", kind="action", title="Remove File from Vector Store", category="Vector Stores",
        api=API, endpoints=[f"DELETE {VS}/{{vector_store_id}}/files/{{file_id}}"],
        description="Remove a file from a store (the file itself is not deleted).",
        inputs=[connection(), store_id(), field("file_id", "File ID", T.STRING, "The file.", required=True),
                timeout()],
    ),
    Action(
        id="vector_store.add_file_batch", kind="action", title="Add File Batch to Vector Store",
        category="Vector Stores", api=API,
        endpoints=[f"POST {VS}/{{vector_store_id}}/file_batches",
                   f"GET {VS}/{{vector_store_id}}/file_batches/{{batch_id}}",
                   f"POST {VS}/{{vector_store_id}}/file_batches/{{batch_id}}/cancel"],
        description="Add many files at once and wait until all are processed (cancelled past Max Wait).",
        inputs=[connection(), store_id(),
                field("file_ids", "File IDs", T.STRING_LIST, "Uploaded files (file-...).", required=True),
                field("attributes", "Attributes", T.KEY_VALUE, "Attributes for every file."),
                wait("files are"), *polling("file batch"), timeout()],
    ),
    Action(
        id="vector_store.search", kind="action", title="Search Vector Store", category="Vector Stores", api=API,
        endpoints=[f"POST {VS}/{{vector_store_id}}/search"],
        description="Find the chunks of a store's files that match a query.",
        inputs=[connection(), store_id(),
                field("query", "Query", T.TEXT, "What to look for.", default="{{ input | string }}", required=True),
                field("max_num_results", "Max Results", T.INTEGER, "1-50.", default=10, minimum=1, maximum=50),
                field("filters", "Filters", T.JSON, "An attribute filter ({type: eq, key, value} or compound).",
                      group="Options"),
                field("rewrite_query", "Rewrite Query", T.BOOLEAN, "Let OpenAI rewrite the query for search.",
                      default=False, group="Options"),
                timeout()],
    ),
]
