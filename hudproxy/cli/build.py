"""`hudproxy build`: an environment folder's Dockerfile.hud as an image, for `env.connect_image` and `dev --image`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hudproxy.cli.common import console, err_console

Arg = typer.Argument
Opt = typer.Option


def build(
    folder: Annotated[Path, Arg(help="An environment folder with a Dockerfile.hud (the build context)")],
    tag: Annotated[str | None, Opt("--tag", "-t", help="Image name [default: hudproxy-env-<folder>:latest]")] = None,
    base_image: Annotated[
        str | None, Opt("--base-image", help="BASE_IMAGE build argument, on the engine [default: hudproxy:latest]")
    ] = None,
) -> None:
    """Build an environment's Dockerfile.hud into an image, streaming the build log; prints the tag at the end.

    The folder is the context (without __pycache__ and what its .dockerignore lists); nothing is pulled, so the
    base image must exist (`bash docker/build-image.sh` makes hudproxy:latest).

    \b
    Example: hudproxy build envs/shop        # hudproxy-env-shop:latest, for env.connect_image("hudproxy-env-shop")
    """
    from hudproxy.env.image_build import build_env_image

    def show(line: str) -> None:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)

    image = build_env_image(folder, tag=tag, base_image=base_image, on_line=show)
    console.print(image, markup=False, highlight=False)  # stdout holds the tag alone: IMAGE=$(hudproxy build ...)
