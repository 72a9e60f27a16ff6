"""The container failures a caller can act on, each one message that names what to do.

ContainerError          (a HudproxyError, so the CLI prints it as one line)
├── EngineUnavailable   no Docker engine answers
├── ImageNotFound       the image is not on the engine (nothing is pulled behind the caller's back)
├── ImageBuildFailed    `docker build` failed; the message ends with the build's last lines
├── ContainerExited     the container stopped before it was ready; the message ends with its last log lines
└── ContainerNotReady   still running but not ready (or reported unhealthy) when the wait ran out
"""

from __future__ import annotations

from hudproxy.errors import HudproxyError


def _indent(lines: str) -> str:
    return "\n".join(f"  | {line}" for line in lines.rstrip().splitlines()) or "  | (no output)"


class ContainerError(HudproxyError):
    """Base class of every Docker-side failure."""


class EngineUnavailable(ContainerError):
    """No Docker engine answered a ping."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        super().__init__(
            f"no Docker engine answers at {where} ({reason}); start one (`systemctl start docker`, or "
            f"`bash docker/ensure-engine.sh` on a machine without one) or set DOCKER_HOST."
        )


class ImageNotFound(ContainerError):
    """The image is not on the engine; we never pull implicitly, since many machines reach no registry."""

    def __init__(self, image: str, hint: str | None = None) -> None:
        self.image = image
        how = hint or "build it with `bash docker/build-image.sh` (no registry needed) or `docker build -t {image} .`"
        super().__init__(f"Docker image {image!r} is not on this engine; {how.format(image=image)}.")


class ImageBuildFailed(ContainerError):
    """`docker build` stopped at a step; the build log's tail says which and why."""

    def __init__(self, image: str, reason: str, log_tail: str) -> None:
        self.image = image
        self.log_tail = log_tail
        super().__init__(f"building {image!r} failed: {reason}\n{_indent(log_tail)}")


class ContainerExited(ContainerError):
    """The process in the container ended before it was ready: usually a bad argument or an unreadable file."""

    def __init__(self, name: str, image: str, exit_code: int | None, logs: str, hint: str | None = None) -> None:
        self.name = name
        self.image = image
        self.exit_code = exit_code
        self.logs = logs
        advice = f" ({hint})" if hint else ""
        super().__init__(
            f"container {name} ({image}) exited with code {exit_code} before it was ready{advice}; "
            f"its last log lines:\n{_indent(logs)}"
        )


class ContainerNotReady(ContainerError):
    """The container runs but never became ready within the wait, or its healthcheck said unhealthy."""

    def __init__(self, name: str, why: str, logs: str) -> None:
        self.name = name
        self.logs = logs
        super().__init__(f"container {name} is not ready: {why}; its last log lines:\n{_indent(logs)}")
