"""Deterministic benchmark traffic: vcrpy-format cassettes and the wrk script that replays them.

Every interaction is a pure function of its index, so a 100-interaction cassette is the first 100
interactions of a 100,000-interaction one, and the requests wrk sends can be regenerated without keeping the
cassette around. The cassette is written by hand (streamed) rather than through ``yaml.dump``/``json.dump`` so
that writing a 100,000-interaction file takes seconds, not minutes; ``check_roundtrip`` proves both encodings
say the same thing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_FILLER = "".join(random.Random(0).choices("abcdefghijklmnopqrstuvwxyz0123456789 ", k=8192))
MIN_BODY, MAX_BODY = 600, 5000


@dataclass(frozen=True)
class Interaction:
    """One recorded request and its canned response, as the benchmark needs them."""

    index: int
    method: str
    target: str  # path + query, e.g. "/items/7?page=3"
    body: str | None
    response_body: str

    @property
    def content_type(self) -> str | None:
        """The request's content type: only requests with a body carry one."""
        return "application/json" if self.body is not None else None

    def request_headers(self) -> dict[str, list[str]]:
        """Request headers as vcrpy stores them (values are lists)."""
        headers = {"Accept": ["*/*"]}
        if self.content_type:
            headers["Content-Type"] = [self.content_type]
        return headers

    def response_headers(self) -> dict[str, list[str]]:
        """Response headers as vcrpy stores them."""
        return {
            "Content-Type": ["application/json"],
            "Content-Length": [str(len(self.response_body.encode()))],
        }

    def to_vcr(self, host_port: str) -> dict[str, Any]:
        """The interaction in vcrpy's cassette shape."""
        return {
            "request": {
                "method": self.method,
                "uri": f"http://{host_port}{self.target}",
                "body": self.body,
                "headers": self.request_headers(),
            },
            "response": {
                "status": {"code": 200, "message": "OK"},
                "headers": self.response_headers(),
                "body": {"string": self.response_body},
            },
        }


def make_interaction(i: int) -> Interaction:
    """Interaction number ``i``: every third one is a POST with a JSON body; bodies: 0.6 to 5 KB of JSON."""
    rng = random.Random(i)
    page = rng.randint(1, 20)
    method = "POST" if i % 3 == 2 else "GET"
    body = json.dumps({"id": i, "op": "update", "qty": rng.randint(1, 99)}) if method == "POST" else None
    return Interaction(i, method, f"/items/{i}?page={page}", body, _response_body(i, page, rng))


def _response_body(i: int, page: int, rng: random.Random) -> str:
    """A JSON object padded with filler to a size drawn uniformly from MIN_BODY..MAX_BODY bytes."""
    target = rng.randint(MIN_BODY, MAX_BODY)
    head = {
        "id": i,
        "page": page,
        "name": f"item-{i}",
        "price": rng.randint(100, 99999) / 100,
    }
    base = len(json.dumps({**head, "blob": ""}))
    start = rng.randrange(len(_FILLER) - MAX_BODY)
    return json.dumps({**head, "blob": _FILLER[start : start + max(0, target - base)]})


def make_interactions(n: int) -> list[Interaction]:
    """The first ``n`` interactions."""
    return [make_interaction(i) for i in range(n)]


def spread_sample(n: int, k: int = 500) -> list[Interaction]:
    """``k`` interactions spread evenly over the whole range 0..n-1 (all of them when n <= k)."""
    if n <= k:
        return make_interactions(n)
    return [make_interaction(j * n // k) for j in range(k)]


def write_cassette(path: str | Path, n: int, host_port: str = "127.0.0.1:9999") -> list[Interaction]:
    """Write ``n`` interactions as a vcrpy cassette (YAML or JSON by extension) and return them."""
    path = Path(path)
    interactions = make_interactions(n)
    writer = _write_json if path.suffix == ".json" else _write_yaml
    with path.open("w", encoding="utf-8") as out:
        writer(out, (it.to_vcr(host_port) for it in interactions))
    return interactions


def _write_json(out: IO[str], records: Iterable[dict[str, Any]]) -> None:
    """Stream ``{"version": 1, "interactions": [...]}`` one interaction per line."""
    out.write('{"version": 1, "interactions": [\n')
    for k, record in enumerate(records):
        out.write(("" if k == 0 else ",\n") + json.dumps(record))
    out.write("\n]}\n")


def _write_yaml(out: IO[str], records: Iterable[dict[str, Any]]) -> None:
    """Stream block-style YAML shaped like vcrpy's ``yaml.dump`` output (sorted keys, header value lists)."""
    out.write("interactions:\n")
    for record in records:
        _yaml_node(out, record, indent=2, first_prefix="- ")
    out.write("version: 1\n")


def _yaml_node(out: IO[str], node: dict[str, Any], indent: int, first_prefix: str = "") -> None:
    """Write a mapping in block style; ``first_prefix`` lets a mapping start a list item."""
    pad = " " * indent
    for k, key in enumerate(sorted(node)):
        lead = (first_prefix.rjust(indent) if first_prefix and k == 0 else pad) + f"{key}:"
        value = node[key]
        if isinstance(value, dict):
            out.write(lead + "\n")
            _yaml_node(out, value, indent + 2)
        elif isinstance(value, list):
            out.write(lead + "\n" + "".join(f"{pad}- {_yaml_scalar(v)}\n" for v in value))
        else:
            out.write(f"{lead} {_yaml_scalar(value)}\n")


def _yaml_scalar(value: object) -> str:
    """Ints and null plain, every string single-quoted (only ``'`` needs escaping there)."""
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def check_roundtrip(directory: str | Path, n: int = 30) -> None:
    """Assert that the YAML and JSON writers encode the same data (a sanity check of the hand-rolled YAML)."""
    import yaml

    directory = Path(directory)
    write_cassette(directory / "rt.yaml", n)
    write_cassette(directory / "rt.json", n)
    from_yaml = yaml.load(
        (directory / "rt.yaml").read_text(),
        Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader),
    )
    from_json = json.loads((directory / "rt.json").read_text())
    if from_yaml != from_json:
        raise ValueError("YAML and JSON cassettes differ")


def write_wrk_script(path: str | Path, requests: Sequence[Interaction]) -> None:
    """Write a wrk Lua script that cycles through ``requests`` in order.

    Requests are pre-formatted once per thread in ``init`` (wrk.format fills in Host and Content-Length), so
    the ``request()`` hook only bumps a per-thread counter: the load generator stays cheap.
    """
    rows = ",\n".join(
        "  {"
        + ", ".join(_lua_str(v) if v is not None else "nil" for v in (r.method, r.target, r.body, r.content_type))
        + "}"
        for r in requests
    )
    Path(path).write_text(_LUA_TEMPLATE.replace("__ROWS__", rows), encoding="utf-8")


_LUA_TEMPLATE = """-- generated by bench/traffic.py: cycles through the recorded requests
local rows = {
__ROWS__
}
local reqs = {}
local i = 0

function init(args)
  for k, r in ipairs(rows) do
    local headers = {Accept = "*/*"}
    if r[4] then headers["Content-Type"] = r[4] end
    reqs[k] = wrk.format(r[1], r[2], headers, r[3])
  end
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
"""


def _lua_str(value: str) -> str:
    """A double-quoted Lua string literal; non-printable bytes become decimal escapes."""
    out = []
    for byte in value.encode():
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'
