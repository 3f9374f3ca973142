"""The train DAG's stage pod operator against a fake Kubernetes API: reattach on retry, delete on kill."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.fake_k8s import FakeCoreV1
from training.launchers.pod_spec import pod_labels
from training.stage_tasks import stage_pod
from vidforge.settings import get_settings

JOB = {"run_id": "run-9", "dataset": "tiny", "version": "v1", "launcher": "kubernetes"}


@pytest.fixture
def api() -> FakeCoreV1:
    return FakeCoreV1()


def _attempt(dagbag: Any, api: FakeCoreV1, tmp_path: Path, try_number: int, stage: str = "stage1_image",
             dag_run: str = "manual__1") -> tuple[Any, Any, dict[str, Any]]:
    """One try of ``<stage>.pod`` as Airflow runs it: rendered fields, then get-or-create of its pod."""
    op = copy.deepcopy(dagbag.dags["vidforge_train"].get_task(f"{stage}.pod"))
    settings = get_settings(overrides={"home": str(tmp_path)})
    op.pod_template_dict = stage_pod(settings, JOB, stage)  # what route pushed to XCom
    op.labels = pod_labels(JOB["run_id"], stage)
    op.__dict__["client"] = api  # the operator's cached CoreV1Api
    ti = SimpleNamespace(dag_id="vidforge_train", task_id=op.task_id, map_index=-1, try_number=try_number)
    context = {"ti": ti, "run_id": dag_run, "dag": SimpleNamespace()}
    pod = op.get_or_create_pod(op.build_pod_request_obj(context, dry_run=True), context)
    op.pod = pod
    return op, pod, context


def test_a_retry_reattaches_to_the_running_pod_of_its_stage(dagbag: Any, api: FakeCoreV1, tmp_path: Path) -> None:
    _, first, _ = _attempt(dagbag, api, tmp_path, try_number=1)
    assert api.creates == 1 and first.metadata.labels["try_number"] == "1"
    assert "vidforge.io/try" not in first.metadata.labels
    _, again, _ = _attempt(dagbag, api, tmp_path, try_number=2)  # Airflow 3 bumped the try on restart
    assert api.creates == 1 and again.metadata.name == first.metadata.name
    _, other_stage, _ = _attempt(dagbag, api, tmp_path, try_number=2, stage="stage2_video")
    _, other_run, _ = _attempt(dagbag, api, tmp_path, try_number=1, dag_run="manual__2")
    assert api.creates == 3 and len({first.metadata.name, other_stage.metadata.name, other_run.metadata.name}) == 3


def test_a_retry_after_a_failed_pod_starts_a_fresh_one(dagbag: Any, api: FakeCoreV1, tmp_path: Path) -> None:
    op, first, _ = _attempt(dagbag, api, tmp_path, try_number=1)
    op.patch_already_checked(first)  # what the operator does when its pod failed (the pod is kept)
    _, second, _ = _attempt(dagbag, api, tmp_path, try_number=2)
    assert api.creates == 2 and second.metadata.name != first.metadata.name  # random suffix: no 409
    assert set(api.pods) == {first.metadata.name, second.metadata.name}


def test_killing_the_task_deletes_its_pod(dagbag: Any, api: FakeCoreV1, tmp_path: Path) -> None:
    op, pod, _ = _attempt(dagbag, api, tmp_path, try_number=1)
    op.on_kill()
    assert api.deletes == 1 and pod.metadata.name not in api.pods
