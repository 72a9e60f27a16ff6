"""`LlmCassette`: an agent's model calls through hudproxy, recorded against the real endpoint or replayed without it.

One hudproxy replay server for the whole eval (the driver's, so Ray workers reach the same one); every run sends
its calls with `X-Hudproxy-Session: <run id>`, so each run is its own replay session and the cassette keeps which
run made each call. One cassette holds many runs; each run replays its own answers.

| mode   | a call recorded in the cassette | a new call                           |
|--------|---------------------------------|--------------------------------------|
| record | forwarded and recorded again    | forwarded and recorded (fresh file)  |
| replay | replayed                        | refused (501, the nearest recording) |
| once   | replayed                        | forwarded and appended               |

`record` writes a fresh file beside the cassette and moves it over the cassette only when the eval ends cleanly,
so an interrupted re-recording leaves the old cassette intact. The provider key is scrubbed from every recording
and journal row (`Authorization` is a secret header of the default scrub policy).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from hudproxy.api.server import ReplayServer
from hudproxy.cassette.appendlog import log_path
from hudproxy.cassette.files import save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.choices import Choice
from hudproxy.errors import ConfigError
from hudproxy.interaction.model import Request
from hudproxy.matching.outcome import Outcome
from hudproxy.record.misses import record_misses
from hudproxy.replay.options import ReplayOptions, Unmatched
from hudproxy.replay.server import create_replay_app
from hudproxy.replay.unmatched import UNMATCHED_STATUS, diagnosis

DEFAULT_BASE_URL = "https://api.openai.com/v1"
log = logging.getLogger("hudproxy.llm")


class LlmMode(Choice):
    RECORD = "record"
    REPLAY = "replay"
    ONCE = "once"

    @classmethod
    def option_name(cls) -> str:
        return "--llm-mode"


def upstream_base_url(base_url: str | None = None) -> str:
    """The real endpoint: the given one, else $OPENAI_BASE_URL, else OpenAI's API."""
    return (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


class LlmCassette:
    """`with LlmCassette("llm.yaml", "once") as llm: OpenAIChatAgent(model, base_url=llm.base_url)`.

    `upstream` is the real OpenAI-compatible base URL (ending in /v1 or wherever its API lives); `base_url` is
    the same API on hudproxy's server, which agents use instead."""

    def __init__(
        self, path: str | Path, mode: LlmMode | str = LlmMode.ONCE, upstream: str | None = None, *,
        stream_timing: bool = False,
    ) -> None:  # fmt: skip
        self.path = Path(path)
        self.mode = LlmMode.parse(mode)
        self.upstream = upstream_base_url(upstream)
        parts = urlsplit(self.upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"the model endpoint {self.upstream!r} is not an http(s) URL; set OPENAI_BASE_URL "
                              "to e.g. http://127.0.0.1:8080/v1")  # fmt: skip
        self.origin, self.api_path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
        self.stream_timing = stream_timing
        self.fresh = self.path.with_name(f".{self.path.stem}.recording{self.path.suffix}")
        self.server: ReplayServer | None = None
        self.misses: dict[str, list[str]] = {}  # session (run id) -> why each of its unmatched calls missed
        if self.mode is LlmMode.REPLAY and not self.path.is_file():
            raise ConfigError(f"--llm-cassette {self.path}: no such cassette to replay; record it first with "
                              "--llm-mode record (or once)")  # fmt: skip
        if not self.path.parent.is_dir():
            raise ConfigError(f"--llm-cassette {self.path}: the folder {self.path.parent} does not exist")

    @property
    def base_url(self) -> str:
        """Where agents send their chat completions (root of hudproxy's server + the endpoint's API path)."""
        if self.server is None:
            raise ConfigError(f"--llm-cassette {self.path}: not started")
        return self.server.base_url + self.api_path

    def _serving(self) -> Path:
        """The file the server replays and appends to, made ready for the mode."""
        if self.mode is LlmMode.REPLAY:
            return self.path
        if self.mode is LlmMode.RECORD:
            self.fresh.unlink(missing_ok=True)
            log_path(self.fresh).unlink(missing_ok=True)  # a crashed recording's log must not join this one
            save_cassette(Cassette(meta={"format": 1, "target": self.origin}), self.fresh)
            return self.fresh
        if not self.path.exists() and not log_path(self.path).exists():
            save_cassette(Cassette(meta={"format": 1, "target": self.origin}), self.path)
        return self.path

    def start(self) -> Self:
        """A bare replay server: no journal of its own (each run journals its model calls itself, as `llm` rows),
        no admin API, no MCP; misses forwarded and recorded unless replaying."""
        serving = self._serving()
        forwarding = self.mode is not LlmMode.REPLAY
        options = ReplayOptions(
            unmatched=Unmatched.PASSTHROUGH if forwarding else Unmatched.ERROR, target=self.origin if forwarding
            else None, stream_timing=self.stream_timing, idle_timeout=None, record_misses=record_misses,
        )  # fmt: skip
        app = create_replay_app(serving, options)
        app.service.on_outcome = self._missed
        server = ReplayServer(app)
        server.start()
        self.server = server
        log.info("model calls: %s (%s) for %s", self.path, self.mode.value, self.upstream)
        return self

    def _missed(self, session: str, outcome: Outcome) -> None:
        """Keep why a run's call found no recording (its turn and field, as HTTP misses are told), for its error."""
        if outcome.interaction is None and outcome.response.status == UNMATCHED_STATUS:
            asked = Request(outcome.request.method, outcome.request.url)  # named, not shown: no body, no headers
            text = diagnosis(asked, outcome.near_misses, f"--llm-cassette {self.path}")
            self.misses.setdefault(session, []).append(text)

    def stop(self, keep: bool = True) -> None:
        """Stop the server (flushing what was recorded); `record` then moves the fresh file over the cassette,
        or drops it (`keep=False`: the eval failed)."""
        server, self.server = self.server, None
        if server is None:
            return
        server.stop()
        if self.mode is LlmMode.RECORD:
            if keep and self.fresh.exists():
                os.replace(self.fresh, self.path)
            else:
                self.fresh.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.stop(keep=exc_type is None)
