"""Every action and connection type of the catalog, gathered from one module per area."""

from . import agents, assistants, files_models, media, raw, responses, text, triggers
from .connections import CONNECTIONS

ACTIONS = [
    *triggers.ACTIONS,
    *agents.ACTIONS,
    *responses.ACTIONS,
    *text.ACTIONS,
    *media.ACTIONS,
    *files_models.ACTIONS,
    *assistants.ACTIONS,
    *raw.ACTIONS,
]

__all__ = ["ACTIONS", "CONNECTIONS"]
