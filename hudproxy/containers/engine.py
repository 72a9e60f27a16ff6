"""Connecting to the Docker engine, with one clear error when there is none."""

from __future__ import annotations

import os
import re

import requests
from docker.client import DockerClient, from_env
from docker.errors import DockerException

from hudproxy.containers.errors import EngineUnavailable

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def connect(base_url: str | None = None, timeout: float = 120.0) -> DockerClient:
    """A client whose engine has answered a ping; `base_url` defaults to DOCKER_HOST, then the local socket.

    The API version is negotiated, so older engines (Debian's docker.io 20.10) work. `timeout` bounds each API
    call, not a whole build or run.
    """
    where = base_url or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    try:
        if base_url:
            client = DockerClient(base_url=base_url, version="auto", timeout=int(timeout))
        else:
            client = from_env(version="auto", timeout=int(timeout))
        client.ping()
    except (DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise EngineUnavailable(where, _reason(exc)) from None
    return client


def _reason(exc: Exception) -> str:
    """The operating system's words for a connection failure ("Connection refused"), not urllib3's page."""
    text = str(exc)
    found = re.search(r"\[Errno \d+\] ([^\"')]+)", text) or re.search(r"Error\(\d+, '([^']+)'\)", text)
    if found:
        return found.group(1).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
