"""The flow document and its file format (no Qt)."""

from .models import FORMAT_VERSION, Endpoint, Flow, Node, Note, Position, RetryPolicy, Wire, new_id

__all__ = ["FORMAT_VERSION", "Endpoint", "Flow", "Node", "Note", "Position", "RetryPolicy", "Wire", "new_id"]
