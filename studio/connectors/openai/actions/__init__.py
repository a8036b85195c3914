"""Handlers for every non-agent OpenAI action. Importing this package registers them (each module
decorates its handlers with `handles(action_id)`), one module per area of the API."""

from . import (  # noqa: F401  (imported to register their handlers)
    assistants, audio, batches, chat, conversations, embeddings, evals, files, image_edits, images, models, moderation,
    raw, responses, uploads, vector_stores, videos,
)
from ._common import ACTION_HANDLERS

__all__ = ["ACTION_HANDLERS"]
