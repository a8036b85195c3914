"""The HTTP package's handler table and `@handles` decorator (the core nodes' kind)."""

from studio.connectors.core._common import handler_table

ACTION_HANDLERS, handles = handler_table()
