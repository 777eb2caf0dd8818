# One image for every Zelly process; its command chooses which (deploy/entrypoint.sh):
#   origin | edge | worker <queue> | scheduler <queue> | consumer | caddy | migrate | any other `zelly` sub-command
# docs/operations.md ("Service catalog") lists each process, its variables, ports and health endpoints.
# Checked by hadolint in tests/deploy/test_dockerfile.py; Docker itself is not needed to run the tests.

ARG PYTHON_IMAGE=python:3.13-slim-bookworm

# -- build: the virtualenv with Zelly and its dependencies (wheels only; no compiler in the final image)
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python -m venv /opt/zelly
# Dependencies first, in their own layer: a code change does not reinstall chDB and friends.
COPY pyproject.toml ./
RUN mkdir origin storefront edge tls workers ops \
    && /opt/zelly/bin/pip install --no-cache-dir . \
    && /opt/zelly/bin/pip uninstall --yes zelly
COPY origin ./origin
COPY storefront ./storefront
COPY edge ./edge
COPY tls ./tls
COPY workers ./workers
COPY ops ./ops
COPY Caddyfile ./
# Installed in place (editable) because ops/migrations is a directory of Alembic scripts, not a
# package a wheel would carry: `zelly migrate` finds it beside ops/migrate.py, in /app.
RUN /opt/zelly/bin/pip install --no-cache-dir --no-deps --editable . \
    && /opt/zelly/bin/python -m compileall -q /app

# -- runtime: the virtualenv and the source, run as an unprivileged user
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="zelly" \
      org.opencontainers.image.description="Zelly: origin, edge, workers, scheduler, store-events consumer, Caddy"
ENV PATH=/opt/zelly/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ZELLY_DATA_DIR=/var/lib/zelly \
    CADDY_STORAGE=/var/lib/zelly/caddy
RUN groupadd --system --gid 10001 zelly \
    && useradd --system --uid 10001 --gid zelly --home-dir /var/lib/zelly --shell /usr/sbin/nologin zelly \
    && mkdir -p /var/lib/zelly/caddy \
    && chown -R zelly:zelly /var/lib/zelly
COPY --from=build /opt/zelly /opt/zelly
COPY --from=build /app /app
COPY deploy/entrypoint.sh /usr/local/bin/zelly-entrypoint
WORKDIR /app
USER 10001:10001
# Public origin, internal origin, edge, edge internal, Caddy HTTP and HTTPS (docs/configuration.md).
EXPOSE 8000 8001 8002 8003 8080 8443
VOLUME ["/var/lib/zelly"]
ENTRYPOINT ["/usr/local/bin/zelly-entrypoint"]
CMD ["origin"]
