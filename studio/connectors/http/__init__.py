"""Handlers of HTTP Request (any API, credentials from an HTTP connection) and Respond to Webhook.
Importing this package registers them."""

from . import request, respond  # noqa: F401
from .request import ACTION_HANDLERS as _REQUEST
from .respond import ACTION_HANDLERS as _RESPOND

ACTION_HANDLERS = {**_REQUEST, **_RESPOND}

__all__ = ["ACTION_HANDLERS"]
