"""Handlers for every non-agent OpenAI action. Importing this package registers them (each module
decorates its handlers with `handles(action_id)`), one module per area of the API."""

from . import assistants, audio, chat, embeddings, files, images, models, moderation, raw, responses  # noqa: F401
from ._common import ACTION_HANDLERS

__all__ = ["ACTION_HANDLERS"]
