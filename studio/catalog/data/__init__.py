"""Every action and connection type of the catalog, gathered from one module per area."""

from . import agents, assistants, core, embeddings, files_models, http, imported, media, raw, text, triggers
from .connections import CONNECTIONS as OPENAI_CONNECTIONS

ACTIONS = [
    *triggers.ACTIONS,
    *agents.ACTIONS,
    *text.ACTIONS,
    *media.ACTIONS,
    *files_models.ACTIONS,
    *assistants.ACTIONS,
    *raw.ACTIONS,
    *embeddings.ACTIONS,
    *core.ACTIONS,
    *http.HTTP_ACTIONS,
    *imported.ACTIONS,
]
CONNECTIONS = [*OPENAI_CONNECTIONS, http.HTTP_CONNECTION]

__all__ = ["ACTIONS", "CONNECTIONS"]
