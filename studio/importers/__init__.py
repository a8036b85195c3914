"""Importers: turn another tool's workflow file into a Flow Studio flow (no Qt; the CLI and the
editor's File > Import both call them)."""
