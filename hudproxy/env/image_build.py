"""An environment folder as a Docker image (`hudproxy build`), and `hudproxy dev` inside that image.

The folder is the build context and its `Dockerfile.hud` the recipe (`envs/minimal/Dockerfile.hud` is one to
copy: FROM the hudproxy image, the folder at /env, `hudproxy serve /env --stdio`). Nothing is pulled: the base
image must be on the engine (`bash docker/build-image.sh` makes hudproxy:latest), so a machine without a registry
builds as well as one with.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from docker.client import DockerClient
from docker.errors import APIError, NotFound
from docker.utils.build import tar

from hudproxy.containers import ImageBuildFailed, connect, require_image
from hudproxy.containers.images import DEFAULT_IMAGE
from hudproxy.containers.run import MANAGED_LABEL, current_owner
from hudproxy.env.loader import locate
from hudproxy.errors import ConfigError
from hudproxy.netutil import ensure_port_free

DOCKERFILE = "Dockerfile.hud"
TAG_PREFIX = "hudproxy-env-"  # "shop:latest" could be anyone's image; the prefix says where it came from
ALWAYS_LEFT_OUT = ["**/__pycache__", "**/*.pyc", ".hudproxy", ".git", ".venv"]
ENV_MOUNT = "/env"
LOG_TAIL = 20
BASE_HINT = "make it with `bash docker/build-image.sh`, or pass --base-image"


def env_image_tag(folder: str | Path) -> str:
    """`envs/shop` → `hudproxy-env-shop:latest` (a Docker-valid name from the folder's name)."""
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in Path(folder).resolve().name.lower())
    return f"{TAG_PREFIX}{name.strip('._-') or 'env'}:latest"


def _left_out(folder: Path) -> list[str]:
    """Patterns kept out of the context: caches always, plus the folder's own .dockerignore."""
    ignore = folder / ".dockerignore"
    own = ignore.read_text().splitlines() if ignore.is_file() else []
    return [*ALWAYS_LEFT_OUT, *(line.strip() for line in own if line.strip() and not line.startswith("#"))]


def build_env_image(
    folder: str | Path, *, tag: str | None = None, base_image: str | None = None,
    on_line: Callable[[str], None] | None = None, client: DockerClient | None = None,
) -> str:  # fmt: skip
    """Build `folder/Dockerfile.hud` with the folder as context; returns the tag. Each build log line goes to
    `on_line` as it arrives; a failure raises ImageBuildFailed ending with the log's last lines."""
    folder = Path(folder)
    if not (folder / DOCKERFILE).is_file():
        raise ConfigError(f"{folder}: no {DOCKERFILE} here; an environment's image is built from its {DOCKERFILE} "
                          f"(envs/minimal/{DOCKERFILE} is one to copy).")  # fmt: skip
    tag = tag or env_image_tag(folder)
    base_image = base_image or DEFAULT_IMAGE
    client = client or connect()
    hint = BASE_HINT if base_image == DEFAULT_IMAGE else "build or load it first (nothing is pulled)"
    require_image(client, base_image, hint)  # the engine would otherwise try to pull it
    tail: deque[str] = deque(maxlen=LOG_TAIL)
    context = tar(str(folder), exclude=_left_out(folder), dockerfile=(DOCKERFILE, None))
    try:
        for chunk in client.api.build(
            fileobj=context, custom_context=True, dockerfile=DOCKERFILE, tag=tag, buildargs={"BASE_IMAGE": base_image},
            rm=True, forcerm=True, network_mode="host", decode=True,  # host: RUN steps reach the network sans bridge
        ):  # fmt: skip
            if "error" in chunk:
                raise ImageBuildFailed(tag, str(chunk["error"]).strip(), "\n".join(tail))
            for line in str(chunk.get("stream") or "").splitlines():
                if line.strip():
                    tail.append(line)
                    if on_line is not None:
                        on_line(line)
    except APIError as exc:
        raise ImageBuildFailed(tag, exc.explanation or str(exc), "\n".join(tail)) from None
    finally:
        context.close()
    return tag


def dev_command(
    target: str | Path, image: str, *, host: str = "127.0.0.1", port: int = 8765, watch: Sequence[str] = (),
    name: str | None = None, allow_remote: bool = False,
) -> list[str]:  # fmt: skip
    """`docker run` for `hudproxy dev` in `image` with the env's folder mounted read-only at /env (host network:
    the port is this machine's). The entrypoint is set, so the plain hudproxy image works as well as an env's."""
    folder, module = locate(target)
    inside = ENV_MOUNT if module == "env" else f"{ENV_MOUNT}/{module}.py"
    watched = [arg for path in watch for arg in ("-w", path)]
    return [
        "docker", "run", "--rm", "--init", "--pull", "never", "--network", "host",
        "--name", name or f"hudproxy-dev-{secrets.token_hex(4)}", "--label", f"{MANAGED_LABEL}={current_owner()}",
        "-v", f"{folder}:{ENV_MOUNT}:ro", "--entrypoint", "hudproxy",
        image, "dev", inside, "--host", host, "--port", str(port), *watched,
        *(["--allow-remote"] if allow_remote else []),  # checked (and warned about) outside already
    ]  # fmt: skip


def dev_in_image(
    target: str | Path, image: str | None = None, *, host: str = "127.0.0.1", port: int = 8765,
    watch: Sequence[str] = (), allow_remote: bool = False,
) -> int:  # fmt: skip
    """Run `hudproxy dev` inside the env's image (default: the one `hudproxy build` made) in the foreground until
    Ctrl-C; edits on the host reload inside. Returns docker's exit code; the container is removed either way."""
    folder, _module = locate(target)
    image = image or env_image_tag(folder)
    client = connect()
    require_image(client, image, f"build it with `hudproxy build {folder}`")
    if (folder.stat().st_mode & 0o005) != 0o005:
        raise ConfigError(f"{folder}: the image's user (uid 10001) cannot read this folder; `chmod o+rx` it.")
    ensure_port_free(host, port)
    name = f"hudproxy-dev-{secrets.token_hex(4)}"
    command = dev_command(folder, image, host=host, port=port, watch=watch, name=name, allow_remote=allow_remote)
    process = subprocess.Popen(command)
    try:
        return process.wait()
    except KeyboardInterrupt:  # a terminal's Ctrl-C reached docker too: it passes it on, and --rm removes
        for wait_s in (3, 10):
            with contextlib.suppress(subprocess.TimeoutExpired):
                return process.wait(timeout=wait_s)
            process.send_signal(signal.SIGINT)  # only this process was signalled (a second SIGINT forces an exit)
        return 130
    finally:
        if process.poll() is None:
            process.terminate()
        with contextlib.suppress(NotFound, APIError):
            client.containers.get(name).remove(force=True)
        client.close()
