"""Run the recording proxy on a background thread: for the demo, the Python API and tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hudproxy.record.recorder import Recorder


@contextlib.contextmanager
def recording_proxy(recorder: Recorder, target: str, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """A reverse proxy in front of `target`; yields its base URL, and on exit stops it and flushes the cassette."""
    from hudproxy.proxy.record_addon import RecordAddon
    from hudproxy.proxy.runner import proxy_in_thread

    try:
        with proxy_in_thread([RecordAddon(recorder)], f"reverse:{target}", host, port) as url:
            yield url
    finally:
        recorder.close()
