#!/usr/bin/env bash
# Build the base image hudproxy-base:bookworm (Debian 12, python3 = 3.11) locally with debootstrap, for machines
# that reach Debian's package mirror but no image registry. The Dockerfile takes it as BASE_IMAGE.
# Idempotent: an existing image is kept; the root file system tarball is cached, so a lost image is re-imported
# in seconds instead of bootstrapped again (about a minute).
#
# Environment: HUDPROXY_BASE_IMAGE (default hudproxy-base:bookworm); HUDPROXY_DOCKER_CACHE (default
# ~/.cache/hudproxy/docker); DEBIAN_MIRROR (default http://deb.debian.org/debian); --force rebuilds both.
set -euo pipefail

image="${HUDPROXY_BASE_IMAGE:-hudproxy-base:bookworm}"
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache="${HUDPROXY_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hudproxy/docker}"
tarball="$cache/rootfs-$suite.tar"
force=0
if [ "${1:-}" = "--force" ]; then force=1; fi

if [ "$force" -eq 0 ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "build-base: $image exists"
  exit 0
fi

mkdir -p "$cache"
if [ "$force" -eq 1 ] || [ ! -s "$tarball" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "build-base: debootstrap missing (run docker/ensure-engine.sh)" >&2
    exit 1
  fi
  root="$(mktemp -d "$cache/rootfs.XXXXXX")"
  partial="$(mktemp "$tarball.XXXXXX")"
  trap 'rm -rf "$root" "$partial"' EXIT
  echo "build-base: debootstrap $suite into $root (about a minute)"
  if ! debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$suite" "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
    echo "build-base: debootstrap failed; last lines of $cache/debootstrap.log:" >&2
    tail -n 20 "$cache/debootstrap.log" >&2
    exit 1
  fi
  # Package caches and lists are not needed at run time; the engine supplies resolv.conf, hosts and hostname.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log \
    "$root"/usr/share/man/*
  tar -C "$root" --numeric-owner -cf "$partial" .
  mv "$partial" "$tarball"   # atomic: a cached tarball is always complete
fi

echo "build-base: importing $tarball as $image"
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  "$tarball" "$image" >/dev/null
echo "build-base: $image ready"
