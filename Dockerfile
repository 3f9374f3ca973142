# One image for every vidforge process (Airflow workers, training pods, registry, serving).
# CPU torch by default; for GPU nodes build with --build-arg TORCH_INDEX=<a CUDA wheel index>.
FROM python:3.11-slim
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg libgl1 libglib2.0-0 git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/vidforge
COPY pyproject.toml README.md ./
COPY vidforge vidforge
COPY curation curation
COPY training training
COPY evaluation evaluation
COPY services services
COPY configs configs
COPY dags dags
RUN pip install --no-cache-dir "torch==2.13.0" --index-url "$TORCH_INDEX" \
    && pip install --no-cache-dir -e .
ENV VIDFORGE_HOME=/var/lib/vidforge AIRFLOW__CORE__DAGS_FOLDER=/opt/vidforge/dags
ENTRYPOINT ["vidforge"]
