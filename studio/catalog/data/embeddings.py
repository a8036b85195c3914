"""Embeddings: vectors for texts (search, clustering, retrieval)."""

from studio.catalog.models import Action

from .common import T, connection, field, model, src, timeout

ACTIONS = [
    Action(
        id="embeddings.create", kind="action", title="Create Embeddings", category="Embeddings",
        description="Turn text into embedding vectors",
        sources=src("n8n", "Embeddings OpenAI"),
        inputs=[
            connection(),
            model("text-embedding-3-small"),
            field("input", "Input", T.JSON, "The text to embed, or a list of texts (one vector each).",
                  default="{{ input }}", required=True),
            field("dimensions", "Dimensions", T.INTEGER,
                  "How many dimensions the vectors have (text-embedding-3 models only).", minimum=1, group="Options"),
            field("user", "User", T.STRING, "A unique identifier representing your end-user.", group="Options"),
            field("simplify", "Simplify Output", T.BOOLEAN,
                  "Output {embeddings: [[...], ...], model, usage} instead of the raw response.", default=True),
            timeout(),
        ],
    ),
]
