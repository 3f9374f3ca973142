"""Run a stage as a Kubernetes pod with the ``kubernetes`` Python client.

``launch`` posts the manifest of :func:`~training.launchers.pod_spec.build_pod`;
a pod of the same deterministic name that already exists (a restarted caller)
is reattached to instead of duplicated. ``wait`` polls the pod phase and then
reads ``result.json`` from the object store. Transient API errors (429, 5xx,
connection failures) go through :func:`vidforge.retry.retry_transient`.

The pieces any launcher of a Kubernetes object shares — :func:`k8s_call`,
:func:`load_kube_config`, :func:`create_or_reattach`, :func:`delete_if_present`
and the :class:`KubeObjectRun` handle base — live here too (the Kubeflow
TrainJob launcher uses them).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from training.launchers.base import LaunchError, TrainJob, published_result
from training.launchers.config import KubernetesConfig, load_launchers_config
from training.launchers.pod_spec import CONTAINER, build_pod
from vidforge.logging import get_logger
from vidforge.retry import retry_transient

if TYPE_CHECKING:
    from training.config import StageConfig
    from training.result import StageResult
    from vidforge.settings import Settings

log = get_logger(__name__)
R = TypeVar("R")
S = TypeVar("S")

TAIL_LINES = 40


class PodApi(Protocol):
    """The part of ``kubernetes.client.CoreV1Api`` a launcher uses."""

    def create_namespaced_pod(self, namespace: str, body: Any) -> Any: ...
    def read_namespaced_pod(self, name: str, namespace: str) -> Any: ...
    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> str: ...
    def delete_namespaced_pod(self, name: str, namespace: str, **kwargs: Any) -> Any: ...


@retry_transient
def k8s_call(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Call the Kubernetes API, retrying what :func:`vidforge.retry.is_transient` calls transient.

    That is 429, 5xx and connection failures; the last error is re-raised.

    Raises:
        kubernetes.client.ApiException: a permanent API error (4xx other than 429), or a
            transient one that outlived the retries (the Airflow task retries).
    """
    return fn(*args, **kwargs)


def running_in_cluster() -> bool:
    """Whether this process runs in a Kubernetes pod (the API server's service env is set there)."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not os.environ.get("KUBECONFIG")


def load_kube_config(config_file: str | None = None, in_cluster: bool | None = None) -> None:
    """Configure the ``kubernetes`` client from the in-cluster service account or a kubeconfig file.

    Args:
        config_file: kubeconfig path (None = ``$KUBECONFIG`` or ``~/.kube/config``).
        in_cluster: True = the pod's service account; False = the kubeconfig; None = the service
            account when running in a pod (an Airflow worker) with no explicit kubeconfig, else the kubeconfig.
    """
    from kubernetes import config

    if in_cluster is None:
        in_cluster = config_file is None and running_in_cluster()
    if in_cluster:
        config.load_incluster_config()
    else:
        config.load_kube_config(config_file=config_file)


def core_api(config_file: str | None = None, in_cluster: bool | None = None) -> PodApi:
    """A ``CoreV1Api`` configured by :func:`load_kube_config` (in a pod: the service account)."""
    from kubernetes import client

    load_kube_config(config_file, in_cluster)
    return client.CoreV1Api()


def create_or_reattach(create: Callable[..., Any], *args: Any) -> bool:
    """Create an object with ``create(*args)`` through :func:`k8s_call`.

    Returns:
        True when it was created, False when one of the same name already exists (HTTP 409:
        a restarted caller reattaches to it instead of duplicating it).

    Raises:
        kubernetes.client.ApiException: any other API error (see :func:`k8s_call`).
    """
    from kubernetes.client.exceptions import ApiException

    try:
        k8s_call(create, *args)
    except ApiException as e:
        if e.status != 409:
            raise
        return False
    return True


def delete_if_present(delete: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Delete an object with ``delete(*args, **kwargs)`` through :func:`k8s_call`; one already gone (404) is fine.

    Raises:
        kubernetes.client.ApiException: any other API error (see :func:`k8s_call`).
    """
    from kubernetes.client.exceptions import ApiException

    try:
        k8s_call(delete, *args, **kwargs)
    except ApiException as e:
        if e.status != 404:
            raise


class KubeObjectRun:
    """What the handles of a launched Kubernetes object share: where it is, polling, deleting.

    Subclasses implement :meth:`delete` and ``wait`` (a
    :class:`~training.launchers.base.RunHandle`) with :meth:`poll`.

    Args:
        api: the API client the object was created with.
        name / namespace: the object.
        settings: platform settings of the caller (the store ``result.json`` is read from).
        stage / job: what runs.
        poll_interval_s: seconds between two reads of the object.
    """

    def __init__(self, api: Any, name: str, namespace: str, settings: Settings,
                 stage: StageConfig, job: TrainJob, poll_interval_s: float) -> None:
        self.api, self.name, self.namespace = api, name, namespace
        self.settings, self.stage, self.job = settings, stage, job
        self.poll_interval_s = poll_interval_s

    def delete(self) -> None:
        """Delete the object (no error when it is already gone)."""
        raise NotImplementedError

    def poll(self, read: Callable[[], S], done: Callable[[S], bool], timeout: float | None,
             timed_out: Callable[[S], str]) -> S:
        """Call ``read`` every ``poll_interval_s`` until ``done`` holds for what it returns; return that.

        Args:
            read: one read of the object's state (through :func:`k8s_call`).
            done: whether a state is final.
            timeout: seconds to wait at most; None = no limit.
            timed_out: the ``TimeoutError`` message for the last state read.

        Raises:
            TimeoutError: not done within ``timeout`` s (the object is deleted first).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done(state := read()):
            if deadline is not None and time.monotonic() >= deadline:
                self.delete()
                raise TimeoutError(timed_out(state))
            time.sleep(self.poll_interval_s)
        return state


class PodRun(KubeObjectRun):
    """A training pod (a :class:`~training.launchers.base.RunHandle`)."""

    api: PodApi

    def phase(self) -> str:
        """Pod phase: ``Pending``, ``Running``, ``Succeeded``, ``Failed`` or ``Unknown``."""
        pod = k8s_call(self.api.read_namespaced_pod, self.name, self.namespace)
        return str(pod.status.phase or "Unknown")

    def wait(self, timeout: float | None = None) -> StageResult:
        """Poll until the pod ends; return ``result.json`` from the store.

        Raises:
            LaunchError: the pod failed, or succeeded without publishing a result.
            TimeoutError: not done within ``timeout`` s (the pod is deleted).
        """
        phase = self.poll(self.phase, lambda p: p in ("Succeeded", "Failed"), timeout,
                          lambda p: f"pod {self.namespace}/{self.name} exceeded {timeout}s (phase {p}); deleted")
        if phase == "Failed":
            raise LaunchError(f"pod {self.namespace}/{self.name} of stage {self.stage.name} failed; "
                              f"last lines:\n{self.log_tail()}")
        return published_result(self.settings, self.stage, self.job,
                                lambda: f"pod {self.name} succeeded. Log tail:\n{self.log_tail()}")

    def log_tail(self) -> str:
        """Last lines of the training container's log ('' when unreadable)."""
        try:
            return k8s_call(self.api.read_namespaced_pod_log, self.name, self.namespace,
                            container=CONTAINER, tail_lines=TAIL_LINES)
        except Exception as e:  # the log is a diagnostic: never mask the real error
            return f"<log unavailable: {e}>"

    def delete(self) -> None:
        """Delete the pod (no error when it is already gone)."""
        delete_if_present(self.api.delete_namespaced_pod, self.name, self.namespace, grace_period_seconds=0)


class KubernetesLauncher:
    """Runs stages as pods (a :class:`~training.launchers.base.Launcher`).

    Args:
        settings: platform settings of the caller (the store ``result.json`` is read from;
            the pod itself reads the ``vidforge-settings`` ConfigMap).
        config: pod shape; None = the ``default`` launcher profile.
        try_number: attempt number (1-based) in the pod name; a caller's retry passes a new one.
        api: a ``CoreV1Api``-like client; None = one from the default kubeconfig.
    """

    def __init__(self, settings: Settings, config: KubernetesConfig | None = None, *, try_number: int = 1,
                 api: PodApi | None = None) -> None:
        self.settings = settings
        self.config = config or load_launchers_config().kubernetes
        self.try_number = try_number
        self._api = api

    @property
    def api(self) -> PodApi:
        """The API client (created on first use)."""
        if self._api is None:
            self._api = core_api()
        return self._api

    def launch(self, stage: StageConfig, job: TrainJob) -> PodRun:
        """Create the stage's pod (or reattach to the existing one of the same name)."""
        body = build_pod(self.config, stage, job, self.try_number)
        name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
        if create_or_reattach(self.api.create_namespaced_pod, namespace, body):
            log.info("pod created", pod=name, namespace=namespace, stage=stage.name, run_id=job.run_id)
        else:
            log.info("pod exists; reattaching", pod=name, namespace=namespace, stage=stage.name)
        return PodRun(self.api, name, namespace, self.settings, stage, job, self.config.poll_interval_s)
