"""hudproxy in Docker: check the engine, build the image, run containers that are always cleaned up.

    from hudproxy.containers import connect, replay_container

    client = connect()                                  # EngineUnavailable if no engine answers
    with replay_container(client, Path("cassettes/shop.yaml")) as replay:
        httpx.get(replay.base_url + "/orders/A1")       # ImageNotFound, ContainerExited (with its last log lines)
    # the container is stopped and removed here, also when the block raised

Each failure a caller can act on is one ContainerError subclass whose message says what to do. The names load on
first use (as in `hudproxy`), so the image's healthcheck, `hudproxy.containers.healthcheck`, never imports the
Docker SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hudproxy.lazy import lazy_exports

if TYPE_CHECKING:
    from hudproxy.containers.engine import connect
    from hudproxy.containers.errors import (
        ContainerError,
        ContainerExited,
        ContainerNotReady,
        EngineUnavailable,
        ImageBuildFailed,
        ImageNotFound,
    )
    from hudproxy.containers.images import DEFAULT_IMAGE, LOCAL_BASE_IMAGE, build_image, require_image, source_root
    from hudproxy.containers.run import (
        MANAGED_LABEL,
        ReplayContainer,
        RunningContainer,
        remove_managed,
        remove_orphans,
        replay_container,
        run_container,
    )

_EXPORTS = {
    "connect": "hudproxy.containers.engine",
    "ContainerError": "hudproxy.containers.errors",
    "ContainerExited": "hudproxy.containers.errors",
    "ContainerNotReady": "hudproxy.containers.errors",
    "EngineUnavailable": "hudproxy.containers.errors",
    "ImageBuildFailed": "hudproxy.containers.errors",
    "ImageNotFound": "hudproxy.containers.errors",
    "DEFAULT_IMAGE": "hudproxy.containers.images",
    "LOCAL_BASE_IMAGE": "hudproxy.containers.images",
    "build_image": "hudproxy.containers.images",
    "require_image": "hudproxy.containers.images",
    "source_root": "hudproxy.containers.images",
    "MANAGED_LABEL": "hudproxy.containers.run",
    "ReplayContainer": "hudproxy.containers.run",
    "RunningContainer": "hudproxy.containers.run",
    "remove_managed": "hudproxy.containers.run",
    "remove_orphans": "hudproxy.containers.run",
    "replay_container": "hudproxy.containers.run",
    "run_container": "hudproxy.containers.run",
}

__all__ = [
    "DEFAULT_IMAGE",
    "LOCAL_BASE_IMAGE",
    "MANAGED_LABEL",
    "ContainerError",
    "ContainerExited",
    "ContainerNotReady",
    "EngineUnavailable",
    "ImageBuildFailed",
    "ImageNotFound",
    "ReplayContainer",
    "RunningContainer",
    "build_image",
    "connect",
    "remove_managed",
    "remove_orphans",
    "replay_container",
    "require_image",
    "run_container",
    "source_root",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
