"""docker-compose.yml as Docker Compose itself loads it (the compose-spec loader of ``compose-go``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
ONE_SHOT = {"minio-init", "registry-migrate", "serving-migrate", "airflow-init"}


def _compose() -> str:
    found = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which("docker-compose")
    if not found:
        pytest.fail("docker-compose (the compose-go package) is a dev dependency: install .[dev]")
    return found


def load(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_compose(), "-f", str(ROOT / "docker-compose.yml"), *args, "config", "--format", "json"],
                          capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    out = load("--env-file", str(ROOT / ".env.example"))
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    return json.loads(out.stdout)


def test_secrets_must_be_set(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    out = load("--env-file", str(empty))
    # (the packaged loader prints the error but may still exit 0: its output is what counts)
    assert "required variable" in out.stderr and "in .env" in out.stderr and not out.stdout.strip()


def test_the_stack_has_every_service(project: dict[str, Any]) -> None:
    assert {"postgres", "minio", "registry", "serving", "prometheus", "grafana"} | AIRFLOW | ONE_SHOT \
        <= project["services"].keys()


def test_long_running_services_have_healthchecks_and_pinned_images(project: dict[str, Any]) -> None:
    for name, svc in project["services"].items():
        image = svc.get("image", "")
        assert ":" in image and not image.endswith(":latest"), (name, image)
        if name not in ONE_SHOT:
            assert svc.get("healthcheck", {}).get("test"), name


def test_dependencies_wait_for_health_or_completion(project: dict[str, Any]) -> None:
    services = project["services"]
    for name, svc in services.items():
        for dep, cond in svc.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert cond["condition"] == expected, (name, dep, cond)
    for name in AIRFLOW:
        assert services[name]["depends_on"].keys() >= {"postgres", "airflow-init"}
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["serving"]["depends_on"].keys() >= {"registry", "minio-init"}


def test_airflow_shares_one_jwt_secret_and_uses_psycopg3(project: dict[str, Any]) -> None:
    envs = [project["services"][n]["environment"] for n in AIRFLOW | {"airflow-init"}]
    assert len({e["AIRFLOW__API_AUTH__JWT_SECRET"] for e in envs}) == 1 and envs[0]["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert len({e["AIRFLOW__API__SECRET_KEY"] for e in envs}) == 1
    for env in envs:
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-api-server:8080/")
    import psycopg  # the driver the URL names is installed (psycopg2 is not a dependency)

    assert psycopg.__version__.startswith("3.")


def test_minio_init_has_its_own_credentials(project: dict[str, Any]) -> None:
    init = project["services"]["minio-init"]
    assert {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"} <= init["environment"].keys()
    script = " ".join(init["command"])
    assert '"$$MINIO_ROOT_USER"' in script and "mb --ignore-existing local/vidforge" in script


def test_prometheus_and_grafana_use_files_shipped_in_the_repo(project: dict[str, Any]) -> None:
    import yaml

    mounts = [v["source"] for n in ("prometheus", "grafana") for v in project["services"][n]["volumes"]
              if v["type"] == "bind"]
    assert mounts and all(Path(m).exists() for m in mounts)
    scrape = yaml.safe_load((ROOT / "monitoring" / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert "serving:8600" in targets
    dashboard = json.loads((ROOT / "monitoring" / "grafana" / "dashboards" / "vidforge-serving.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    assert "vidforge_serving_queue_depth" in exprs
