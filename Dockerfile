# syntax=docker/dockerfile:1
# The image of one Relais service, built from the workspace (see README.md, "Container images"):
#   docker build --build-arg SERVICE=router -t relais-router:0.1.0 .
# SERVICE is context-store, bot, router or agent-gateway. The image runs as uid 10001 and keeps nothing on
# its filesystem, so it runs with a read-only root filesystem (mount a tmpfs on /tmp).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "--build-arg SERVICE=context-store|bot|router|agent-gateway" >&2; exit 1; }
RUN python -m pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# The dependencies first, from the manifests and the lock alone: this layer is cached until one changes.
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/
COPY libs/platform/pyproject.toml libs/platform/
COPY services/context-store/pyproject.toml services/context-store/
COPY services/bot/pyproject.toml services/bot/
COPY services/router/pyproject.toml services/router/
COPY services/agent-gateway/pyproject.toml services/agent-gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "relais-$SERVICE"
# Then the code. Not editable: the service and the two libraries become wheels in the venv, which is all
# the final stage takes.
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "relais-$SERVICE"
# A SERVICE that names no service fails the build rather than the pod.
RUN module="relais_$(echo "$SERVICE" | tr - _)" \
    && /app/.venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$module.__main__') is None)" \
    && ln -s "relais-$SERVICE" /app/.venv/bin/relais-service

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="relais-${SERVICE}" \
      org.opencontainers.image.description="Relais ${SERVICE} service"
# No compiler, no uv, no pip: the venv arrives built, and nothing is installed at run time.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
    && groupadd --system --gid 10001 relais \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin relais
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RELAIS_ENV=prod \
    RELAIS_HTTP_HOST=0.0.0.0
WORKDIR /app
USER 10001:10001
# The service's entry point (`relais-<service>`, the same as `python -m relais_<service>`).
CMD ["relais-service"]
