"""TrainJobLauncher against an in-memory API server for custom objects (the network edge is the only fake)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_k8s import FakeApiServer, launcher_settings, result_publisher
from tests.support.trainjob_schema import validate_trainjob
from training.config import load_stage_config
from training.launchers import LaunchError, TrainJob
from training.launchers.config import load_launchers_config
from training.launchers.kubeflow import TrainJobLauncher, terminal_condition
from training.launchers.trainjob import GROUP, PLURAL, VERSION, trainjob_name
from vidforge.store import LocalStore

pytest.importorskip("jsonschema")
pytest.importorskip("kubernetes_validate")
ApiException = pytest.importorskip("kubernetes.client.exceptions").ApiException

PROFILE = load_launchers_config()
CONFIG = PROFILE.model_copy(update={"kubernetes": PROFILE.kubernetes.model_copy(update={"poll_interval_s": 0.01})})


def _condition(kind: str) -> list[dict[str, str]]:
    if kind == "Running":
        return []
    reason = {"Complete": "JobSetCompleted", "Failed": "DeadlineExceeded"}.get(kind, kind)
    return [{"type": kind, "status": "True", "reason": reason, "message": f"trainjob {kind.lower()}"}]


class FakeCustomObjectsApi(FakeApiServer):
    """TrainJobs in a dict; ``states`` is the sequence each read reports (``Running``/``Complete``/``Failed``)."""

    done_state = "Complete"

    def _check(self, group: str, version: str, plural: str) -> None:
        assert (group, version, plural) == ("trainer.kubeflow.org", "v1alpha1", "trainjobs")

    def create_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                        body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self._check(group, version, plural)
        self._create(namespace, body, validate_trainjob)  # what the CRD's schema and the core/v1 types admit
        return body

    def get_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                     name: str) -> dict[str, Any]:
        self._check(group, version, plural)
        obj, state = self._read(name)
        obj["status"] = {"conditions": _condition(state)}
        return copy.deepcopy(obj)

    def delete_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                        name: str, **kwargs: Any) -> None:
        self._check(group, version, plural)
        self._delete(name)

    def list_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                      label_selector: str = "", **kwargs: Any) -> dict[str, Any]:
        self._check(group, version, plural)
        items = self._list(label_selector)
        for obj in items:  # every stored job reports the state the next read would
            obj["status"] = {"conditions": _condition(self.states[0])}
        return {"items": items}


def _publisher(store: LocalStore) -> Any:
    """What rank 0 of the TrainJob's training.main does last: publish result.json (from the job's own args)."""
    return result_publisher(store, lambda obj: obj["spec"]["trainer"]["args"])


def _launch(api: FakeCustomObjectsApi, tmp_path: Path, store: LocalStore | None = None, run: str = "run-k",
            try_number: int = 1) -> Any:
    settings = launcher_settings(store or LocalStore(tmp_path / "store"), tmp_path)
    launcher = TrainJobLauncher(settings, CONFIG, try_number=try_number, api=api)
    return launcher.launch(load_stage_config("stage2_video"), TrainJob(run, "tiny", "v1"))


def test_launch_creates_a_valid_trainjob_and_wait_reads_the_result(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    api = FakeCustomObjectsApi(["Running", "Running", "Complete"], on_done=_publisher(store))
    handle = _launch(api, tmp_path, store, try_number=3)
    assert list(api.objects) == [trainjob_name("run-k", "stage2_video", 3)]
    result = handle.wait(timeout=10)
    assert (result.run_id, result.stage, result.dataset_version) == ("run-k", "stage2_video", "v1")


def test_existing_trainjob_is_reattached_not_duplicated(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    api = FakeCustomObjectsApi(["Running", "Complete"], on_done=_publisher(store))
    _launch(api, tmp_path, store)
    again = _launch(api, tmp_path, store)  # e.g. the Airflow worker restarted mid-stage
    assert api.creates == 1 and len(api.objects) == 1
    assert again.wait(timeout=10).run_id == "run-k"


def test_retry_with_a_new_try_number_adopts_the_running_trainjob(tmp_path: Path) -> None:
    # Airflow 3 increments the try on every restart: the retry must not start a second job
    store = LocalStore(tmp_path / "store")
    api = FakeCustomObjectsApi(["Running"])
    _launch(api, tmp_path, store, try_number=1)
    retry = _launch(api, tmp_path, store, try_number=2)
    assert api.creates == 1 and retry.name == trainjob_name("run-k", "stage2_video", 1)
    other = _launch(api, tmp_path, store, run="run-other", try_number=2)  # another run's job is not adopted
    assert api.creates == 2 and other.name == trainjob_name("run-other", "stage2_video", 2)


def test_retry_after_a_failed_trainjob_starts_a_fresh_one(tmp_path: Path) -> None:
    api = FakeCustomObjectsApi(["Failed"])
    _launch(api, tmp_path, try_number=1)
    retry = _launch(api, tmp_path, try_number=2)
    assert api.creates == 2 and retry.name == trainjob_name("run-k", "stage2_video", 2)


def test_failed_trainjob_raises_with_its_condition(tmp_path: Path) -> None:
    handle = _launch(FakeCustomObjectsApi(["Running", "Failed"]), tmp_path, run="run-f")
    with pytest.raises(LaunchError, match=r"failed: DeadlineExceeded trainjob failed(.|\n)*kubectl logs"):
        handle.wait(timeout=10)


def test_completion_without_result_is_a_launch_error(tmp_path: Path) -> None:
    handle = _launch(FakeCustomObjectsApi(["Complete"]), tmp_path, run="run-n")
    with pytest.raises(LaunchError, match="without publishing"):
        handle.wait(timeout=10)


def test_timeout_deletes_the_trainjob(tmp_path: Path) -> None:
    api = FakeCustomObjectsApi(["Running"])
    handle = _launch(api, tmp_path, run="run-t")
    with pytest.raises(TimeoutError, match="exceeded"):
        handle.wait(timeout=0.05)
    assert api.deletes == 1 and not api.objects


def test_throttling_is_retried_and_permanent_errors_are_not(tmp_path: Path) -> None:
    api = FakeCustomObjectsApi(["Running"], fail_creates=[429, 503])
    _launch(api, tmp_path)
    assert api.creates == 3 and len(api.objects) == 1
    forbidden = FakeCustomObjectsApi(["Running"], fail_creates=[403])
    with pytest.raises(ApiException) as err:
        _launch(forbidden, tmp_path)
    assert err.value.status == 403 and forbidden.creates == 1


def test_terminal_condition_needs_status_true() -> None:
    assert terminal_condition({}) is None
    assert terminal_condition({"status": {"conditions": [{"type": "Suspended", "status": "True"}]}}) is None
    assert terminal_condition({"status": {"conditions": [{"type": "Complete", "status": "False"}]}}) is None
    done = {"type": "Complete", "status": "True"}
    assert terminal_condition({"status": {"conditions": [{"type": "Created", "status": "True"}, done]}}) == done


def test_api_launcher_table_builds_it_lazily(tmp_path: Path) -> None:
    from training.api import LAUNCHERS, get_launcher

    launcher = get_launcher("trainjob", launcher_settings(LocalStore(tmp_path / "s"), tmp_path))
    assert isinstance(launcher, TrainJobLauncher) and launcher._api is None  # no kubeconfig read yet
    assert launcher.config == load_launchers_config() and "trainjob" in LAUNCHERS
    assert (GROUP, VERSION, PLURAL) == ("trainer.kubeflow.org", "v1alpha1", "trainjobs")


@pytest.mark.parametrize(("env", "expected"), [
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "incluster"),   # an Airflow worker pod
    ({}, "kubeconfig"),                                        # a laptop / CI
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBECONFIG": "/k"}, "kubeconfig"),  # explicit kubeconfig wins
])
def test_launcher_client_uses_in_cluster_config_inside_a_pod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str,
) -> None:
    from kubernetes import config

    loaded: list[str] = []
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(config, "load_incluster_config", lambda: loaded.append("incluster"))
    monkeypatch.setattr(config, "load_kube_config", lambda config_file=None: loaded.append("kubeconfig"))
    launcher = TrainJobLauncher(launcher_settings(LocalStore(tmp_path / "s"), tmp_path))
    assert launcher.api is not None and loaded == [expected]
