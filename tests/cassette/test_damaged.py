"""Damaged and hostile cassettes: every value replay could not send is refused at load, in one line naming the file,
the line, the key and what to do; the CLI shows that line and exits 2 (issue 14, requirement 5)."""

from __future__ import annotations

import base64
import gzip
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import httpx
import pytest

from hudproxy.cassette import compiled, load_cassette, save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.errors import CassetteError
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.replay import ReplayEngine
from hudproxy.replay.asgi import ReplayApp
from hudproxy.serving import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
MARK = "#<"  # marks the line the error must name (a YAML comment)


def http_cassette(response: str = "status: {code: 200, message: OK}", meta: str = "{}", request: str = "") -> str:
    return (
        "version: 1\ninteractions:\n"
        "- request:\n    method: GET\n    uri: http://api.test/x\n" + request + "  response:\n    " + response + "\n"
        "    body: {string: ok}\n  hudproxy: " + meta + "\n"
    )


MCP_AND_HTTP = "version: 1\nmcp:\n- {method: tools/list, result: {tools: []}}\ninteractions:\n"

# (content, words the message must hold); the marked line is the one named
REFUSED = [
    pytest.param(http_cassette(meta="{chunks: [[.inf, 1]]}  #<"), "chunks", id="chunk-size-infinite"),
    pytest.param(http_cassette(meta="{chunks: [[10, .nan]]}  #<"), "chunks", id="chunk-time-nan"),
    pytest.param(http_cassette(meta="{chunks: [[-1, 0]]}  #<"), "not a chunk", id="chunk-negative"),
    pytest.param(
        "version: 1\ninteractions:\n- request: {method: GET, uri: 'http://[::1/x'}  #<\n"
        "  response: {status: {code: 200}}\n",
        "not a valid URL",
        id="uri-bad-ipv6",
    ),
    pytest.param(
        "version: 1\ninteractions:\n- request: {method: GET, uri: 'http://h:99999/'}  #<\n"
        "  response: {status: {code: 200}}\n",
        "not a valid URL",
        id="uri-port-out-of-range",
    ),
    pytest.param(http_cassette("status: {code: 999}  #<"), "use a number from 100 to 599", id="status-999"),
    pytest.param(http_cassette("status: {code: -5}  #<"), "use a number from 100 to 599", id="status-negative"),
    pytest.param(http_cassette("status: {code: 600}  #<"), "100 to 599", id="status-600"),
    pytest.param(http_cassette("status: {code: 99}  #<"), "100 to 599", id="status-99"),
    pytest.param(
        http_cassette('status: {code: 200}\n    headers:\n      X-A: ["a\\r\\nSet-Cookie: x"]  #<'),
        "control character",
        id="header-value-crlf",
    ),
    pytest.param(
        http_cassette('status: {code: 200}\n    headers:\n      "X A": [a]  #<'),
        "not a valid header name",
        id="name-space",
    ),
    pytest.param(
        http_cassette('status: {code: 200}\n    headers:\n      "X:A": [a]  #<'),
        "not a valid header name",
        id="name-colon",
    ),
    pytest.param(
        http_cassette('status: {code: 200}\n    headers:\n      "": [a]  #<'),
        "not a valid header name",
        id="name-empty",
    ),
    pytest.param(
        http_cassette("status: {code: 200}\n    headers:\n      Content-Length: [abc]  #<", meta="{index: 0}"),
        "Content-Length 'abc' is not a number",
        id="content-length-not-a-number",
    ),
    pytest.param(
        http_cassette("status: {code: 200}", request='    headers:\n      X-B: ["a\\nb"]  #<\n'),
        "control character",
        id="request-header-lf",
    ),
    pytest.param(http_cassette('status: {code: 200, message: "OK\\r\\nX: y"}  #<'), "reason", id="reason-crlf"),
    pytest.param(
        "version: 1\ninteractions:\n- request: {method: GET, uri: 'http://x/'}\n"
        "  response:\n    status: {code: 204}\n    body: {string: not empty}  #<\n",
        "has no body",
        id="204-with-body",
    ),
    pytest.param(http_cassette(meta="{duration_ms: abc}  #<"), "not a duration", id="duration-text"),
    pytest.param(http_cassette(meta="{duration_ms: -5}  #<"), "not a duration", id="duration-negative"),
    pytest.param(http_cassette(meta="{duration_ms: .inf}  #<"), "not a duration", id="duration-infinite"),
    pytest.param(http_cassette(meta="{recorded_at: yesterday}  #<"), "ISO 8601", id="recorded-at-junk"),
    pytest.param(http_cassette(meta="{recorded_at: [1]}  #<"), "recorded_at", id="recorded-at-list"),
    pytest.param(
        "version: 1\nmcp:\n- {method: tools/call, params: {arguments: {}}, result: {}}  #<\ninteractions: []\n",
        "needs params.name",
        id="mcp-tools-call-without-name",
    ),
    pytest.param(
        "version: 1\nmcp:\n- {method: tools/call, params: {name: 5}, result: {}}  #<\ninteractions: []\n",
        "needs params.name",
        id="mcp-tools-call-name-not-text",
    ),
    pytest.param(
        "version: 1\nmcp:\n- {method: resources/read, params: {}, result: {}}  #<\ninteractions: []\n",
        "needs params.uri",
        id="mcp-resources-read-without-uri",
    ),
    pytest.param(
        "version: 1\nmcp:\n- {method: tools/call, params: {name: t, arguments: 5}}  #<\ninteractions: []\n",
        "arguments must be a mapping",
        id="mcp-arguments-not-a-mapping",
    ),
    pytest.param(
        "version: 1\nmcp:\n- {method: tools/list, result: {a: .nan}}  #<\ninteractions: []\n",
        "JSON cannot carry",
        id="mcp-result-nan",
    ),
    pytest.param(
        "version: 1\nmcp:\n- {method: tools/list, error: {code: x}}  #<\ninteractions: []\n",
        "integer code",
        id="mcp-error-code-text",
    ),
    pytest.param(
        MCP_AND_HTTP + "- request: {method: GET, uri: 'http://x/'}\n  response: {status: {code: '999'}}  #<\n",
        "100 to 599",
        id="quirk-with-mcp-section",
    ),
    pytest.param(
        MCP_AND_HTTP + "- request: {method: GET, uri: 'http://x/'}\n  response: {status: {code: 200}}\n"
        "  hudproxy: {duration_ms: x}  #<\n",
        "not a duration",
        id="duration-with-mcp-section",
    ),
    pytest.param(
        "version: 1\nhudproxy:\n  match:\n    ignore_query: 5  #<\ninteractions: []\n",
        "hudproxy.match: ignore_query: expected a list of names",
        id="match-ignore-query-not-a-list",
    ),
    pytest.param(
        "version: 1\nhudproxy:\n  match:\n    'on': [method, nope]  #<\ninteractions: []\n",
        "unknown --match-on aspect 'nope'",
        id="match-unknown-aspect",
    ),
    pytest.param(
        "version: 1\nhudproxy:\n  match:\n    read_tools: [a]  #<\n    write_tools: [a]\ninteractions: []\n",
        "both a read tool and a write tool",
        id="match-tool-both-read-and-write",
    ),
    pytest.param(
        "version: 1\nhudproxy:\n  scrub:\n    headers: [authorization, 5]  #<\ninteractions: []\n",
        "hudproxy.scrub: headers: expected a list of names",
        id="scrub-headers-not-names",
    ),
    pytest.param(
        "version: 1\nhudproxy:\n  match:\n    on: [method]  #<\ninteractions: []\n",
        "quote them, 'on'",
        id="match-unquoted-on-is-a-boolean",
    ),
    pytest.param(
        "version: 1\nhudproxy:\n  scrub:\n    enabled: maybe  #<\ninteractions: []\n",
        "enabled: expected true or false",
        id="scrub-enabled-not-bool",
    ),
]


def marked_line(text: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if MARK in line)


@pytest.mark.parametrize(("content", "words"), REFUSED)
def test_refused_in_one_line_naming_file_line_and_fix(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "cassette.yaml"
    path.write_text(content)

    with pytest.raises(CassetteError) as caught:
        load_cassette(path)

    message = str(caught.value)
    assert message.startswith(f"{path}:{marked_line(content)}: "), message
    assert words in message
    assert "\n" not in message


def test_interaction_index_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    path.write_text(
        '{"version": 1, "interactions": [\n'
        '{"request": {"method": "GET", "uri": "http://x/"}, "response": {"status": {"code": 200}}},\n'
        '{"request": {"method": "GET", "uri": "http://x/"}, "response": {"status": {"code": 999}}}\n]}\n'
    )

    with pytest.raises(CassetteError) as caught:
        load_cassette(path)

    assert str(caught.value).startswith(f"{path}:3: interactions[1].response.status.code: status 999")


# ---------------------------------------------------------------- YAML shape: aliases and nesting

# The 436-byte bomb in the `mcp:` section: 9 levels of 9 aliases, 9**9 values when walked.
MCP_BOMB = (
    "version: 1\nmcp:\n- method: tools/call\n  params:\n    name: x\n    a0: &a0 [1,1,1,1,1,1,1,1,1]\n"
    + "".join(f"    a{n}: &a{n} [{','.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, 9))
    + "interactions: []\n"
)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(MCP_BOMB, id="bomb-in-mcp-params"),
        pytest.param(
            MCP_BOMB.replace("- method: tools/call\n  params:\n    name: x\n", "- method: tools/list\n  result:\n"),
            id="bomb-in-mcp-result",
        ),
        pytest.param(
            "version: 1\nhudproxy:\n  match:\n"
            + MCP_BOMB.split("params:\n    name: x\n")[1].replace("interactions: []\n", "")
            + "interactions: []\n",
            id="bomb-in-policy",
        ),
    ],
)  # fmt: skip
def test_alias_bomb_is_refused_before_it_expands(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(content)

    with pytest.raises(CassetteError) as caught:
        load_cassette(path)

    assert "alias bomb" in str(caught.value)
    assert str(caught.value).startswith(f"{path}:")


def test_self_referring_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("version: 1\nmcp:\n- method: tools/list\n  result: &r {again: *r}\ninteractions: []\n")

    with pytest.raises(CassetteError) as caught:
        load_cassette(path)

    assert str(caught.value).startswith(
        f"{path}:4: not valid YAML: an alias (*name) refers to a value that contains it"
    )


def test_a_few_aliases_written_by_hand_still_load(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(
        "version: 1\ninteractions:\n"
        "- request: {method: GET, uri: 'http://x/a', headers: &h {Accept: [application/json]}}\n"
        "  response: {status: {code: 200}, body: {string: a}}\n"
        "- request: {method: GET, uri: 'http://x/b', headers: *h}\n"
        "  response: {status: {code: 200}, body: {string: b}}\n"
    )

    cassette = load_cassette(path)

    assert [i.request.headers for i in cassette.interactions] == [(("Accept", "application/json"),)] * 2


@pytest.mark.parametrize(
    "nesting",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="flow"),
        pytest.param("\n  " + "- " * 60_000 + "x", id="block"),
    ],
)
def test_nesting_deep_enough_to_crash_the_parser_is_refused(tmp_path: Path, nesting: str) -> None:
    """PyYAML's C composer recursed until the process died with a segfault near 25,000 levels."""
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\ninteractions: []\nhudproxy:\n  extra: " + nesting + "\n")

    with pytest.raises(CassetteError) as caught:
        load_cassette(path)

    assert "nested more than 10000 levels deep" in str(caught.value)


def test_json_nested_past_the_parser_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"version": 1, "interactions": [], "x": ' + "[" * 5000 + "]" * 5000 + "}")

    with pytest.raises(CassetteError, match="not valid JSON"):
        load_cassette(path)


def test_hudproxy_never_writes_an_alias(tmp_path: Path) -> None:
    """A value shared in memory is written out twice: the loader's alias walk never runs on hudproxy's files."""
    shared = (("Accept", "application/json"),)
    interactions = [
        Interaction(Request("GET", f"http://x/{n}", shared), Response(200, "OK", shared, b"x"), n) for n in range(2)
    ]
    path = save_cassette(Cassette(interactions), tmp_path / "written.yaml")

    text = path.read_text()

    assert "&id" not in text and "*id" not in text
    assert load_cassette(path).interactions == interactions


# ---------------------------------------------------------------- normalised, not refused: and replay sends it


def test_header_text_beyond_latin1_is_sent_as_utf8(tmp_path: Path) -> None:
    """vcrpy with httpx stores header bytes decoded as UTF-8; replay sends those bytes again (it was a 500)."""
    path = tmp_path / "utf8.yaml"
    path.write_text(
        http_cassette('status: {code: 200, message: OK}\n    headers:\n      Content-Disposition: ["name=\u2603.txt"]'),
        encoding="utf-8",
    )
    cassette = load_cassette(path)

    with serve_in_thread(ReplayApp(ReplayEngine.from_cassette(cassette))) as base:
        answer = httpx.get(base + "/x", trust_env=False)

    assert answer.status_code == 200
    assert dict(answer.headers.raw)[b"content-disposition"] == "name=\u2603.txt".encode()


def test_content_length_disagreeing_with_an_edited_body_is_corrected(tmp_path: Path) -> None:
    path = tmp_path / "edited.yaml"
    path.write_text(
        "version: 1\ninteractions:\n- request: {method: GET, uri: 'http://api.test/x'}\n"
        "  response:\n    status: {code: 200}\n    headers: {Content-Length: ['2']}\n"
        "    body: {string: edited by hand}\n  hudproxy: {index: 0}\n"
    )
    cassette = load_cassette(path)

    with serve_in_thread(ReplayApp(ReplayEngine.from_cassette(cassette))) as base:
        answer = httpx.get(base + "/x", trust_env=False)

    assert answer.text == "edited by hand"
    assert answer.headers["content-length"] == str(len("edited by hand"))


def test_head_answer_keeps_its_content_length(tmp_path: Path) -> None:
    path = tmp_path / "head.yaml"
    path.write_text(
        "version: 1\ninteractions:\n- request: {method: HEAD, uri: 'http://api.test/x'}\n"
        "  response:\n    status: {code: 200}\n    headers: {Content-Length: ['1234']}\n  hudproxy: {index: 0}\n"
    )

    cassette = load_cassette(path)

    assert cassette.interactions[0].response.headers == (("Content-Length", "1234"),)


def test_unquoted_yaml_time_is_read_as_iso_text(tmp_path: Path) -> None:
    path = tmp_path / "time.yaml"
    path.write_text(http_cassette(meta="{recorded_at: 2024-05-01 12:00:00}"))

    assert load_cassette(path).interactions[0].recorded_at == "2024-05-01T12:00:00"


def test_unquoted_yaml_time_also_on_the_schema_path(tmp_path: Path) -> None:
    """A quirk only pydantic accepts (a status code as text) sends the file through the schema: same answer."""
    path = tmp_path / "time.yaml"
    path.write_text(http_cassette("status: {code: '200'}", meta="{recorded_at: 2024-05-01 12:00:00}"))

    loaded = load_cassette(path).interactions[0]

    assert (loaded.response.status, loaded.recorded_at) == (200, "2024-05-01T12:00:00")


def test_gzip_bomb_body_in_a_foreign_cassette_is_never_inflated(tmp_path: Path) -> None:
    """Another tool's cassette has its Content-Encoding checked against the body: by reading 1 MB, not 200 MB."""
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
    path = tmp_path / "bomb.json"
    path.write_text(
        '{"version": 1, "interactions": [{"request": {"method": "GET", "uri": "http://x/"}, "response": {'
        '"status": {"code": 200}, "headers": {"Content-Encoding": ["gzip"]}, '
        f'"body": {{"base64_string": "{base64.b64encode(bomb).decode()}"}}}}}}]}}'
    )
    tracemalloc.start()
    try:
        cassette = load_cassette(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert cassette.interactions[0].response.headers == (("Content-Encoding", "gzip"),)
    assert peak < 50_000_000


# ---------------------------------------------------------------- the compiled cache returns only checked cassettes


def big_cassette(status: int = 200) -> Cassette:
    body = b"x" * 4000
    interactions = [
        Interaction(Request("GET", f"http://api.test/{n}"), Response(status, "OK", (), body), n) for n in range(600)
    ]
    return Cassette(interactions)


def test_cache_entry_the_checks_refuse_is_ignored(tmp_path: Path) -> None:
    """An entry written by an older hudproxy (which checked less) or edited: the file is read instead."""
    path = save_cassette(big_cassette(), tmp_path / "big.yaml")
    text = path.read_bytes()
    assert len(text) >= compiled.MIN_SIZE
    poisoned = big_cassette(status=999)
    compiled.write(text, poisoned.interactions, {"format": 1})
    assert compiled.cache_path(text).exists()

    loaded = load_cassette(path)

    assert {i.response.status for i in loaded.interactions} == {200}


def test_cache_entry_with_a_bad_policy_is_ignored(tmp_path: Path) -> None:
    path = save_cassette(big_cassette(), tmp_path / "big.yaml")
    text = path.read_bytes()
    compiled.write(text, big_cassette().interactions, {"format": 1, "match": {"on": 5}})

    assert "match" not in load_cassette(path).meta


def test_refused_file_leaves_no_cache_entry(tmp_path: Path) -> None:
    path = save_cassette(big_cassette(), tmp_path / "big.yaml")
    text = path.read_bytes().replace(b"code: 200", b"code: 999", 1)
    path.write_bytes(text)

    with pytest.raises(CassetteError, match="status 999"):
        load_cassette(path)

    assert not compiled.cache_path(text).exists()


def test_cache_is_used_for_a_checked_cassette(tmp_path: Path) -> None:
    path = save_cassette(big_cassette(), tmp_path / "big.yaml")
    first = load_cassette(path)
    assert compiled.cache_path(path.read_bytes()).exists()

    assert compiled.read(path.read_bytes()) is not None
    assert load_cassette(path).interactions == first.interactions


# ---------------------------------------------------------------- the CLI: one line, exit 2, for inspect and replay


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "60"}
    code = "from hudproxy.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env)


CLI_CASES = {
    "status.yaml": http_cassette("status: {code: 999}"),
    "crlf.yaml": http_cassette('status: {code: 200}\n    headers:\n      X-A: ["a\\r\\nb"]'),
    "noname.yaml": "version: 1\nmcp:\n- {method: tools/call, params: {}, result: {}}\ninteractions: []\n",
    "policy.yaml": "version: 1\nhudproxy: {scrub: {headers: 5}}\ninteractions: []\n",
    "bomb.yaml": MCP_BOMB,
}


@pytest.mark.parametrize("command", ["inspect", "replay"])
def test_cli_prints_one_line_and_exits_2(tmp_path: Path, command: str) -> None:
    for name, content in CLI_CASES.items():
        path = tmp_path / name
        path.write_text(content)
        started = time.monotonic()

        done = run_cli(command, str(path))

        assert done.returncode == 2, (name, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"hudproxy: {path}:"), (name, done.stderr)
        assert time.monotonic() - started < 60, name


def test_inspect_why_for_a_tools_call_without_a_name(tmp_path: Path) -> None:
    cassette = tmp_path / "tools.yaml"
    cassette.write_text("version: 1\nmcp:\n- {method: tools/call, params: {name: t}, result: {}}\ninteractions: []\n")
    call = tmp_path / "call.json"
    call.write_text('{"jsonrpc": "2.0", "method": "tools/call", "params": {"arguments": {}}}')

    done = run_cli("inspect", str(cassette), "--why", str(call))

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hudproxy: {call}: a tools/call call needs params.name"), lines
