"""Run the recording proxy on a background thread: for the demo, the Python API and tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hudproxy.record.recorder import Recorder


@contextlib.contextmanager
def recording_proxy(
    recorder: Recorder, target: str, host: str = "127.0.0.1", port: int = 0, upstream_timeout: float | None = None
) -> Iterator[str]:
    """A reverse proxy in front of `target`; yields its base URL, and on exit stops it and flushes the cassette.
    `upstream_timeout`: seconds to wait for the upstream's response headers (None: the addon's default)."""
    from hudproxy.proxy.record_addon import RecordAddon
    from hudproxy.proxy.runner import proxy_in_thread

    options = {} if upstream_timeout is None else {"upstream_timeout": upstream_timeout}
    addon = RecordAddon(recorder, **options)
    try:
        with proxy_in_thread([addon], f"reverse:{target}", host, port) as url:
            yield url
    finally:
        recorder.close()
