#!/usr/bin/env bash
# Build the hudproxy image where no image registry and no trusted package index reach the build: the base image
# is local (build-base.sh), and every Python package comes from a wheelhouse built here on the host.
#
#   bash docker/build-image.sh                 # hudproxy:latest on hudproxy-base:bookworm
#   bash docker/build-image.sh --wheels-only   # only fill docker/wheels (e.g. for a plain `docker build`)
#
# The dependency wheels are cached under $HUDPROXY_DOCKER_CACHE/wheelhouse-<hash of the dependency list>, so they
# are built once per dependency change; hudproxy itself is built from source in the image build, and Docker's
# layer cache makes a rebuild with no change a matter of seconds.
#
# Environment: HUDPROXY_IMAGE (default hudproxy:latest); HUDPROXY_BASE_IMAGE (default hudproxy-base:bookworm);
# HUDPROXY_DOCKER_CACHE (default ~/.cache/hudproxy/docker); PYTHON (default python3, a 3.11 like the base's).
set -euo pipefail
cd "$(dirname "$0")/.."

image="${HUDPROXY_IMAGE:-hudproxy:latest}"
base="${HUDPROXY_BASE_IMAGE:-hudproxy-base:bookworm}"
cache="${HUDPROXY_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hudproxy/docker}"
python="${PYTHON:-python3}"
mitmproxy="mitmproxy==11.0.2"   # installed without its dependencies: see README (h11 pin)
context_wheels=docker/wheels

# The requirement list: pyproject's dependencies and build requirements (the build stage installs hudproxy from
# source with no index, so setuptools and wheel must be in the wheelhouse too).
requirements="$("$python" - <<'PY'
import tomllib
with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)
print("\n".join([*project["project"]["dependencies"], *project["build-system"]["requires"]]))
PY
)"

host_python="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$base" = hudproxy-base:bookworm ] && [ "$host_python" != 3.11 ]; then
  echo "build-image: the wheels must match the base's Python 3.11; set PYTHON to a python3.11" >&2
  exit 1
fi

key="$(printf '%s\n%s\n%s\n' "$requirements" "$mitmproxy" "$host_python" | sha256sum | cut -c1-16)"
wheelhouse="$cache/wheelhouse-$key"
if [ ! -f "$wheelhouse/.complete" ]; then
  echo "build-image: building the wheelhouse $wheelhouse"
  mkdir -p "$cache"
  building="$(mktemp -d "$wheelhouse.XXXXXX")"
  trap 'rm -rf "$building"' EXIT
  printf '%s\n' "$requirements" >"$building/requirements.txt"
  "$python" -m pip wheel --quiet --disable-pip-version-check -w "$building" -r "$building/requirements.txt"
  "$python" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$building" "$mitmproxy"
  touch "$building/.complete"
  # Atomic: a concurrent run either finds the finished folder or finishes its own (and drops it here).
  [ -f "$wheelhouse/.complete" ] || rm -rf "$wheelhouse"   # a partial one from an interrupted older run
  mv -T "$building" "$wheelhouse" 2>/dev/null || true
fi

# Same files, same bytes each run: hard links (or copies across file systems) keep Docker's cache valid. Left
# alone when it already holds this wheelhouse, so a build running meanwhile (another test session) keeps its context.
wheel_names() { find "$1" -maxdepth 1 -name '*.whl' -printf '%f %s\n' | sort; }
if [ "$(wheel_names "$wheelhouse")" != "$(wheel_names "$context_wheels")" ]; then
  find "$context_wheels" -maxdepth 1 -name '*.whl' -delete
  cp -l "$wheelhouse"/*.whl "$context_wheels"/ 2>/dev/null || cp -p "$wheelhouse"/*.whl "$context_wheels"/
fi
echo "build-image: $(find "$context_wheels" -maxdepth 1 -name '*.whl' | wc -l) wheels in $context_wheels"
if [ "${1:-}" = "--wheels-only" ]; then
  exit 0
fi

docker image inspect "$base" >/dev/null 2>&1 \
  || { echo "build-image: base image $base missing (run docker/build-base.sh)" >&2; exit 1; }
echo "build-image: docker build -t $image (base $base)"
# The classic builder, as the Docker SDK (hudproxy.containers.build_image) uses: both share one layer cache.
DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}" docker build --network host \
  --build-arg BASE_IMAGE="$base" --build-arg WHEELHOUSE="$context_wheels" \
  -t "$image" .
# The image this build replaced (untagged now) holds a full copy of the venv: drop it, keep the layer cache.
docker image prune --force --filter "label=org.opencontainers.image.title=hudproxy" >/dev/null
echo "build-image: $image ready"
