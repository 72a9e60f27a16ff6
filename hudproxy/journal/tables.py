"""The journal's table names, importable without sqlite-utils (the worker process writes with plain sqlite3)."""

CALLS = "calls"
RESPONSES = "responses"
CALLS_FULL = "calls_full"
