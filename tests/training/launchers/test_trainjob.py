"""TrainJob manifests: validated against a schema of the CRD fields and the core/v1 OpenAPI schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.trainjob_schema import TrainJobInvalidError, node_pod, validate_trainjob
from training.config import load_stage_config
from training.launchers.base import TrainJob
from training.launchers.config import KubernetesConfig, TrainJobConfig, load_launchers_config
from training.launchers.pod_spec import build_pod, pod_labels
from training.launchers.trainjob import MAX_TRAINJOB_NAME, build_trainjob, trainjob_name

jsonschema = pytest.importorskip("jsonschema")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

EXAMPLE = Path(__file__).resolve().parents[3] / "k8s" / "trainjob" / "trainjob-example.yaml"
RFC_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
JOB = TrainJob("run-1", "tiny", "v1", init_uri="s3://vidforge/runs/run-1/stage1_image/final")
PROFILE = load_launchers_config()


def _default(stage: str = "stage2_video", **overrides: object) -> dict:
    return build_trainjob(PROFILE.kubernetes, PROFILE.trainjob, load_stage_config(stage, dict(overrides)), JOB, 2)


@pytest.mark.parametrize("run_id", ["manual__2026-11-27T07:30:22.123456+00:00", "x" * 300, "---", "9-starts-digit"])
def test_name_is_a_short_rfc1035_label(run_id: str) -> None:
    name = trainjob_name(run_id, "stage3_finetune", 12)
    assert len(name) <= MAX_TRAINJOB_NAME and RFC_1035.match(name), name
    assert name == trainjob_name(run_id, "stage3_finetune", 12) != trainjob_name(run_id, "stage3_finetune", 13)


def test_default_trainjob_is_valid_and_multi_node_gpu_shaped() -> None:
    k8s, tj = PROFILE.kubernetes, PROFILE.trainjob
    manifest = _default(steps=3)
    validate_trainjob(manifest)
    spec, trainer = manifest["spec"], manifest["spec"]["trainer"]
    assert manifest["metadata"]["name"] == trainjob_name("run-1", "stage2_video", 2)
    assert spec["runtimeRef"] == {"name": "torch-distributed", "apiGroup": "trainer.kubeflow.org",
                                  "kind": "ClusterTrainingRuntime"}
    assert trainer["numNodes"] == tj.num_nodes >= 2 and trainer["numProcPerNode"] == k8s.gpus
    assert trainer["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == k8s.gpus
    assert trainer["command"] == ["python", "-m", "torch.distributed.run", "-m", "training.main"]
    assert trainer["args"][-2:] == ["--set", "steps=3"] and "--init" in trainer["args"]
    assert {"name": "AWS_SECRET_ACCESS_KEY",
            "valueFrom": {"secretKeyRef": {"name": k8s.s3_secret, "key": "AWS_SECRET_ACCESS_KEY"}}} in trainer["env"]
    assert spec["activeDeadlineSeconds"] == k8s.active_deadline_s
    pod = node_pod(manifest)["spec"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["nodeSelector"] == k8s.node_selector
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": k8s.shm_size}} in pod["volumes"]
    assert {"name": "settings", "configMap": {"name": k8s.settings_configmap}} in pod["volumes"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]
    assert node_pod(manifest)["metadata"]["labels"] == pod_labels("run-1", "stage2_video")


def test_same_pod_pieces_as_the_pod_launcher() -> None:
    stage = load_stage_config("stage2_video", {"lr": 3e-5})
    pod = build_pod(PROFILE.kubernetes, stage, JOB, 2)["spec"]
    node = node_pod(build_trainjob(PROFILE.kubernetes, PROFILE.trainjob, stage, JOB, 2))["spec"]
    (pc,), (nc,) = pod["containers"], node["containers"]
    for key in ("args", "resources", "volumeMounts"):
        assert nc[key] == pc[key], key
    assert [e for e in nc["env"] if "value" in e] == pc["env"]
    for key in ("volumes", "tolerations", "nodeSelector"):
        assert node[key] == pod[key], key


def test_cpu_trainjob_on_a_namespaced_runtime() -> None:
    k8s = KubernetesConfig(image="registry.local/vidforge:1.2", gpus=0, memory_limit=None, s3_secret=None,
                           service_account="trainer", tolerations=(), node_selector={})
    tj = TrainJobConfig(runtime_name="vidforge-torch", runtime_kind="TrainingRuntime", num_nodes=3)
    job = TrainJob("r", "d", "v", settings_file="/caller/settings.yaml", env={"NCCL_DEBUG": "INFO"})
    manifest = build_trainjob(k8s, tj, load_stage_config("stage1_image"), job)
    validate_trainjob(manifest)
    trainer, pod = manifest["spec"]["trainer"], node_pod(manifest)["spec"]
    assert trainer["numProcPerNode"] == 1 and "limits" not in trainer["resourcesPerNode"]
    assert not [e for e in trainer["env"] if "valueFrom" in e] and "--config" not in trainer["args"]
    assert {"name": "NCCL_DEBUG", "value": "INFO"} in trainer["env"]
    assert pod["serviceAccountName"] == "trainer" and "tolerations" not in pod
    assert manifest["spec"]["runtimeRef"]["kind"] == "TrainingRuntime"


def test_torchrun_variables_in_the_job_env_are_refused() -> None:
    job = TrainJob("r", "d", "v", env={"PET_NNODES": "4"})
    with pytest.raises(ValueError, match="PET_NNODES"):
        build_trainjob(PROFILE.kubernetes, PROFILE.trainjob, load_stage_config("stage1_image"), job)


def test_validator_rejects_broken_trainjobs() -> None:
    bad_count = _default()
    bad_count["spec"]["trainer"]["numNodes"] = 0
    old_api = _default()
    old_api["spec"]["podTemplateOverrides"] = old_api["spec"].pop("runtimePatches")  # Trainer < v2.2
    for manifest in (bad_count, old_api):  # caught by the TrainJob schema (not the core/v1 one)
        with pytest.raises(jsonschema.ValidationError) as err:
            validate_trainjob(manifest)
        assert type(err.value) is jsonschema.ValidationError
    bad_quantity = _default()
    bad_quantity["spec"]["trainer"]["resourcesPerNode"]["requests"]["memory"] = {"gi": 64}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_trainjob(bad_quantity)
    dangling = _default()
    dangling["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0][
        "template"]["spec"]["template"]["spec"]["volumes"].pop()
    with pytest.raises(TrainJobInvalidError, match="settings"):
        validate_trainjob(dangling)


def test_checked_in_example_is_the_builders_trainjob() -> None:
    (example,) = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d]
    validate_trainjob(example)
    built = build_trainjob(PROFILE.kubernetes, PROFILE.trainjob, load_stage_config("stage2_video"),
                           TrainJob("RUN_ID", "DATASET", "VERSION"))
    assert example["spec"] == built["spec"]
    assert example["metadata"]["labels"].items() <= built["metadata"]["labels"].items()
