"""An in-memory Kubernetes API server for the launcher tests (the network edge is the only fake).

:class:`FakeApiServer` keeps the objects and the create/read/delete semantics the
launchers rely on (409 on a second create, 404 on an unknown name, injected
create failures); the test modules subclass it with the client methods of the
API group they fake. :func:`result_publisher` plays what ``training.main``
does last inside the pod: publish ``result.json`` from the job's own args.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from training.result import StageResult, write_result
from vidforge.settings import Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from vidforge.store import LocalStore


def matches(labels: dict[str, str], selector: str) -> bool:
    """Whether ``labels`` satisfy a Kubernetes equality-based label selector (``a=b,c!=d,!e``)."""
    for term in filter(None, selector.split(",")):
        if term.startswith("!"):
            if term[1:] in labels:
                return False
        elif "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        else:
            key, value = term.split("=", 1)
            if labels.get(key) != value:
                return False
    return True


def launcher_settings(store: LocalStore, tmp_path: Path) -> Settings:
    """Platform settings with ``home`` under ``tmp_path`` and ``store`` as the object store."""
    return get_settings(overrides={"home": str(tmp_path / "home"), "store": {"uri": store.root_uri}})


def result_publisher(store: LocalStore, args_of: Callable[[dict[str, Any]], list[str]]) -> Callable[[Any], None]:
    """A callback that publishes a ``StageResult`` built from the object's ``--flag value`` args.

    Args:
        store: where ``result.json`` is written.
        args_of: the object's container args (``["--stage", "stage1_image", "--run-id", ...]``).
    """

    def publish(obj: dict[str, Any]) -> None:
        args = args_of(obj)
        value = dict(zip(args[::2], args[1::2], strict=False))
        write_result(store, StageResult(
            stage=value["--stage"], run_id=value["--run-id"], steps=1, first_loss=1.0, last_loss=0.5,
            checkpoint_uri="file:///final", sha256="0" * 64, metrics_uri="file:///m.jsonl",
            dataset_name=value["--dataset"], dataset_version=value["--dataset-version"], init_uri=None,
            elapsed_s=1.0,
        ))

    return publish


class FakeApiServer:
    """Objects in a dict keyed by name, as an API server keeps one namespace of one kind.

    Args:
        states: the state each read reports, in order (the last one sticks).
        on_done: called with the stored object on each read that reports ``done_state``.
        fail_creates: HTTP statuses the next creates fail with, one per create.

    Attributes:
        done_state: the state that triggers ``on_done`` (set by subclasses).
        objects: the stored manifests by name.
        creates: create calls so far (failed ones included).
        deletes: delete calls so far.
    """

    done_state: str = ""

    def __init__(self, states: list[str], on_done: Callable[[Any], None] | None = None,
                 fail_creates: list[int] | None = None) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.states, self.on_done = states, on_done
        self.fail_creates = list(fail_creates or [])
        self.creates = self.deletes = 0

    def _create(self, namespace: str, body: dict[str, Any], validate: Callable[[dict[str, Any]], object]) -> None:
        """Store ``body`` after ``validate``; raises the injected failure, or 409 for a name already stored."""
        from kubernetes.client.exceptions import ApiException

        self.creates += 1
        if self.fail_creates:
            raise ApiException(status=self.fail_creates.pop(0), reason="injected")
        validate(body)
        name = body["metadata"]["name"]
        if name in self.objects:
            raise ApiException(status=409, reason="AlreadyExists")
        assert namespace == body["metadata"]["namespace"]
        self.objects[name] = copy.deepcopy(body)

    def _read(self, name: str) -> tuple[dict[str, Any], str]:
        """The stored object and the state this read reports; raises 404 for an unknown name."""
        from kubernetes.client.exceptions import ApiException

        if name not in self.objects:
            raise ApiException(status=404, reason="NotFound")
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        obj = self.objects[name]
        if state == self.done_state and self.on_done:
            self.on_done(obj)
        return obj, state

    def _list(self, label_selector: str = "") -> list[dict[str, Any]]:
        """Copies of the stored objects whose labels match ``label_selector``."""
        return [copy.deepcopy(o) for o in self.objects.values()
                if matches(o["metadata"].get("labels") or {}, label_selector)]

    def _delete(self, name: str) -> None:
        self.deletes += 1
        self.objects.pop(name, None)


class FakeCoreV1:
    """The pod calls of ``CoreV1Api`` the Airflow ``KubernetesPodOperator`` makes, on V1Pod objects.

    Attributes:
        pods: stored pods by name (created ones report phase ``Running``).
        creates / deletes: calls so far.
    """

    def __init__(self) -> None:
        from kubernetes.client import ApiClient

        self.api_client = ApiClient()
        self.pods: dict[str, Any] = {}
        self.creates = self.deletes = 0

    def create_namespaced_pod(self, body: dict[str, Any], namespace: str, **_: Any) -> Any:
        from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
        from kubernetes.client import V1PodStatus
        from kubernetes.client.exceptions import ApiException

        self.creates += 1
        pod = PodGenerator.deserialize_model_dict(copy.deepcopy(body))
        if pod.metadata.name in self.pods:
            raise ApiException(status=409, reason="AlreadyExists")
        assert pod.metadata.namespace == namespace
        pod.status = V1PodStatus(phase="Running")
        self.pods[pod.metadata.name] = pod
        return pod

    def list_namespaced_pod(self, namespace: str, label_selector: str = "", **_: Any) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(items=[p for p in self.pods.values() if p.metadata.namespace == namespace
                                      and matches(p.metadata.labels or {}, label_selector)])

    def read_namespaced_pod(self, name: str, namespace: str, **_: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        if name not in self.pods:
            raise ApiException(status=404, reason="NotFound")
        return self.pods[name]

    def patch_namespaced_pod(self, name: str, namespace: str, body: dict[str, Any], **_: Any) -> Any:
        pod = self.read_namespaced_pod(name, namespace)
        pod.metadata.labels.update(body.get("metadata", {}).get("labels", {}))
        return pod

    def delete_namespaced_pod(self, name: str, namespace: str, **_: Any) -> None:
        self.deletes += 1
        self.pods.pop(name, None)
