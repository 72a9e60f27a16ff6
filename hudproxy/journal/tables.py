"""The journal's table and view names, importable without sqlite-utils (the worker process writes with sqlite3).

Readers see `calls` (a view: one readable row per request); the writers fill the compact tables behind it.
"""

CALLS = "calls"  # view: everything about a call, joined back together
CALLS_FULL = "calls_full"  # view: the same as `calls`, the name journals before version 6 read
CALL_LOG = "call_log"  # table: one compact row per call (ids into the three tables below)
REQUESTS = "requests"  # table: each distinct request (method, url, scrubbed headers and body) once per run
RESPONSES = "responses"  # table: each recorded response served, once per run and interaction
RUNS = "runs"  # table: each server (or recorder) run that wrote to the file, and its cassette
