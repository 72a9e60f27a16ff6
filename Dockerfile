# The hudproxy image: `docker run IMAGE replay /cassettes/shop.yaml --host 0.0.0.0 --port 8080 --admin-token T`.
#
# With a registry and a package index:   docker build -t hudproxy .
# With neither (a local base image and a wheelhouse; see docker/build-image.sh):
#   docker build --network host --build-arg BASE_IMAGE=hudproxy-base:bookworm -t hudproxy .
# When WHEELHOUSE (a folder in the build context, default docker/wheels) holds wheels, every pip install below
# runs with --no-index on them; when it is empty, pip uses the index.
#
# The base must have python3 (3.11+) with venv: python:3.11-slim, or Debian bookworm's python3 + python3-venv.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG WHEELHOUSE=docker/wheels
ARG MITMPROXY_VERSION=11.0.2
ENV PATH=/opt/hudproxy/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
COPY ${WHEELHOUSE}/ /wheels/
COPY pyproject.toml /src/
# Dependencies first, in a layer of their own (installed through a stub package built from pyproject.toml), so
# editing hudproxy's code does not reinstall them. mitmproxy goes in without its dependencies: its h11<=0.14 pin
# conflicts with mcp's, and pyproject.toml lists the rest (see README).
RUN set -eu; \
    if ls /wheels/*.whl >/dev/null 2>&1; then \
        printf '[global]\nno-index = true\nfind-links = /wheels\n' >/etc/pip.conf; \
    fi; \
    python3 -m venv /opt/hudproxy; \
    mkdir -p /src/hudproxy; touch /src/README.md /src/hudproxy/__init__.py; \
    pip install --quiet /src; \
    pip install --quiet --no-deps "mitmproxy==${MITMPROXY_VERSION}"; \
    rm -rf /src/build /src/*.egg-info
COPY README.md /src/
COPY hudproxy/ /src/hudproxy/
RUN set -eu; \
    pip install --quiet --no-deps --force-reinstall /src; \
    python -c "import hudproxy.cli, hudproxy.containers.healthcheck, mitmproxy.version"; \
    hudproxy --help >/dev/null

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="hudproxy" \
      org.opencontainers.image.description="Record real HTTP traffic once, replay it as deterministic mocks."
# A fixed, non-root UID (numeric, so orchestrators can verify runAsNonRoot); /var/lib/hudproxy is the working
# directory, where the replay journal (.hudproxy/journal.db) is written; cassettes are mounted at /cassettes.
RUN useradd --uid 10001 --user-group --create-home --home-dir /home/hudproxy --shell /usr/sbin/nologin hudproxy \
    && mkdir -p /cassettes /var/lib/hudproxy \
    && chown hudproxy:hudproxy /var/lib/hudproxy
COPY --from=build /opt/hudproxy /opt/hudproxy
# The bundled examples, so `docker run IMAGE demo` and `docker run IMAGE replay /cassettes/shop.yaml` work as
# they do from a clone (a cassette folder mounted at /cassettes takes the example's place).
COPY envs/ /opt/hudproxy/envs/
COPY cassettes/ /cassettes/
ENV PATH=/opt/hudproxy/bin:$PATH \
    HUDPROXY_HUB=/opt/hudproxy/envs \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /var/lib/hudproxy
EXPOSE 8080
# Finds the serving hudproxy process's --host/--port/--admin-token (or HUDPROXY_ADMIN_TOKEN) by itself and asks
# GET /_hudproxy/health; stdlib only (urllib), so the image needs no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "hudproxy.containers.healthcheck"]
ENTRYPOINT ["hudproxy"]
CMD ["--help"]
