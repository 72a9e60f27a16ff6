#!/usr/bin/env bash
# Make a Docker engine answer on this machine, so the image can be built and tested where none runs by default.
# Idempotent: an engine that already answers (local, or DOCKER_HOST) is left alone; otherwise install docker.io
# (and debootstrap, which build-base.sh needs) if missing, start dockerd in the background, wait until it answers.
#
# The daemon runs without iptables and without a bridge network (this machine allows neither), so containers
# use `--network host`. Storage driver: overlay2 when the kernel can mount overlayfs on /var/lib/docker's file
# system (measured here: image build 77 s, container create 0.04 s), else vfs, which works everywhere but copies
# every layer in full (build 5.7 min, container create 12 s); HUDPROXY_DOCKER_STORAGE_DRIVER forces one.
#
# Environment: HUDPROXY_DOCKER_CACHE (default ~/.cache/hudproxy/docker) holds dockerd.log;
# HUDPROXY_DOCKER_WAIT seconds to wait for the daemon (default 60).
set -euo pipefail

cache="${HUDPROXY_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hudproxy/docker}"
log="$cache/dockerd.log"
wait_s="${HUDPROXY_DOCKER_WAIT:-60}"
data_root=/var/lib/docker

engine_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if engine_answers; then
  echo "ensure-engine: a Docker engine is already running"
  exit 0
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-engine: need ${missing[*]} installed (apt-get install docker.io debootstrap, as root)" >&2
    exit 1
  fi
  echo "ensure-engine: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2046  # one word per package, deduplicated
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
fi

overlay_works() {
  # The check dockerd itself would make, done first so a failure means vfs rather than no engine.
  local dir
  mkdir -p "$data_root"
  dir="$(mktemp -d "$data_root/.overlay-probe.XXXXXX")"
  mkdir -p "$dir/lower" "$dir/upper" "$dir/work" "$dir/merged"
  if mount -t overlay overlay -o "lowerdir=$dir/lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged" \
    2>/dev/null; then
    umount "$dir/merged"
    rm -rf "$dir"
    return 0
  fi
  rm -rf "$dir"
  return 1
}

start_dockerd() {
  echo "ensure-engine: starting dockerd (storage driver $1; log: $log)"
  # setsid: the daemon outlives this script and whoever ran it (a test session), so the next run finds it.
  setsid nohup dockerd --storage-driver="$1" --iptables=false --bridge=none >>"$log" 2>&1 </dev/null &
}

wait_engine() {
  for _ in $(seq "$wait_s"); do
    engine_answers && return 0
    sleep 1
    pgrep -x dockerd >/dev/null 2>&1 || return 1   # it died: no point in waiting
  done
  return 1
}

if ! pgrep -x dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-engine: no Docker engine runs and starting dockerd needs root" >&2
    exit 1
  fi
  mkdir -p "$cache"
  driver="${HUDPROXY_DOCKER_STORAGE_DRIVER:-}"
  if [ -z "$driver" ]; then
    if overlay_works; then driver=overlay2; else driver=vfs; fi
  fi
  start_dockerd "$driver"
  if ! wait_engine && [ "$driver" = overlay2 ] && [ -z "${HUDPROXY_DOCKER_STORAGE_DRIVER:-}" ] \
    && ! pgrep -x dockerd >/dev/null 2>&1; then
    echo "ensure-engine: dockerd would not run on overlay2; falling back to vfs"
    start_dockerd vfs
  fi
fi

if wait_engine; then
  echo "ensure-engine: Docker engine ready ($(docker info --format '{{.Driver}}' 2>/dev/null) storage)"
  exit 0
fi
echo "ensure-engine: dockerd did not answer within ${wait_s}s; last lines of $log:" >&2
tail -n 20 "$log" >&2 2>/dev/null || true
exit 1
