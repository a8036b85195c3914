"""Trigger runtimes: what starts a flow outside the editor's Run button (schedule, webhook)."""
