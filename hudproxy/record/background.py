"""Run the recording proxy on a background thread: for the demo, the Python API and tests."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from hudproxy.errors import RecordingError
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.record.recorder import Recorder


@contextlib.contextmanager
def recording_proxy(recorder: Recorder, target: str, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Yields the proxy's base URL; on exit stops mitmproxy and flushes the cassette."""
    from hudproxy.record.mitm import run_proxy

    port = port or free_port(host)
    masters: list[Any] = []
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(
            run_proxy(recorder, f"reverse:{target}", host, port, on_master=masters.append, handle_signals=False)
        )

    thread = threading.Thread(target=run, name="hudproxy-recorder", daemon=True)
    thread.start()
    try:
        if not wait_for_port(host, port):
            raise RecordingError(f"the recording proxy did not start on {host}:{port}")
        yield f"http://{host}:{port}"
    finally:
        if masters:
            loop.call_soon_threadsafe(masters[0].shutdown)
        thread.join(10)
        recorder.close()
