"""Pure builders of the training pod: a deterministic name and a ``v1/Pod`` manifest.

No Kubernetes client is imported here; the manifest is a plain JSON-ready dict
(camelCase keys, as in ``k8s/base/training-pod-template.yaml``) that the
launcher posts as is and the Airflow operator builder deserialises. The pieces
(resources, env, volumes, placement) are shared with the multi-node
``TrainJob`` of :mod:`training.launchers.trainjob`.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from typing import TYPE_CHECKING, Any

from training.launchers.stage_args import remote_args

if TYPE_CHECKING:
    from training.config import StageConfig
    from training.launchers.base import TrainJob
    from training.launchers.config import KubernetesConfig

#: Longest pod name we generate (a DNS-1123 label; Kubernetes' hostname limit).
MAX_NAME = 63
CONTAINER = "train"
COMMAND = ("python", "-m", "training.main")
APP_LABEL = "vidforge-train"
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def slug(text: str, max_len: int = MAX_NAME) -> str:
    """Lower-case DNS-1123 label fragment of ``text``: ``[a-z0-9-]``, no leading/trailing ``-``."""
    s = _NOT_DNS.sub("-", text.lower()).strip("-")
    s = re.sub(r"-{2,}", "-", s)
    return s[:max_len].strip("-")


def pod_name(run_id: str, stage: str, try_number: int | None = 1, max_len: int = MAX_NAME) -> str:
    """Deterministic name of one try of one stage of a run, at most ``max_len`` characters.

    The same ``(run_id, stage, try_number)`` always gives the same name, so a
    restarted caller finds (reattaches to) its object instead of starting a second one;
    a new try gets a new name. ``try_number=None`` leaves the try out (the DAG's
    ``KubernetesPodOperator`` adds a random suffix and finds its pod by labels). A hash of
    the unslugged inputs keeps names of runs that slugify alike (``Run_1`` / ``run-1``) or
    are truncated apart. Names start with ``vf-``, so they are RFC 1035 labels too (what a
    ``TrainJob`` requires).

    Raises:
        ValueError: ``try_number`` < 1, or ``max_len`` too short for the suffix.
    """
    if try_number is not None and try_number < 1:
        raise ValueError(f"try_number starts at 1, got {try_number}")
    digest = hashlib.sha256(f"{run_id}\0{stage}\0{try_number or ''}".encode()).hexdigest()[:8]
    suffix = f"-t{try_number}-{digest}" if try_number else f"-{digest}"
    if max_len < len(suffix) + 2:
        raise ValueError(f"max_len {max_len} leaves no room for a name before {suffix!r}")
    head = slug(f"vf-{stage}-{run_id}", max_len - len(suffix)) or "vf"
    return f"{head}{suffix}"


def pod_labels(run_id: str, stage: str) -> dict[str, str]:
    """Labels of a training pod or TrainJob: the same for every try of one stage of one run.

    No try number: Airflow 3 increments it on every restart, so a retry selecting by
    these labels finds the first try's still-running pod (see :func:`stage_selector`).
    Values are slugs (label values are DNS-1123-ish, ≤63).
    """
    return {
        "app.kubernetes.io/name": APP_LABEL,
        "vidforge.io/run-id": slug(run_id) or "none",
        "vidforge.io/stage": slug(stage) or "none",
    }


def stage_selector(run_id: str, stage: str) -> str:
    """Label selector of every pod (or TrainJob) of one stage of one run, whatever the try."""
    return ",".join(f"{k}={v}" for k, v in sorted(pod_labels(run_id, stage).items()))


def resources(cfg: KubernetesConfig) -> dict[str, Any]:
    """Requests (CPU, memory) and limits (``nvidia.com/gpu``, memory) of one training container."""
    limits: dict[str, Any] = {}
    if cfg.gpus:
        limits["nvidia.com/gpu"] = cfg.gpus
    if cfg.memory_limit:
        limits["memory"] = cfg.memory_limit
    out: dict[str, Any] = {"requests": {"cpu": cfg.cpu, "memory": cfg.memory}}
    if limits:
        out["limits"] = limits
    return out


def container_env(cfg: KubernetesConfig, job: TrainJob) -> list[dict[str, Any]]:
    """``VIDFORGE_CONFIG`` (the mounted settings) then the job's extra variables, sorted by name."""
    env = [{"name": "VIDFORGE_CONFIG", "value": cfg.settings_path}]
    return env + [{"name": k, "value": v} for k, v in sorted(job.env.items()) if k != "VIDFORGE_CONFIG"]


def volume_mounts(cfg: KubernetesConfig) -> list[dict[str, Any]]:
    """Mounts of the training container: ``/dev/shm`` and the settings ConfigMap's directory."""
    return [
        {"name": "dshm", "mountPath": "/dev/shm"},
        {"name": "settings", "mountPath": posixpath.dirname(cfg.settings_path), "readOnly": True},
    ]


def volumes(cfg: KubernetesConfig) -> list[dict[str, Any]]:
    """The memory-backed ``/dev/shm`` (dataloader workers, NCCL) and the settings ConfigMap."""
    return [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": cfg.shm_size}},
        {"name": "settings", "configMap": {"name": cfg.settings_configmap}},
    ]


def placement(cfg: KubernetesConfig) -> dict[str, Any]:
    """Pod-spec ``nodeSelector`` and ``tolerations`` (only those configured)."""
    out: dict[str, Any] = {}
    if cfg.node_selector:
        out["nodeSelector"] = dict(cfg.node_selector)
    if cfg.tolerations:
        out["tolerations"] = [t.model_dump(exclude_none=True) for t in cfg.tolerations]
    return out


def _container(cfg: KubernetesConfig, stage: StageConfig, job: TrainJob) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": cfg.image,
        "imagePullPolicy": cfg.image_pull_policy,
        "command": list(COMMAND),
        # settings come from the mounted ConfigMap (VIDFORGE_CONFIG), never a caller's file
        "args": remote_args(stage, job, settings_file=None),
        "env": container_env(cfg, job),
        "resources": resources(cfg),
        "volumeMounts": volume_mounts(cfg),
    }
    if cfg.s3_secret:
        container["envFrom"] = [{"secretRef": {"name": cfg.s3_secret}}]
    return container


def build_pod(
    cfg: KubernetesConfig, stage: StageConfig, job: TrainJob, try_number: int | None = 1, name: str | None = None
) -> dict[str, Any]:
    """The ``v1/Pod`` manifest running ``stage`` for ``job`` (one try).

    Args:
        cfg: pod shape (image, GPUs, tolerations, node selector, shm, deadline, secrets).
        stage: stage config, carried unchanged as ``--stage``/``--set`` arguments.
        job: run, dataset, init URI and extra environment (``job.settings_file`` is ignored:
            the pod reads settings from the ConfigMap mounted at ``cfg.settings_path``).
        try_number: attempt number (1-based), part of the name (not of the labels); None = none.
        name: pod name; None = :func:`pod_name` of ``(job.run_id, stage.name, try_number)``.

    Raises:
        ValueError: ``stage.name`` is not a packaged stage, or ``try_number`` < 1.
    """
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": cfg.active_deadline_s,
    }
    if cfg.priority_class:
        spec["priorityClassName"] = cfg.priority_class
    if cfg.service_account:
        spec["serviceAccountName"] = cfg.service_account
    spec.update(placement(cfg))
    spec["containers"] = [_container(cfg, stage, job)]
    spec["volumes"] = volumes(cfg)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name or pod_name(job.run_id, stage.name, try_number),
            "namespace": cfg.namespace,
            "labels": pod_labels(job.run_id, stage.name),
        },
        "spec": spec,
    }
