"""The hudproxy image: find it (never pulled implicitly) and build it from a checkout."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docker.client import DockerClient
from docker.errors import APIError, BuildError
from docker.errors import ImageNotFound as DockerImageNotFound
from docker.models.images import Image

from hudproxy.containers.errors import ImageBuildFailed, ImageNotFound

DEFAULT_IMAGE = "hudproxy:latest"
LOCAL_BASE_IMAGE = "hudproxy-base:bookworm"  # what docker/build-base.sh makes where no registry is reachable
DEFAULT_WHEELHOUSE = "docker/wheels"
LOG_TAIL = 20


def require_image(client: DockerClient, image: str, hint: str | None = None) -> Image:
    """The image, or ImageNotFound: starting a container would otherwise try to pull it, which hangs or fails
    on a machine that reaches no registry."""
    try:
        return client.images.get(image)
    except DockerImageNotFound:
        raise ImageNotFound(image, hint) from None


def source_root(start: Path | None = None) -> Path | None:
    """The checkout that holds the Dockerfile (the build context), or None for an installed package."""
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        if (folder / "Dockerfile").is_file() and (folder / "pyproject.toml").is_file():
            return folder
    return None


def build_image(
    client: DockerClient,
    context: Path | None = None,
    tag: str = DEFAULT_IMAGE,
    *,
    base_image: str | None = None,
    wheelhouse: str | None = None,
    network_mode: str | None = "host",
    build_args: dict[str, str] | None = None,
) -> Image:
    """Build the Dockerfile in `context` (default: this checkout) and tag it.

    `base_image` is the BASE_IMAGE build argument (a local one, such as LOCAL_BASE_IMAGE, must exist: it is
    checked first, because the engine would otherwise try to pull it). `wheelhouse` is a folder inside the
    context with the wheels to install offline (docker/build-image.sh fills docker/wheels). `network_mode="host"`
    lets the build's RUN steps reach the network on engines started without a bridge (docker/ensure-engine.sh).
    """
    root = context or source_root()
    if root is None or not (root / "Dockerfile").is_file():
        raise ImageBuildFailed(tag, f"no Dockerfile in {root or 'this installation'}; pass the checkout", "")
    args = dict(build_args or {})
    if base_image:
        require_image(client, base_image, "make it with `bash docker/build-base.sh`, or pass another base_image")
        args["BASE_IMAGE"] = base_image
    if wheelhouse:
        args["WHEELHOUSE"] = wheelhouse
    options: dict[str, Any] = {"path": str(root), "tag": tag, "buildargs": args, "rm": True, "forcerm": True}
    if network_mode:
        options["network_mode"] = network_mode
    try:
        image, _logs = client.images.build(**options)
    except BuildError as exc:
        raise ImageBuildFailed(tag, exc.msg, _tail(exc.build_log)) from None
    except APIError as exc:
        raise ImageBuildFailed(tag, exc.explanation or str(exc), "") from None
    return image


def _tail(build_log: Iterable[dict[str, Any]], lines: int = LOG_TAIL) -> str:
    """The last lines a person would have seen in `docker build`'s output."""
    text = "".join(str(chunk.get("stream") or chunk.get("error") or "") for chunk in build_log)
    return "\n".join(text.rstrip().splitlines()[-lines:])
