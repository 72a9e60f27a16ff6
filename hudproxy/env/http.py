"""HTTP services as tools: `connect_fastapi` (in-process, over httpx.ASGITransport) and `connect_openapi` (real
HTTP). One adapter; only the transport differs.

Every request is journaled in the calling run as an `http` call and carries `X-Hudproxy-Session: <run id>`, so a
hudproxy replay behind `base_url` keeps one state per run. A FastAPI app given as a factory (`create_app`) is
built once per run, so in-process state (the shop's orders) is never shared between runs; an app instance is.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from hudproxy.env.openapi import Operation, operations
from hudproxy.env.run import RunContext
from hudproxy.env.tools import ToolError, ToolSpec
from hudproxy.env.transport import cheap_idle_checks
from hudproxy.errors import ConfigError

SESSION_HEADER = "X-Hudproxy-Session"
TIMEOUT = httpx.Timeout(30.0)


class HttpConnector:
    """Operations of one OpenAPI document, called through an httpx client made by `make_client`."""

    def __init__(
        self,
        label: str,
        document: Callable[[], Any],
        make_client: Callable[[], httpx.AsyncClient],
        per_run: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.label = label
        self._document = document
        self._make_client = make_client
        self.per_run = per_run
        self.headers = dict(headers or {})
        self.ops: dict[str, Operation] = {}
        self._shared: httpx.AsyncClient | None = None

    async def start(self) -> None:
        document = self._document()
        if inspect.isawaitable(document):
            document = await document
        preset = {name.lower() for name in self.headers}
        self.ops = {}
        for op in operations(document, self.label):
            self.ops[op.spec.name] = _without_preset(op, preset)
        if not self.per_run:
            self._shared = self._make_client()
            self._shared.cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))  # type: ignore[assignment]

    def tools(self) -> list[ToolSpec]:
        return [op.spec for op in self.ops.values()]

    async def client(self, run: RunContext) -> httpx.AsyncClient:
        if self._shared is not None:
            return self._shared
        client = run.state.get(self)
        if client is None:
            client = run.state[self] = self._make_client()
            run.stack.push_async_callback(client.aclose)
        return client

    async def call(self, name: str, args: dict[str, Any], run: RunContext) -> Any:
        op = self.ops[name]
        request = build_request(op, args, {**self.headers, SESSION_HEADER: run.session_id})
        client = await self.client(run)
        jar = self._run_cookies(run)
        if jar is not None:
            merged = httpx.Cookies(jar)
            merged.update(request.get("cookies") or {})
            request["cookies"] = merged
        started = time.perf_counter()
        try:
            response = await client.send(client.build_request(**request))
        except httpx.HTTPError as exc:
            raise ToolError(f"{op.method} {op.path} failed: {type(exc).__name__}: {exc}") from exc
        if jar is not None:
            jar.extract_cookies(response)
        run.journal.http(response.request, response, started)
        return response_value(op, response)

    def _run_cookies(self, run: RunContext) -> httpx.Cookies | None:
        """A client shared by runs keeps no cookies (its jar refuses them); each run keeps its own here, so one
        run's session cookie never rides along on another run's request."""
        if self._shared is None:
            return None
        jar = run.state.get((self, "cookies"))
        if jar is None:
            jar = run.state[(self, "cookies")] = httpx.Cookies()
        return jar

    async def stop(self) -> None:
        if self._shared is not None:
            await self._shared.aclose()
            self._shared = None


def _without_preset(op: Operation, preset: set[str]) -> Operation:
    """Header parameters the connector already sets (an Authorization, say) are not asked of the agent."""
    hidden = {k for k, v in op.where.items() if v == "header" and k.lower() in preset}
    if not hidden:
        return op
    schema = dict(op.spec.input_schema)
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in hidden}
    schema["required"] = [k for k in schema.get("required", []) if k not in hidden]
    spec = ToolSpec(op.spec.name, op.spec.description, schema, op.spec.output_schema, op.spec.wrapped, op.spec.source)
    return Operation(spec, op.method, op.path, {k: v for k, v in op.where.items() if k not in hidden})


def build_request(op: Operation, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """httpx.build_request keyword arguments for a tool call; unknown arguments are refused, like a server would."""
    unknown = sorted(set(args) - set(op.where))
    if unknown:
        raise ToolError(f"{op.spec.name}: unknown argument(s) {', '.join(unknown)}")
    missing = [k for k in op.spec.input_schema.get("required", []) if k not in args]
    if missing:
        raise ToolError(f"{op.spec.name}: missing required argument(s) {', '.join(missing)}")
    path, query, body, out_headers, cookies = op.path, {}, {}, dict(headers), {}
    whole: Any = None
    for name, value in args.items():
        place = op.where[name]
        if place == "path":
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        elif place == "query":
            query[name] = json.dumps(value) if isinstance(value, dict | list) else value
        elif place == "header":
            out_headers[name] = str(value)
        elif place == "cookie":
            cookies[name] = str(value)
        elif place == "field":
            body[name] = value
        else:
            whole = value
    request: dict[str, Any] = {"method": op.method, "url": path, "params": query, "headers": out_headers}
    if cookies:
        request["cookies"] = cookies
    if body or whole is not None:
        request["json"] = whole if whole is not None else body
    return request


def response_value(op: Operation, response: httpx.Response) -> Any:
    """JSON as data, text as a string, bytes as base64-free size note; a non-2xx status is a ToolError."""
    content_type = response.headers.get("content-type", "")
    try:
        value: Any = response.json() if "json" in content_type else response.text
    except ValueError:
        value = response.text
    if response.status_code >= 400:
        detail = value if isinstance(value, str) else json.dumps(value)
        raise ToolError(f"{op.method} {response.request.url.path} returned {response.status_code}: {detail[:500]}")
    if isinstance(value, str) and "\x00" in value:
        return f"[{len(response.content)} bytes of {content_type or 'binary data'}]"
    return value


def fastapi_connector(app: Any, label: str = "", headers: dict[str, str] | None = None) -> HttpConnector:
    """An app instance (shared by every run) or a zero-argument factory (one app per run)."""
    factory = app if callable(app) and not hasattr(app, "openapi") else None
    template = factory() if factory is not None else app
    if not hasattr(template, "openapi"):
        raise ConfigError("connect_fastapi needs a FastAPI app or a function returning one (e.g. create_app).")
    name = label or f"fastapi app {getattr(template, 'title', '')!r}"

    def make_client() -> httpx.AsyncClient:
        target = factory() if factory is not None else template
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url="http://app", timeout=TIMEOUT)

    return HttpConnector(name, template.openapi, make_client, per_run=factory is not None, headers=headers)


async def load_document(source: str | Path | dict[str, Any] | Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """An OpenAPI document from a dict, a JSON/YAML file, or an http(s) URL (fetched once, at start)."""
    if callable(source):
        return source()
    if isinstance(source, dict):
        return source
    text = str(source)
    if text.startswith(("http://", "https://")):
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(text)
        if response.status_code != 200:
            raise ConfigError(f"{text}: answered {response.status_code}, not an OpenAPI document.")
        return response.json()
    path = Path(text)
    if not path.exists():
        raise ConfigError(f"{path}: OpenAPI document not found.")
    import yaml

    return yaml.safe_load(path.read_text()) if path.suffix in (".yaml", ".yml") else json.loads(path.read_text())


def openapi_connector(
    source: str | Path | dict[str, Any] | Callable[[], dict[str, Any]],
    base_url: str | Callable[[], str] | None,
    headers: dict[str, str] | None = None,
) -> HttpConnector:
    """Real HTTP to `base_url` (default: the document's first server, else the URL it was fetched from).

    `base_url` may be a function, read when the environment starts: after `@env.setup` has started the service
    (or the replay) and knows its port."""
    cache: dict[str, Any] = {}

    async def document() -> dict[str, Any]:
        cache["doc"] = await load_document(source)
        return cache["doc"]

    def make_client() -> httpx.AsyncClient:
        root = (base_url() if callable(base_url) else base_url) or _default_base(cache["doc"], source)
        return cheap_idle_checks(httpx.AsyncClient(base_url=root, timeout=TIMEOUT))

    label = f"openapi {source}" if isinstance(source, str | Path) else "openapi document"
    return HttpConnector(label, document, make_client, per_run=False, headers=headers)


def _default_base(document: dict[str, Any], source: Any) -> str:
    servers = document.get("servers") or []
    if servers and str(servers[0].get("url", "")).startswith("http"):
        return servers[0]["url"]
    if isinstance(source, str) and source.startswith("http"):
        return source.rsplit("/", 1)[0]
    raise ConfigError("connect_openapi: give base_url=..., the document names no absolute server URL.")
