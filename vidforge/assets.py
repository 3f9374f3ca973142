"""Airflow asset constants shared by the vidforge DAGs (only DAG files import this module)."""

from airflow.sdk import Asset

from vidforge.orchestration import DATASETS_URI, MODELS_URI, RUNS_URI

#: A dataset version was published; event extra: {"dataset", "version"}.
DATASETS = Asset(name="vidforge_datasets", uri=DATASETS_URI)
#: A three-stage training run finished; event extra: {"run_id", "dataset", "version"}.
RUNS = Asset(name="vidforge_runs", uri=RUNS_URI)
#: A model version was promoted; event extra: {"model", "version", "alias"}.
MODELS = Asset(name="vidforge_models", uri=MODELS_URI)
