"""Run a stage on several nodes as a Kubeflow Trainer ``TrainJob`` (Kubernetes ``CustomObjectsApi``).

``launch`` creates the manifest of :func:`~training.launchers.trainjob.build_trainjob`;
a TrainJob of the same deterministic name that already exists (a restarted
caller) is reattached to instead of duplicated. ``wait`` polls the TrainJob's
``Complete``/``Failed`` conditions and then reads ``result.json`` from the object
store (rank 0 publishes it). Transient API errors go through
:func:`~training.launchers.kubernetes.k8s_call`; creating, deleting and polling
use the helpers of :mod:`training.launchers.kubernetes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from training.launchers.base import LaunchError, TrainJob, published_result
from training.launchers.config import LaunchersConfig, load_launchers_config
from training.launchers.kubernetes import (
    KubeObjectRun,
    create_or_reattach,
    delete_if_present,
    k8s_call,
    load_kube_config,
)
from training.launchers.pod_spec import stage_selector
from training.launchers.trainjob import GROUP, NODE, PLURAL, VERSION, build_trainjob
from vidforge.logging import get_logger

if TYPE_CHECKING:
    from training.config import StageConfig
    from training.result import StageResult
    from vidforge.settings import Settings

log = get_logger(__name__)

#: Terminal TrainJob conditions (``trainer.kubeflow.org`` ``TrainJobComplete`` / ``TrainJobFailed``).
COMPLETE, FAILED = "Complete", "Failed"


class CustomObjectsApi(Protocol):
    """The part of ``kubernetes.client.CustomObjectsApi`` the TrainJob launcher uses."""

    def create_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                        body: Any, **kwargs: Any) -> Any: ...
    def get_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                     name: str) -> Any: ...
    def delete_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                        name: str, **kwargs: Any) -> Any: ...
    def list_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                      **kwargs: Any) -> Any: ...


def custom_objects_api(config_file: str | None = None, in_cluster: bool | None = None) -> CustomObjectsApi:
    """A ``CustomObjectsApi`` configured by :func:`~training.launchers.kubernetes.load_kube_config`
    (in a pod, e.g. an Airflow worker: the service account)."""
    from kubernetes import client

    load_kube_config(config_file, in_cluster)
    return client.CustomObjectsApi()


def terminal_condition(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The TrainJob's ``Complete`` or ``Failed`` condition with status ``True``; None while it runs."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") in (COMPLETE, FAILED) and cond.get("status") == "True":
            return cond
    return None


class TrainJobRun(KubeObjectRun):
    """A submitted TrainJob (a :class:`~training.launchers.base.RunHandle`)."""

    api: CustomObjectsApi

    def get(self) -> dict[str, Any]:
        """The TrainJob object as the API server has it."""
        return k8s_call(self.api.get_namespaced_custom_object, GROUP, VERSION, self.namespace, PLURAL, self.name)

    def wait(self, timeout: float | None = None) -> StageResult:
        """Poll until the TrainJob is ``Complete`` or ``Failed``; return ``result.json`` from the store.

        Raises:
            LaunchError: the TrainJob failed, or completed without publishing a result.
            TimeoutError: not done within ``timeout`` s (the TrainJob is deleted).
        """
        cond = self.poll(lambda: terminal_condition(self.get()), lambda c: c is not None, timeout,
                         lambda _: f"TrainJob {self.namespace}/{self.name} exceeded {timeout}s; deleted")
        assert cond is not None
        if cond["type"] == FAILED:
            raise LaunchError(
                f"TrainJob {self.namespace}/{self.name} of stage {self.stage.name} failed: "
                f"{cond.get('reason', '')} {cond.get('message', '')}".rstrip()
                + f"; logs: kubectl logs -n {self.namespace} -l jobset.sigs.k8s.io/jobset-name={self.name} "
                f"-c {NODE}"
            )
        return published_result(self.settings, self.stage, self.job,
                                f"TrainJob {self.name} completed without publishing it")

    def delete(self) -> None:
        """Delete the TrainJob and its pods (no error when it is already gone)."""
        delete_if_present(self.api.delete_namespaced_custom_object, GROUP, VERSION, self.namespace, PLURAL,
                          self.name, propagation_policy="Foreground")


class TrainJobLauncher:
    """Runs stages as multi-node Kubeflow TrainJobs (a :class:`~training.launchers.base.Launcher`).

    Args:
        settings: platform settings of the caller (the store ``result.json`` is read from;
            the nodes read the ``vidforge-settings`` ConfigMap).
        config: pod shape (``kubernetes``) and TrainJob settings (``trainjob``); None = the
            ``default`` launcher profile.
        try_number: attempt number (1-based) in the TrainJob name; a caller's retry passes a new one.
        api: a ``CustomObjectsApi``-like client; None = one from the default kubeconfig.
    """

    def __init__(self, settings: Settings, config: LaunchersConfig | None = None, *, try_number: int = 1,
                 api: CustomObjectsApi | None = None) -> None:
        self.settings = settings
        self.config = config or load_launchers_config()
        self.try_number = try_number
        self._api = api

    @property
    def api(self) -> CustomObjectsApi:
        """The API client (created on first use)."""
        if self._api is None:
            self._api = custom_objects_api()
        return self._api

    def running(self, namespace: str, stage: StageConfig, job: TrainJob) -> str | None:
        """Name of a TrainJob of this run's stage that has not finished (from any try), None when none.

        A retry after a killed worker (Airflow 3 gives it a new try number, so a new name)
        must adopt that job rather than start a second one writing the same ``runs/<id>/<stage>/``.
        """
        listed = k8s_call(self.api.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL,
                          label_selector=stage_selector(job.run_id, stage.name))
        for obj in listed.get("items") or []:
            if terminal_condition(obj) is None:
                return str(obj["metadata"]["name"])
        return None

    def launch(self, stage: StageConfig, job: TrainJob) -> TrainJobRun:
        """Reattach to the stage's unfinished TrainJob of any try, else create this try's (or reattach to it)."""
        body = build_trainjob(self.config.kubernetes, self.config.trainjob, stage, job, self.try_number)
        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        if (live := self.running(namespace, stage, job)) is not None:
            log.info("trainjob of the stage still runs; reattaching", trainjob=live, namespace=namespace,
                     stage=stage.name)
            return TrainJobRun(self.api, live, namespace, self.settings, stage, job,
                               self.config.kubernetes.poll_interval_s)
        if create_or_reattach(self.api.create_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, body):
            log.info("trainjob created", trainjob=name, namespace=namespace, stage=stage.name, run_id=job.run_id,
                     nodes=self.config.trainjob.num_nodes)
        else:
            log.info("trainjob exists; reattaching", trainjob=name, namespace=namespace, stage=stage.name)
        return TrainJobRun(self.api, name, namespace, self.settings, stage, job,
                           self.config.kubernetes.poll_interval_s)
