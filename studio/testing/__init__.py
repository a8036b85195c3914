"""Stored flow tests: assertions as data, cassettes that record and replay every HTTP exchange,
the runner behind `studio test` and its reports (no Qt)."""
