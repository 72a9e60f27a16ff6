"""`env.replay(cassette, ...)`: a hudproxy replay server for the environment's lifetime, one replay session per run.

The tools reach it over HTTP (`openapi=`: the document whose operations become tools, called against the replay's
URL); every run's requests carry its own `X-Hudproxy-Session`, so each run has its own replay state and, with
`generalise=True` (or `hudproxy eval --generalise`), its own resource state a scenario grades by end state:

    shop = env.replay("cassettes/todos.yaml", openapi=create_app().openapi, generalise=True)

    @env.scenario("add-todo")
    async def add_todo(title: str):
        yield f"Add a todo {title!r} for user 1"
        diff = env.state_diff()          # this run's session: created, deleted, updated against the start
        yield any(c["item"]["title"] == title for c in diff["created"])
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hudproxy.env.run import RunContext, current_run
from hudproxy.errors import ConfigError

if TYPE_CHECKING:
    from hudproxy.api.replay import Replay, Session
    from hudproxy.journal.query import CallList

GENERALISE_ENV = "HUDPROXY_GENERALISE"  # set by `hudproxy eval --generalise` (Ray workers inherit HUDPROXY_*)


def generalise_asked() -> bool:
    return os.environ.get(GENERALISE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class EnvReplay:
    """A replay server the environment starts and stops (an `env.setup`), and each run's session on it."""

    def __init__(
        self, cassette: str | Path, options: dict[str, Any], forced: Callable[[], bool], document: Any = None
    ) -> None:
        self.cassette = Path(cassette)
        self.document = document  # the tools' OpenAPI document: it gives the resource model its templates too
        self.options = options  # passed on to `Replay(...)`: generalise, seed, match, unmatched, stream_timing...
        self._forced = forced  # the environment (or `hudproxy eval --generalise`) asks every replay to generalise
        self.replay: Replay | None = None

    def __repr__(self) -> str:
        return f"<EnvReplay {self.cassette} {'running' if self.replay else 'stopped'}>"

    @property
    def generalise(self) -> bool:
        return bool(self.options.get("generalise")) or self._forced()

    async def serve(self) -> AsyncIterator[None]:
        """The setup: start the server for the environment's lifetime."""
        from hudproxy.api.replay import Replay

        options = {**self.options, "generalise": self.generalise}
        if self.generalise and self.document is not None and "openapi" not in options:
            document = self.document() if callable(self.document) else self.document
            if isinstance(document, dict) or not str(document).startswith(("http://", "https://")):
                options["openapi"] = document if isinstance(document, dict) else Path(document)
        replay = Replay(self.cassette, **options)
        await asyncio.to_thread(replay.start)
        self.replay = replay
        try:
            yield
        finally:
            self.replay = None
            await asyncio.to_thread(replay.stop)

    def base_url(self) -> str:
        """The server's root URL (read by the connector when the environment starts)."""
        return self._running().base_url

    def session(self, run: RunContext | str | None = None) -> Session:
        """The replay session of `run` (a RunContext or its id; default: the current run)."""
        chosen = run if run is not None else current_run.get()
        if chosen is None:
            raise ConfigError("env.replay: no current run; call this inside a scenario or tool, or pass the run.")
        from hudproxy.api.replay import Session

        # not `Replay.session(id)`: that resets an existing session, and the run's state is what is graded
        return Session(self._running().server, chosen if isinstance(chosen, str) else chosen.session_id)

    async def set_faults(self, session_id: str, faults: Any) -> None:
        """Give one session its own fault rules (a faults file, or its data), on the server's loop."""
        from hudproxy.faults.load import faults_from

        plan = faults_from(faults, f"{self.cassette}: faults")
        server = self._running().server
        await asyncio.wrap_future(server.submit(lambda: server.app.service.set_faults(session_id, plan)))

    def state(self, run: RunContext | str | None = None) -> dict[str, dict[str, Any]]:
        """Every resource item the run's session sees (`generalise=True`)."""
        return self.session(run).state()

    def state_diff(self, run: RunContext | str | None = None) -> dict[str, list[dict[str, Any]]]:
        """What the run changed against its start: created, deleted and updated items (`generalise=True`)."""
        return self.session(run).state_diff()

    def calls(self, run: RunContext | str | None = None) -> CallList:
        """The replay journal of the run's session: each call says who answered it (`answered_by`, `rule`)."""
        return self.session(run).calls()

    def _running(self) -> Replay:
        if self.replay is None:
            raise ConfigError(f"env.replay({self.cassette}): not running; start the environment (`async with env:`).")
        return self.replay
