"""Every DAG imports cleanly, has the expected tasks and imports nothing heavy at parse time."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {
    "vidforge_curate": {"plan", "shards", "curate_shard", "curate"},
    "vidforge_train": {"resolve", "publish"} | {f"{stage}.{step}" for stage in ("stage1_image", "stage2_video",
                                                "stage3_finetune") for step in ("route", "pod", "run", "result")},
    "vidforge_evalset": {"build"},
    "vidforge_evaluate_promote": {"resolve", "evaluate", "register", "gate_passed", "approval_route", "approval",
                                  "record_review", "await_registry_decision", "approval_skipped", "promote"},
}
HEAVY = {"torch", "diffusers", "transformers", "cv2", "av", "ray", "curation", "training", "evaluation", "services"}

_PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
bag = DagBag(dag_folder=sys.argv[1])
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
unserializable = {{}}
for dag_id, dag in bag.dags.items():  # what the dag-processor and `airflow dags test` do with each DAG
    try:
        DagSerialization.to_dict(dag)
    except Exception as exc:
        unserializable[dag_id] = str(exc)
print(json.dumps({{
    "errors": {{k: str(v) for k, v in bag.import_errors.items()}},
    "dags": {{d: sorted(t.task_id for t in dag.tasks) for d, dag in bag.dags.items()}},
    "schedules": {{d: str(getattr(dag, "timetable", "")) for d, dag in bag.dags.items()}},
    "heavy": heavy,
    "unserializable": unserializable,
}}))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("airflow")
    env = {
        **os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    }
    out = subprocess.run(
        [sys.executable, "-c", _PARSE.format(heavy=HEAVY), str(DAGS)],
        env=env, capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_no_import_errors(parsed: dict) -> None:
    assert parsed["errors"] == {}


def test_every_dag_serializes(parsed: dict) -> None:
    assert parsed["unserializable"] == {}


def test_expected_dags_and_tasks(parsed: dict) -> None:
    assert {d: set(t) for d, t in parsed["dags"].items()} == EXPECTED


def test_parsing_imports_nothing_heavy(parsed: dict) -> None:
    assert parsed["heavy"] == []


def test_downstream_dags_are_asset_scheduled(parsed: dict) -> None:
    assert "Asset" in parsed["schedules"]["vidforge_train"]
    assert "Asset" in parsed["schedules"]["vidforge_evaluate_promote"]


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_only_import_light_modules_at_top_level(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in tree.body:  # module level only; task bodies import lazily
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in HEAVY, f"{path.name} imports {name} at parse time"
