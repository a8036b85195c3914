"""Every action, connection type and test assertion kind of the catalog, gathered from one module per area."""

from . import (agents, assistants, batch, conversations, core, embeddings, evals_uploads, files_models, http, imported,
               media, raw, responses, text, triggers, vector_stores, video)
from .assertions import ASSERTIONS
from .connections import CONNECTIONS as OPENAI_CONNECTIONS

ACTIONS = [
    *triggers.ACTIONS,
    *agents.ACTIONS,
    *responses.ACTIONS,
    *conversations.ACTIONS,
    *text.ACTIONS,
    *media.ACTIONS,
    *video.ACTIONS,
    *vector_stores.ACTIONS,
    *batch.ACTIONS,
    *files_models.ACTIONS,
    *evals_uploads.ACTIONS,
    *assistants.ACTIONS,
    *raw.ACTIONS,
    *embeddings.ACTIONS,
    *core.ACTIONS,
    *http.HTTP_ACTIONS,
    *imported.ACTIONS,
]
CONNECTIONS = [*OPENAI_CONNECTIONS, http.HTTP_CONNECTION]

__all__ = ["ACTIONS", "ASSERTIONS", "CONNECTIONS"]
