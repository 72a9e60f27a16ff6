"""Running mitmproxy in-process with hudproxy's addons, in the foreground or on a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mitmproxy.options import Options
from mitmproxy.tools.dump import DumpMaster

from hudproxy.errors import RecordingError
from hudproxy.netutil import free_port, wait_for_port


async def run_proxy(
    addons: Sequence[Any],
    mode: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    confdir: Path | None = None,
    on_master: Callable[[Any], None] | None = None,
    handle_signals: bool = True,
    **options: Any,
) -> None:
    """Run mitmproxy with `addons` until shutdown (Ctrl-C/SIGTERM when `handle_signals`).

    A reverse proxy connects to its target lazily, on a request: connecting eagerly (mitmproxy's default), a
    target that is down drops every client connection unanswered; lazily, the failure belongs to a request and
    the recorder answers it (`hudproxy.proxy.upstream`).
    """
    if mode.startswith("reverse:"):
        options.setdefault("connection_strategy", "lazy")
    opts = Options(mode=[mode], listen_host=host, listen_port=port)
    if confdir is not None:
        opts.update(confdir=str(confdir))  # before the addons start, so the tls addon reads our CA
    master = DumpMaster(opts, with_termlog=False, with_dumper=False)
    errorcheck = master.addons.get("errorcheck")
    if errorcheck is not None:
        # mitmproxy's ErrorCheck exits the process on any ERROR logged during start-up, from any thread;
        # in-process, only errors of the proxy's own thread are its business (filtered from the start: setting
        # the options below takes a while, and another thread may log meanwhile).
        proxy_thread = threading.get_ident()
        errorcheck.logger.addFilter(lambda record: record.thread == proxy_thread)
    master.options.update(**options)  # some options are declared by addons, so set after construction
    for addon in addons:
        master.addons.add(addon)
    if on_master is not None:
        on_master(master)
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, master.shutdown)
    await master.run()


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Connections cancelled at shutdown are expected; anything else is reported as usual."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


@contextlib.contextmanager
def proxy_in_thread(
    addons: Sequence[Any],
    mode: str,
    host: str = "127.0.0.1",
    port: int = 0,
    confdir: Path | None = None,
    **options: Any,
) -> Iterator[str]:
    """Yields `http://host:port` once mitmproxy listens; stops it on exit."""
    port = port or free_port(host)
    masters: list[Any] = []
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(
            run_proxy(addons, mode, host, port, confdir, on_master=masters.append, handle_signals=False, **options)
        )
        loop.set_exception_handler(_quiet_cancellations)
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:  # open client connections: end them, so nothing is left pending at exit
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=run, name="hudproxy-mitmproxy", daemon=True)
    thread.start()
    try:
        if not wait_for_port(host, port):
            raise RecordingError(f"the proxy did not start on {host}:{port}")
        yield f"http://{host}:{port}"
    finally:
        if masters:
            loop.call_soon_threadsafe(masters[0].shutdown)
        thread.join(10)
