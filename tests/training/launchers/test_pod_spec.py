"""Pod names and manifests, validated against the Kubernetes OpenAPI schema (no cluster)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from training.config import load_stage_config
from training.launchers.base import TrainJob
from training.launchers.config import KubernetesConfig, load_launchers_config
from training.launchers.pod_spec import build_pod, pod_name, slug

kubernetes_validate = pytest.importorskip("kubernetes_validate")

TEMPLATE = Path(__file__).resolve().parents[3] / "k8s" / "base" / "training-pod-template.yaml"
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
JOB = TrainJob("run-1", "tiny", "v1", init_uri="s3://vidforge/runs/run-1/stage1_image/final")


def _validate(manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("run_id", [
    "run-1", "manual__2026-11-27T07:30:22.123456+00:00", "Run_With.CAPS and spaces", "x" * 300, "---", "é",
])
@pytest.mark.parametrize("stage", ["stage1_image", "stage3_finetune"])
def test_pod_name_is_a_short_dns_label(run_id: str, stage: str) -> None:
    name = pod_name(run_id, stage, 7)
    assert len(name) <= 63 and DNS_1123_LABEL.match(name), name
    assert name == pod_name(run_id, stage, 7)  # deterministic: a restart finds the same pod


def test_pod_name_differs_per_try_run_and_stage() -> None:
    names = {pod_name("r", "stage1_image", 1), pod_name("r", "stage1_image", 2),
             pod_name("r", "stage2_video", 1), pod_name("R", "stage1_image", 1)}
    assert len(names) == 4
    # runs that slugify alike or only differ past the truncation point still get distinct names
    assert pod_name("Run_1", "s", 1) != pod_name("run-1", "s", 1)
    assert pod_name("a" * 100 + "1", "s", 1) != pod_name("a" * 100 + "2", "s", 1)
    assert pod_name("r", "stage1_image", 2).startswith("vf-stage1-image-r-t2-")


def test_pod_name_without_try_is_one_name_per_run_and_stage() -> None:
    assert pod_name("r", "stage1_image", None) == pod_name("r", "stage1_image", None)
    assert pod_name("r", "stage1_image", None) != pod_name("r", "stage2_video", None)
    assert "-t" not in pod_name("r", "stage1_image", None).removeprefix("vf-stage1-image-r")


def test_pod_name_rejects_try_zero() -> None:
    with pytest.raises(ValueError, match="try_number"):
        pod_name("r", "s", 0)


def test_slug() -> None:
    assert slug("--Manual__2026-11-27T07:30+00:00--") == "manual-2026-11-27t07-30-00-00"
    assert slug("abc-def", max_len=4) == "abc"


def test_default_pod_is_valid_and_gpu_shaped() -> None:
    cfg = load_launchers_config().kubernetes
    pod = build_pod(cfg, load_stage_config("stage2_video", {"steps": 3}), JOB, try_number=2)
    _validate(pod)
    spec, (container,) = pod["spec"], pod["spec"]["containers"]
    assert pod["metadata"]["name"] == pod_name("run-1", "stage2_video", 2)
    # no try number in the labels: Airflow 3 bumps it on every restart, and a retry selects by labels
    assert pod["metadata"]["labels"] == build_pod(cfg, load_stage_config("stage2_video"), JOB, 1)["metadata"]["labels"]
    assert not any("try" in key for key in pod["metadata"]["labels"])
    assert container["resources"]["limits"]["nvidia.com/gpu"] == cfg.gpus >= 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["nodeSelector"] == cfg.node_selector and spec["priorityClassName"] == cfg.priority_class
    assert spec["activeDeadlineSeconds"] == cfg.active_deadline_s and spec["restartPolicy"] == "Never"
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": cfg.shm_size}} in spec["volumes"]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    assert container["envFrom"] == [{"secretRef": {"name": cfg.s3_secret}}]
    assert {"name": "VIDFORGE_CONFIG", "value": cfg.settings_path} in container["env"]
    assert container["command"] == ["python", "-m", "training.main"]
    assert container["args"][-2:] == ["--set", "steps=3"] and "--init" in container["args"]


def test_cpu_pod_without_extras_is_valid() -> None:
    cfg = KubernetesConfig(image="registry.local/vidforge:1.2", gpus=0, memory_limit=None, s3_secret=None,
                           priority_class=None, service_account="trainer", tolerations=())
    job = TrainJob("r", "d", "v", settings_file="/caller/settings.yaml", env={"VIDFORGE_LOG_LEVEL": "DEBUG"})
    pod = build_pod(cfg, load_stage_config("stage1_image"), job)
    _validate(pod)
    spec, (container,) = pod["spec"], pod["spec"]["containers"]
    assert "limits" not in container["resources"] and "envFrom" not in container
    assert "tolerations" not in spec and "priorityClassName" not in spec
    assert spec["serviceAccountName"] == "trainer"
    assert "--config" not in container["args"]  # the caller's file does not exist in the pod
    assert {"name": "VIDFORGE_LOG_LEVEL", "value": "DEBUG"} in container["env"]


def test_validator_rejects_a_broken_pod() -> None:
    pod = build_pod(load_launchers_config().kubernetes, load_stage_config("stage1_image"), JOB)
    pod["spec"]["activeDeadlineSeconds"] = "one day"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(pod)


def test_checked_in_template_is_the_builders_pod() -> None:
    (doc,) = [d for d in yaml.safe_load_all(TEMPLATE.read_text()) if d]
    assert doc["kind"] == "PodTemplate"  # applying the manifests starts no pod
    template = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", **doc["template"]["metadata"]},
                "spec": doc["template"]["spec"]}
    _validate(template)
    built = build_pod(load_launchers_config().kubernetes, load_stage_config("stage2_video"),
                      TrainJob("RUN_ID", "DATASET", "VERSION"))
    assert template["spec"] == built["spec"]
    assert template["metadata"]["labels"].items() <= built["metadata"]["labels"].items()
