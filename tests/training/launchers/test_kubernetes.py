"""KubernetesLauncher against an in-memory API server (the network edge is the only fake)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.fake_k8s import FakeApiServer, launcher_settings, result_publisher
from training.config import load_stage_config
from training.launchers import LaunchError, TrainJob
from training.launchers.config import load_launchers_config
from training.launchers.kubernetes import KubernetesLauncher, k8s_call
from training.launchers.pod_spec import pod_name
from vidforge.store import LocalStore

kubernetes_validate = pytest.importorskip("kubernetes_validate")
ApiException = pytest.importorskip("kubernetes.client.exceptions").ApiException

CONFIG = load_launchers_config().kubernetes.model_copy(update={"poll_interval_s": 0.01})


class FakeCoreApi(FakeApiServer):
    """Pods in a dict; ``states`` is the sequence of phases each read reports (last one sticks)."""

    done_state = "Succeeded"

    def create_namespaced_pod(self, namespace: str, body: dict[str, Any]) -> None:
        self._create(namespace, body,
                     lambda pod: kubernetes_validate.validate(pod, kubernetes_validate.latest_version(), strict=True))

    def read_namespaced_pod(self, name: str, namespace: str) -> Any:
        _, phase = self._read(name)
        return SimpleNamespace(status=SimpleNamespace(phase=phase))

    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> str:
        assert kwargs["container"] == "train"
        return "Traceback ...\nRuntimeError: CUDA out of memory"

    def delete_namespaced_pod(self, name: str, namespace: str, **kwargs: Any) -> None:
        self._delete(name)


def _publisher(store: LocalStore) -> Any:
    """What the pod's training.main does last: publish result.json (from the pod's own args)."""
    return result_publisher(store, lambda pod: pod["spec"]["containers"][0]["args"])


def test_launch_creates_a_valid_pod_and_wait_reads_the_result(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    api = FakeCoreApi(["Pending", "Running", "Succeeded"], on_done=_publisher(store))
    launcher = KubernetesLauncher(launcher_settings(store, tmp_path), CONFIG, try_number=3, api=api)
    handle = launcher.launch(load_stage_config("stage1_image"), TrainJob("run-k", "tiny", "v1"))
    assert list(api.objects) == [pod_name("run-k", "stage1_image", 3)]
    result = handle.wait(timeout=10)
    assert (result.run_id, result.stage, result.dataset_version) == ("run-k", "stage1_image", "v1")


def test_existing_pod_is_reattached_not_duplicated(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    api = FakeCoreApi(["Running", "Succeeded"], on_done=_publisher(store))
    launcher = KubernetesLauncher(launcher_settings(store, tmp_path), CONFIG, api=api)
    stage, job = load_stage_config("stage1_image"), TrainJob("run-k", "tiny", "v1")
    launcher.launch(stage, job)
    again = launcher.launch(stage, job)  # e.g. the Airflow worker restarted mid-stage
    assert api.creates == 2 and len(api.objects) == 1
    assert again.wait(timeout=10).run_id == "run-k"


def test_failed_pod_raises_with_log_tail(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    launcher = KubernetesLauncher(launcher_settings(store, tmp_path), CONFIG, api=FakeCoreApi(["Running", "Failed"]))
    handle = launcher.launch(load_stage_config("stage1_image"), TrainJob("run-f", "tiny", "v1"))
    with pytest.raises(LaunchError, match=r"failed(.|\n)*CUDA out of memory"):
        handle.wait(timeout=10)


def test_success_without_result_is_a_launch_error(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    launcher = KubernetesLauncher(launcher_settings(store, tmp_path), CONFIG, api=FakeCoreApi(["Succeeded"]))
    handle = launcher.launch(load_stage_config("stage1_image"), TrainJob("run-n", "tiny", "v1"))
    with pytest.raises(LaunchError, match="no result"):
        handle.wait(timeout=10)


def test_timeout_deletes_the_pod(tmp_path: Path) -> None:
    api = FakeCoreApi(["Pending"])
    launcher = KubernetesLauncher(launcher_settings(LocalStore(tmp_path / "s"), tmp_path), CONFIG, api=api)
    handle = launcher.launch(load_stage_config("stage1_image"), TrainJob("run-t", "tiny", "v1"))
    with pytest.raises(TimeoutError, match="exceeded"):
        handle.wait(timeout=0.05)
    assert api.deletes == 1 and not api.objects


def test_throttling_is_retried_and_permanent_errors_are_not(tmp_path: Path) -> None:
    settings = launcher_settings(LocalStore(tmp_path / "s"), tmp_path)
    api = FakeCoreApi(["Pending"], fail_creates=[429, 503])
    KubernetesLauncher(settings, CONFIG, api=api).launch(load_stage_config("stage1_image"),
                                                         TrainJob("r", "d", "v"))
    assert api.creates == 3 and len(api.objects) == 1
    forbidden = FakeCoreApi(["Pending"], fail_creates=[403])
    with pytest.raises(ApiException) as err:
        KubernetesLauncher(settings, CONFIG, api=forbidden).launch(load_stage_config("stage1_image"),
                                                                   TrainJob("r", "d", "v"))
    assert err.value.status == 403 and forbidden.creates == 1


def test_k8s_call_gives_up_on_persistent_5xx() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise ApiException(status=500, reason="boom")

    with pytest.raises(ApiException) as err:
        k8s_call(broken)
    assert err.value.status == 500 and len(calls) == 4  # the original error, after 4 tries


def test_api_launcher_table_builds_it_lazily(tmp_path: Path) -> None:
    from training.api import LAUNCHERS, get_launcher

    launcher = get_launcher("kubernetes", launcher_settings(LocalStore(tmp_path / "s"), tmp_path))
    assert isinstance(launcher, KubernetesLauncher) and launcher._api is None  # no kubeconfig read yet
    assert launcher.config == load_launchers_config().kubernetes and "kubernetes" in LAUNCHERS
