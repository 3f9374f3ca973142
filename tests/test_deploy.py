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


MONITORING = ROOT / "monitoring"


def _exported_series() -> set[str]:
    """Every series name the generation service can export (with the suffixes Prometheus adds)."""
    from services.serving.metrics import ServingMetrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",), "info": ("_info",)}
    return {m.name + s for m in ServingMetrics().registry.collect() for s in suffixes[m.type]}


def _series_in(expr: str) -> set[str]:
    import re

    return set(re.findall(r"\bvidforge_serving_[a-z0-9_]+", expr))


def test_grafana_dashboard_queries_only_exported_series() -> None:
    import json

    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "vidforge-serving.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = set().union(*(_series_in(e) for e in exprs))
    assert used and used <= _exported_series(), used - _exported_series()
    for needed in ("vidforge_serving_generation_duration_seconds_bucket", "vidforge_serving_queue_wait_seconds_bucket",
                   "vidforge_serving_queue_depth", "vidforge_serving_running_jobs", "vidforge_serving_jobs_total",
                   "vidforge_serving_model_info", "vidforge_serving_model_load_failures_total",
                   "vidforge_serving_http_requests_total"):
        assert needed in used, needed
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] == "vidforge-serving"
    provisioning = MONITORING / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert all(p["datasource"]["uid"] == uid for p in dashboard["panels"])


def test_alert_rules_cover_readiness_errors_and_saturation() -> None:
    rules = yaml.safe_load((MONITORING / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    by_name = {r["alert"]: r for r in rules}
    assert {"VidforgeServingNoReadyReplica", "VidforgeServingJobErrorRate", "VidforgeServingQueueSaturated"} <= set(
        by_name)
    for rule in rules:
        assert _series_in(rule["expr"]) <= _exported_series(), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning") and rule["annotations"]["summary"]
        assert rule["expr"].count("(") == rule["expr"].count(")")
    assert "absent(vidforge_serving_ready)" in by_name["VidforgeServingNoReadyReplica"]["expr"]


def test_compose_provisions_prometheus_and_grafana() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    prom = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    assert prom["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert "./monitoring/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    target = prom["scrape_configs"][0]["static_configs"][0]["targets"][0]
    assert target.split(":")[0] == "serving" and f"{target.split(':')[1]}:" in services["serving"]["ports"][0]
    mounts = services["grafana"]["volumes"]
    assert "./monitoring/grafana/dashboards:/var/lib/grafana/dashboards:ro" in mounts
    provider = yaml.safe_load((MONITORING / "grafana" / "provisioning" / "dashboards" / "vidforge.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert services["serving-migrate"]["command"] == ["serving", "upgrade"]


def test_serving_deployment_is_a_valid_multi_replica_pod_spec() -> None:
    import kubernetes_validate

    deployment, service = _docs(K8S / "serving.yaml")
    version = kubernetes_validate.latest_version()
    kubernetes_validate.validate(deployment, version, strict=True)
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["VIDFORGE_SERVING__REPLICA_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "VIDFORGE_REGISTRY__TOKEN" in env and deployment["spec"]["replicas"] >= 2
    assert spec["initContainers"][0]["args"] == ["serving", "upgrade"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert service["spec"]["ports"][0]["port"] == 8600
    settings = get_settings(ROOT / "k8s" / "base" / "settings.yaml")
    assert settings.registry.url.startswith("http://vidforge-registry") and not settings.serving.db_auto_upgrade
