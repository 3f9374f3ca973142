"""docker-compose.yml, the k8s/ manifests and the settings they mount are consistent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vidforge.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s" / "base"
TRAINJOB = ROOT / "k8s" / "trainjob" / "trainjob-example.yaml"


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("path", ["configs/settings/compose.yaml", "k8s/base/settings.yaml",
                                  "k8s/overlays/prod/settings.yaml"])
def test_deployment_settings_are_valid_settings(path: str) -> None:
    s = get_settings(ROOT / path)
    assert s.store.uri.startswith("s3://")
    assert s.registry.db_url.startswith("postgresql")


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "k8s").rglob("*.yaml") if "settings" not in p.name
                                    and "helm" not in p.parts), ids=lambda p: str(p.relative_to(ROOT / "k8s")))
def test_manifests_have_identity(path: Path) -> None:
    for doc in _docs(path):
        assert doc.get("apiVersion") and doc.get("kind"), path.name
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"]


def test_trainjob_example_is_multi_node_gpu_and_uses_the_base_settings() -> None:
    (tj,) = _docs(TRAINJOB)
    assert tj["apiVersion"] == "trainer.kubeflow.org/v1alpha1" and tj["kind"] == "TrainJob"
    trainer = tj["spec"]["trainer"]
    assert trainer["numNodes"] > 1 and trainer["resourcesPerNode"]["limits"]["nvidia.com/gpu"] >= 1
    (patch,) = tj["spec"]["runtimePatches"]
    (node,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = node["template"]["spec"]["template"]["spec"]
    assert any(v.get("emptyDir", {}).get("medium") == "Memory" for v in pod["volumes"])
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    # the ConfigMap the base kustomization generates, and the Secret the base pods read
    (gen,) = yaml.safe_load((K8S / "kustomization.yaml").read_text())["configMapGenerator"]
    assert {"name": "settings", "configMap": {"name": gen["name"]}} in pod["volumes"]
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in trainer["env"] if "valueFrom" in e} == {"vidforge-s3"}
    assert tj["metadata"]["namespace"] == yaml.safe_load((K8S / "kustomization.yaml").read_text())["namespace"]


RAYCLUSTER = ROOT / "k8s" / "ray" / "raycluster.yaml"


def test_raycluster_matches_the_documented_address_and_shares_scratch() -> None:
    import kubernetes_validate

    pvc, cluster = _docs(RAYCLUSTER)
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["kind"] == "RayCluster"
    # KubeRay names the head service <name>-head-svc; docs/RAY.md gives the client address on port 10001
    address = f"ray://{cluster['metadata']['name']}-head-svc.{cluster['metadata']['namespace']}.svc:10001"
    assert address in (ROOT / "docs" / "RAY.md").read_text()
    head = cluster["spec"]["headGroupSpec"]["template"]
    assert {"name": "client", "containerPort": 10001} in head["spec"]["containers"][0]["ports"]
    namespace = yaml.safe_load((K8S / "kustomization.yaml").read_text())["namespace"]
    assert cluster["metadata"]["namespace"] == pvc["metadata"]["namespace"] == namespace
    templates = [head] + [g["template"] for g in cluster["spec"]["workerGroupSpecs"]]
    version = kubernetes_validate.latest_version()
    kubernetes_validate.validate(pvc, version, strict=True)
    for template in templates:  # every Ray pod: a valid core/v1 pod, same scratch claim at the same path
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": template["spec"]}
        kubernetes_validate.validate(pod, version, strict=True)
        spec = template["spec"]
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]
                  if "persistentVolumeClaim" in v}
        mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
        assert claims == {"scratch": pvc["metadata"]["name"]} and mounts["scratch"] == "/scratch"
        assert {"secretRef": {"name": "vidforge-s3"}} in spec["containers"][0]["envFrom"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_dockerfile_builds_cpu_and_cuda_as_non_root_from_the_shared_constraints() -> None:
    import re

    text = (ROOT / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", text, flags=re.MULTILINE))
    assert {"cpu", "cuda"} <= stages
    for target in ("cpu", "cuda"):
        body = text.split(f"AS {target}\n", 1)[1].split("\nFROM ", 1)[0]
        assert "USER 10001" in body, target
    assert text.count("-c requirements/constraints.txt --overrides requirements/uv-overrides.txt") == 2
    assert "-c $(CONSTRAINTS) --overrides requirements/uv-overrides.txt" in (ROOT / "Makefile").read_text()
    pins = dict(line.split("==", 1) for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"torch=={pins["torch"]}"' in pyproject and f'"apache-airflow=={pins["apache-airflow"]}"' in pyproject
    from importlib.metadata import version

    assert version("apache-airflow") == pins["apache-airflow"]
