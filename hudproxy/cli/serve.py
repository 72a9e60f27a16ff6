"""`hudproxy serve` and `hudproxy dev`: an Environment as an MCP server (tools, and scenarios as prompts)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from hudproxy.cli.common import err_console
from hudproxy.cli.remote import refuse_remote, warn_remote

Arg = typer.Argument
Opt = typer.Option
ALLOW_REMOTE_HELP = "Listen off loopback (--host 0.0.0.0): anyone who can connect runs the environment's tools"


def env_exposure(target: Path) -> str:
    """What an environment server gives a client on another machine: no token guards it."""
    return f"the tools of {target} (run on this machine, with its services and credentials) at /mcp, with no token"


def check_remote(host: str, allow_remote: bool, target: Path) -> None:
    """The record/replay rule: off loopback only with --allow-remote, and then a warning naming the exposure."""
    refuse_remote(host, allow_remote, env_exposure(target))
    warn_remote(host, env_exposure(target))


def serve(
    target: Annotated[Path, Arg(help="An environment folder (with env.py) or its .py file")],
    host: Annotated[str, Opt(help="Interface to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, Opt(help="Port for streamable HTTP")] = 8765,
    stdio: Annotated[bool, Opt("--stdio", help="Speak MCP on stdin/stdout instead of HTTP")] = False,
    allow_remote: Annotated[bool, Opt(help=ALLOW_REMOTE_HELP)] = False,
) -> None:
    """Serve an environment's tools over MCP at http://HOST:PORT/mcp (one isolated run per /s/<id>/mcp).

    Scenarios are MCP prompts; `hudproxy_submit(answer)` grades the one a session started.

    \b
    Example: hudproxy serve envs/shop/env.py --port 8765
    """
    from hudproxy.env.loader import load_env
    from hudproxy.env.serving import http_server, serve_stdio

    if not stdio:
        check_remote(host, allow_remote, target)
    env = load_env(target)
    if stdio:
        asyncio.run(serve_stdio(env))
        return
    err_console.print(f"hudproxy serve: {env.name!r} at http://{host}:{port}/mcp (Ctrl-C stops)", markup=False)
    http_server(env, host, port).run()


def dev(
    target: Annotated[Path, Arg(help="An environment folder (with env.py) or its .py file")],
    watch: Annotated[list[str] | None, Opt("-w", "--watch", help="Folder or file to watch, repeatable")] = None,
    host: Annotated[str, Opt(help="Interface to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, Opt(help="Port for streamable HTTP")] = 8765,
    image: Annotated[bool, Opt("--image", help="Run in the env's Docker image, the folder mounted at /env")] = False,
    tag: Annotated[str | None, Opt("--tag", help="Image for --image [default: hudproxy-env-<folder>:latest]")] = None,
    allow_remote: Annotated[bool, Opt(help=ALLOW_REMOTE_HELP)] = False,
) -> None:
    """Like serve, reloading the environment's Python on save; running services and connectors stay up.

    A file that fails to import keeps the last good version serving, and the error is printed. With --image it
    runs in the image `hudproxy build` made, on the host network, reloading edits made here.

    \b
    Example: hudproxy dev envs/shop -w scenarios -w tools --port 8765     (add --image to run it in Docker)
    """
    check_remote(host, allow_remote, target)
    if image or tag:
        from hudproxy.env.image_build import dev_in_image

        watched = watch or []
        raise typer.Exit(dev_in_image(target, tag, host=host, port=port, watch=watched, allow_remote=allow_remote))
    from hudproxy.env.serving import dev as run_dev

    asyncio.run(run_dev(target, watch or [], host, port))
