"""The flow document and its file format (no Qt)."""

from .errors import FlowLoadError, Problem
from .io import dump_flow, flow_from_dict, flow_to_dict, load_flow, parse_flow, save_flow
from .migrate import migrate
from .models import FORMAT_VERSION, Endpoint, Flow, Node, Note, Position, RetryPolicy, Wire, new_id
from .schema import flow_json_schema
from .validate import validate_flow

__all__ = [
    "FORMAT_VERSION", "Endpoint", "Flow", "FlowLoadError", "Node", "Note", "Position", "Problem",
    "RetryPolicy", "Wire", "dump_flow", "flow_from_dict", "flow_json_schema", "flow_to_dict",
    "load_flow", "migrate", "new_id", "parse_flow", "save_flow", "validate_flow",
]
