"""Handlers of HTTP Request (any API, credentials from an HTTP connection) and Respond to Webhook.
Importing this package registers them."""

from . import request, respond  # noqa: F401
from ._registry import ACTION_HANDLERS

__all__ = ["ACTION_HANDLERS"]
