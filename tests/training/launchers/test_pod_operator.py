"""The training KubernetesPodOperator, built against a dummy kubeconfig (no API calls)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from training.config import load_stage_config
from training.launchers import LaunchError, TrainJob
from training.launchers.config import load_launchers_config
from training.launchers.pod_operator import PodOperatorLauncher, PodOperatorRun, build_pod_operator
from training.launchers.pod_spec import build_pod, pod_name
from training.result import StageResult, write_result
from vidforge.settings import get_settings
from vidforge.store import LocalStore

pytest.importorskip("airflow.providers.cncf.kubernetes")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: nobody, user: {token: not-a-token}}]
contexts: [{name: dummy, context: {cluster: nowhere, user: nobody}}]
current-context: dummy
"""
CONFIG = load_launchers_config().kubernetes
JOB = TrainJob("run-op", "tiny", "v1", init_uri="s3://vidforge/runs/run-op/stage1_image/final")


@pytest.fixture
def kubeconfig(tmp_path: Path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    return str(path)


def test_operator_fields_come_from_the_pod_spec(kubeconfig: str) -> None:
    stage = load_stage_config("stage2_video", {"steps": 4})
    op = build_pod_operator("stage2_video", CONFIG, stage, JOB, try_number=2, config_file=kubeconfig)
    pod = build_pod(CONFIG, stage, JOB, try_number=2)
    container = pod["spec"]["containers"][0]
    assert op.image == CONFIG.image and op.namespace == CONFIG.namespace
    assert op.name == pod_name("run-op", "stage2_video", 2) and op.random_name_suffix is False
    assert op.cmds == ["python", "-m", "training.main"] and op.arguments == container["args"]
    assert op.container_resources.limits["nvidia.com/gpu"] == str(CONFIG.gpus)  # a quantity
    assert op.container_resources.requests == {"cpu": CONFIG.cpu, "memory": CONFIG.memory}
    assert {v.name: v for v in op.volumes}["dshm"].empty_dir.medium == "Memory"
    assert [(t.key, t.operator, t.effect) for t in op.tolerations] == [("nvidia.com/gpu", "Exists", "NoSchedule")]
    assert op.node_selector == CONFIG.node_selector
    assert op.priority_class_name == CONFIG.priority_class
    assert op.active_deadline_seconds == CONFIG.active_deadline_s
    assert op.env_from[0].secret_ref.name == CONFIG.s3_secret
    assert op.do_xcom_push is False and op.reattach_on_restart is True
    assert op.config_file == kubeconfig


def test_operator_pod_request_is_a_valid_pod(kubeconfig: str) -> None:
    from kubernetes.client import ApiClient

    op = build_pod_operator("stage1_image", CONFIG, load_stage_config("stage1_image"), JOB,
                            config_file=kubeconfig)
    pod = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))
    kubernetes_validate.validate(pod, kubernetes_validate.latest_version(), strict=True)
    assert [c["name"] for c in pod["spec"]["containers"]] == ["train"]  # no XCom sidecar
    assert pod["metadata"]["name"] == pod_name("run-op", "stage1_image", 1)


def test_launcher_names_the_pod_after_the_task_try(tmp_path: Path) -> None:
    context = {"ti": SimpleNamespace(task_id="stage1_image", try_number=3)}
    launcher = PodOperatorLauncher(get_settings(overrides={"home": str(tmp_path)}), context,
                                   config_file=str(tmp_path / "unused"))
    handle = launcher.launch(load_stage_config("stage1_image"), JOB)
    assert handle.operator.name == pod_name("run-op", "stage1_image", 3)
    assert handle.operator.task_id == "stage1_image-pod"


class _Operator:
    """Stands in for the operator's pod lifecycle (the cluster edge)."""

    name = "vf-pod"

    def __init__(self, publish: Any = None) -> None:
        self.publish, self.contexts = publish, []

    def execute(self, context: Any) -> None:
        self.contexts.append(context)
        if self.publish:
            self.publish()


def test_run_reads_the_result_manifest_after_the_pod(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    settings = get_settings(overrides={"home": str(tmp_path), "store": {"uri": store.root_uri}})
    stage = load_stage_config("stage1_image")
    result = StageResult(stage="stage1_image", run_id="run-op", steps=1, first_loss=1.0, last_loss=0.5,
                         checkpoint_uri="file:///f", sha256="0" * 64, metrics_uri="file:///m",
                         dataset_name="tiny", dataset_version="v1", init_uri=JOB.init_uri, elapsed_s=1.0)
    op = _Operator(lambda: write_result(store, result))
    assert PodOperatorRun(op, {"ti": None}, settings, stage, JOB).wait() == result  # type: ignore[arg-type]
    with pytest.raises(LaunchError, match="without a result"):
        PodOperatorRun(_Operator(), {}, settings, stage,  # type: ignore[arg-type]
                       TrainJob("other", "tiny", "v1")).wait()
