# syntax=docker/dockerfile:1.7
# One image for every vidforge process (Airflow, training pods, registry, serving), two targets:
#   docker build --target cpu  -t vidforge:0.1.0-cpu  .   # Airflow, registry, compose, CI
#   docker build --target cuda -t vidforge:0.1.0-cuda .   # training pods and GPU serving
# Versions come from requirements/constraints.txt (+ uv-overrides.txt), as in the Makefile.
# Runs as the non-root user `vidforge` (uid 10001).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS runtime-base
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --create-home --home-dir /home/vidforge vidforge \
    && install -d -o vidforge -g vidforge /var/lib/vidforge /opt/airflow
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 \
    VIDFORGE_HOME=/var/lib/vidforge AIRFLOW_HOME=/opt/airflow AIRFLOW__CORE__DAGS_FOLDER=/opt/vidforge/dags

FROM runtime-base AS build-base
RUN apt-get update && apt-get install -y --no-install-recommends build-essential git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements/ requirements/
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir "$(grep '^uv==' requirements/constraints.txt)"
COPY pyproject.toml README.md ./
COPY vidforge vidforge
COPY curation curation
COPY training training
COPY evaluation evaluation
COPY services services

FROM build-base AS build-cpu
RUN uv pip install --no-cache -p /opt/venv/bin/python --index-strategy unsafe-best-match \
      --extra-index-url https://download.pytorch.org/whl/cpu \
      -c requirements/constraints.txt --overrides requirements/uv-overrides.txt .

FROM build-base AS build-cuda
ARG TORCH_CUDA_INDEX=https://download.pytorch.org/whl/cu128
RUN uv pip install --no-cache -p /opt/venv/bin/python --index-strategy unsafe-best-match \
      --extra-index-url "$TORCH_CUDA_INDEX" \
      -c requirements/constraints.txt --overrides requirements/uv-overrides.txt .

FROM runtime-base AS app
WORKDIR /opt/vidforge
COPY --chmod=0755 <<'SH' /usr/local/bin/vidforge-entrypoint
#!/bin/sh
# `airflow …`, `python …`, `bash …` run as given (the Airflow Helm chart's commands); anything else is `vidforge …`.
case "$1" in
  airflow|python|python3|bash|sh|exec|ray|torchrun) exec "$@" ;;
  *) exec vidforge "$@" ;;
esac
SH
COPY configs configs
COPY dags dags
ENTRYPOINT ["/usr/local/bin/vidforge-entrypoint"]
CMD ["--help"]

FROM app AS cpu
COPY --from=build-cpu /opt/venv /opt/venv
USER 10001

FROM app AS cuda
COPY --from=build-cuda /opt/venv /opt/venv
USER 10001
