"""The kustomize base and overlays render with ``kubectl kustomize`` and are valid Kubernetes objects."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from vidforge.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
TARGETS = ("base", "overlays/dev", "overlays/prod")
#: Kinds of CRDs the overlays use; their schemas are not Kubernetes' own.
CUSTOM = {"RayCluster"}


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl is needed to render the manifests (.ci/run installs it)")
    return found


def render(target: str) -> list[dict[str, Any]]:
    """What ``kubectl kustomize k8s/<target>`` prints, as objects."""
    out = subprocess.run([_kubectl(), "kustomize", str(K8S / target)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module", params=TARGETS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


def _by_kind(objs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def test_every_object_is_valid_for_kubernetes(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    import kubernetes_validate

    _, objs = rendered
    version = kubernetes_validate.latest_version()
    for obj in objs:
        if obj["kind"] in CUSTOM:
            continue
        kubernetes_validate.validate(obj, version, strict=True)
        if obj["kind"] != "Namespace" and obj["kind"] != "PriorityClass":
            assert obj["metadata"].get("namespace") == "vidforge", obj["metadata"]["name"]


def test_applying_it_starts_no_training_pod(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objs = rendered
    assert not [o for o in objs if o["kind"] == "Pod"]
    template = _by_kind(objs)[("PodTemplate", "vidforge-train")]["template"]["spec"]
    assert template["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] >= 1


def test_services_have_probes_resources_and_the_serving_gpu(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objs = rendered
    kinds = _by_kind(objs)
    for name in ("vidforge-registry", "vidforge-serving"):
        (container,) = kinds[("Deployment", name)]["spec"]["template"]["spec"]["containers"]
        assert {"startupProbe", "readinessProbe", "livenessProbe", "resources"} <= container.keys(), name
        assert ("Service", name) in kinds
    (serving,) = kinds[("Deployment", "vidforge-serving")]["spec"]["template"]["spec"]["containers"]
    assert serving["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_airflow_may_create_and_watch_pods_and_trainjobs(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    _, objs = rendered
    kinds = _by_kind(objs)
    rules = {(g, r): set(rule["verbs"]) for rule in kinds[("Role", "vidforge-training-launcher")]["rules"]
             for g in rule["apiGroups"] for r in rule["resources"]}
    assert {"create", "get", "list", "watch", "delete", "patch"} <= rules[("", "pods")]
    assert "get" in rules[("", "pods/log")]
    assert {"create", "get", "watch", "delete"} <= rules[("trainer.kubeflow.org", "trainjobs")]
    subjects = {s["name"] for s in kinds[("RoleBinding", "vidforge-training-launcher")]["subjects"]}
    assert subjects == {"airflow-worker", "airflow-triggerer"}
    assert {("ServiceAccount", "airflow-worker"), ("ServiceAccount", "airflow-triggerer")} <= kinds.keys()


def test_settings_configmap_is_valid_settings_that_train_on_kubernetes(
    rendered: tuple[str, list[dict[str, Any]]], tmp_path: Path,
) -> None:
    _, objs = rendered
    data = _by_kind(objs)[("ConfigMap", "vidforge-settings")]["data"]["settings.yaml"]
    (tmp_path / "settings.yaml").write_text(data)
    settings = get_settings(tmp_path / "settings.yaml")
    assert settings.store.uri.startswith("s3://") and settings.registry.db_url.startswith("postgresql+psycopg")
    assert settings.training.launcher == "kubernetes" and ":" in settings.training.image


def test_dev_runs_postgres_and_minio_in_cluster_and_prod_does_not() -> None:
    dev, prod = _by_kind(render("overlays/dev")), _by_kind(render("overlays/prod"))
    for name in ("postgres", "minio"):
        assert ("StatefulSet", name) in dev and ("Service", name) in dev
        assert ("StatefulSet", name) not in prod
    assert ("Job", "minio-bucket") in dev and ("RayCluster", "vidforge-ray") in dev
    images = {c["image"] for o in (*dev.values(), *prod.values()) if o["kind"] in ("Deployment", "StatefulSet")
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert all(":" in i and not i.endswith(":latest") for i in images), images  # pinned
    assert not [o for o in prod.values() if o["kind"] == "Secret"]  # prod Secrets come from outside the repo


def test_helm_values_run_airflow_3_with_a_triggerer_and_dags_from_the_image() -> None:
    values = yaml.safe_load((K8S / "helm" / "airflow-values.yaml").read_text())
    assert values["executor"] in ("KubernetesExecutor", "CeleryExecutor")
    assert values["triggerer"]["enabled"] and values["dagProcessor"]["enabled"]
    assert values["airflowVersion"].startswith("3.")
    assert not values["dags"]["gitSync"]["enabled"] and not values["dags"]["persistence"]["enabled"]
    env = {e["name"]: e["value"] for e in values["env"]}
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/vidforge/dags"
    assert '"in_cluster": true' in env["AIRFLOW_CONN_KUBERNETES_DEFAULT"]
    assert values["workers"]["serviceAccount"]["name"] == "airflow-worker"
    assert values["triggerer"]["serviceAccount"]["name"] == "airflow-triggerer"
