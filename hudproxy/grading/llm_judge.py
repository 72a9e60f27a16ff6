"""The LLM judge: a `Judge` that asks any OpenAI-compatible chat-completions endpoint whether a run meets a
criterion, for rubric criteria written `judge: "..."`.

    judge = judge_from_environment("gpt-4o-mini", samples=3)    # $HUDPROXY_JUDGE_BASE_URL / $OPENAI_BASE_URL ...
    verdict = judge(JudgeRequest("States the refunded amount.", transcript, evidence))
    verdict.met, verdict.reason                                   # True/False, or None (no verdict) with why

Each answer must be strict JSON (`judge_answers`): the server is asked for it through `response_format` (OpenAI's
`json_schema`; else llama.cpp's `json_object` with a schema; else plain `json_object`; else nothing: the first the
server accepts is kept). An answer in any other shape gets one retry that says so, then counts as no verdict with
the reason. `samples=N` asks N times (seeds seed..seed+N-1, temperature 0.7 unless given) and takes the majority.
Verdicts are cached (`judge_cache`) by (criterion, run content, model, samples), so re-grading is free and
deterministic. A judge that cannot be reached gives no verdict (criterion not applicable) and is not cached.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import httpx

from hudproxy.errors import ConfigError
from hudproxy.grading.judge_answers import (
    CORRECTION,
    PROMPT_VERSION,
    SCHEMA,
    Answer,
    majority,
    messages,
    parse,
)
from hudproxy.grading.judge_cache import JudgeCache, content_hash, default_cache_path
from hudproxy.grading.judging import JudgeRequest, JudgeVerdict

OPENAI_URL = "https://api.openai.com/v1"
BASE_URL_ENVS = ("HUDPROXY_JUDGE_BASE_URL", "OPENAI_BASE_URL")  # the judge's own endpoint wins over the agent's
API_KEY_ENVS = ("HUDPROXY_JUDGE_API_KEY", "OPENAI_API_KEY")
# response_format kinds, most precise first; a server that refuses one is asked the next
FORMATS = ("json_schema", "json_object_schema", "json_object", "none")
GRAMMAR_REASON_CHARS = 120  # a grammar-bound reason: a small model otherwise rambles to max_tokens, cutting the JSON


class JudgeUnavailable(Exception):
    """The endpoint did not answer (connection, timeout, an error status): no verdict, nothing cached."""


class LLMJudge:
    """A `Judge` over an OpenAI-compatible chat API (plain httpx); safe to call from several threads."""

    def __init__(
        self, model: str, *, base_url: str | None = None, api_key: str | None = None, samples: int = 1,
        temperature: float | None = None, seed: int = 0, max_tokens: int = 200, timeout: float = 120.0,
        cache: JudgeCache | str | Path | None = None,
    ) -> None:  # fmt: skip
        if not model:
            raise ConfigError("--judge needs a model name, e.g. --judge gpt-4o-mini")
        if samples < 1:
            raise ConfigError(f"--judge-samples must be at least 1, not {samples}")
        self.model = model
        self.base_url = (base_url or OPENAI_URL).rstrip("/")
        self.api_key = api_key
        self.samples = samples
        self.temperature = temperature if temperature is not None else (0.0 if samples == 1 else 0.7)
        self.seed = seed
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.cache = JudgeCache(cache) if isinstance(cache, str | Path) else cache
        self.asked = 0  # chat completions requested (a cache hit asks none)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self._format = 0  # index into FORMATS: the most precise one this server has not refused
        self._lock = threading.Lock()
        self._asking: dict[tuple[str, str, str, int], threading.Lock] = {}

    def __call__(self, request: JudgeRequest) -> JudgeVerdict:
        key = (request.criterion, self.content_key(request), self.model, self.samples)
        with self._lock:
            gate = self._asking.setdefault(key, threading.Lock())
        with gate:  # the same question from concurrent runs: the first asks, the others read its answer
            return self._judge(request, key)

    def _judge(self, request: JudgeRequest, key: tuple[str, str, str, int]) -> JudgeVerdict:
        if self.cache is not None:
            cached = self.cache.get(*key)
            if cached is not None:
                return cached
        try:
            answers = [self._sample(request, self.seed + number) for number in range(self.samples)]
        except JudgeUnavailable as exc:
            return JudgeVerdict(None, f"no verdict: the judge {self.model} at {self.base_url} failed: {exc}")
        verdict = majority(answers)
        if self.cache is not None:
            self.cache.put(key, verdict, [answer.raw for answer in answers])
        return verdict

    def content_key(self, request: JudgeRequest) -> str:
        """The run content and the settings that shape the answer (not the run id: equal runs share verdicts)."""
        return content_hash({"transcript": request.transcript, "evidence": list(request.evidence),
                             "prompt": PROMPT_VERSION, "temperature": self.temperature, "seed": self.seed,
                             "max_tokens": self.max_tokens})  # fmt: skip

    def through(self, base_url: str) -> LLMJudge:
        """The same judge asking `base_url` instead (an LLM cassette's server, which records or replays what the
        endpoint answers); it shares this judge's cache and takes over closing it, so close only the new one
        (this one's connections are closed here)."""
        routed = LLMJudge(self.model, base_url=base_url, api_key=self.api_key, samples=self.samples,
                          temperature=self.temperature, seed=self.seed, max_tokens=self.max_tokens,
                          timeout=self.timeout, cache=self.cache)  # fmt: skip
        self._client.close()
        return routed

    def close(self) -> None:
        self._client.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> LLMJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sample(self, request: JudgeRequest, seed: int) -> Answer:
        """One verdict: the answer, or after a reply in the wrong shape, the answer to one correction."""
        asked = messages(request)
        raw = self._complete(asked, seed)
        parsed = parse(raw)
        if parsed is None:
            retry = [*asked, {"role": "assistant", "content": raw}, {"role": "user", "content": CORRECTION}]
            raw = self._complete(retry, seed)
            parsed = parse(raw)
        if parsed is None:
            shown = raw.strip()[:160] or "(empty)"
            return Answer(None, f"no verdict: the judge answered twice without the strict JSON format ({shown!r})", raw)
        return Answer(parsed[0], parsed[1], raw)

    def _complete(self, chat: list[dict[str, str]], seed: int) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": chat, "temperature": self.temperature,
                                "seed": seed, "max_tokens": self.max_tokens}  # fmt: skip
        while True:
            with self._lock:
                kind = self._format
            response_format = _response_format(FORMATS[kind])
            sent = {**body, "response_format": response_format} if response_format else body
            try:
                self.asked += 1
                response = self._client.post("/chat/completions", json=sent)
            except httpx.HTTPError as exc:
                raise JudgeUnavailable(f"{type(exc).__name__}: {exc}") from None
            if response.status_code == 200:
                return _content(response)
            if response_format is not None and _refused_format(response):
                with self._lock:
                    self._format = max(self._format, kind + 1)
                continue
            raise JudgeUnavailable(f"/chat/completions answered {response.status_code}: {response.text[:200]}")


def judge_from_environment(
    model: str, *, samples: int = 1, cache: JudgeCache | str | Path | bool | None = True, seed: int = 0,
    temperature: float | None = None,
) -> LLMJudge:  # fmt: skip
    """The judge `--judge MODEL` means: the endpoint and key the agent's would use ($OPENAI_BASE_URL,
    $OPENAI_API_KEY), unless $HUDPROXY_JUDGE_BASE_URL / $HUDPROXY_JUDGE_API_KEY name the judge's own; `cache`
    True is the default cache file (`judge_cache.default_cache_path`), False or None none."""
    base_url = next((os.environ[name] for name in BASE_URL_ENVS if os.environ.get(name)), OPENAI_URL)
    api_key = next((os.environ[name] for name in API_KEY_ENVS if os.environ.get(name)), None)
    if api_key is None and base_url.rstrip("/") == OPENAI_URL:
        raise ConfigError(f"--judge {model} needs an API key: set OPENAI_API_KEY (or HUDPROXY_JUDGE_API_KEY), and "
                          "OPENAI_BASE_URL (or HUDPROXY_JUDGE_BASE_URL) for a compatible server")  # fmt: skip
    store: JudgeCache | str | Path | None = default_cache_path() if cache is True else (cache or None)  # type: ignore[assignment]
    return LLMJudge(model, base_url=base_url, api_key=api_key, samples=samples, cache=store, seed=seed,
                    temperature=temperature)  # fmt: skip


def _response_format(kind: str) -> dict[str, Any] | None:
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "verdict", "strict": True, "schema": SCHEMA}}
    if kind == "json_object_schema":  # llama.cpp turns the schema into a grammar; a bounded reason ends the JSON
        reason = {"type": "string", "maxLength": GRAMMAR_REASON_CHARS}
        return {"type": "json_object", "schema": {**SCHEMA, "properties": {**SCHEMA["properties"], "reason": reason}}}
    if kind == "json_object":
        return {"type": "json_object"}
    return None


def _refused_format(response: httpx.Response) -> bool:
    """An error about `response_format` itself (OpenAI's 400, a validator's 422, llama.cpp's 500 with the
    validation message): the server does not support that kind, so the next is tried."""
    return response.status_code in (400, 422, 500) and any(
        word in response.text for word in ("response_format", "json_schema", "json_object"))  # fmt: skip


def _content(response: httpx.Response) -> str:
    try:
        message = response.json()["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise JudgeUnavailable(f"/chat/completions answered 200 but no message: {response.text[:200]}") from None
    return message.get("content") or ""
