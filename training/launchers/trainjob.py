"""Pure builder of a multi-node Kubeflow Trainer ``TrainJob`` running one stage with ``torchrun``.

Target API: ``trainer.kubeflow.org/v1alpha1`` of Kubeflow Trainer v2.2 and later
(``pkg/apis/trainer/v1alpha1/trainjob_types.go`` in github.com/kubeflow/trainer;
v2.2 replaced ``podTemplateOverrides`` with ``runtimePatches``). The referenced
runtime (by default the ``torch-distributed`` ClusterTrainingRuntime) carries a
torch ML policy: the controller sets ``PET_NNODES``, ``PET_NPROC_PER_NODE``,
``PET_NODE_RANK``, ``PET_MASTER_ADDR`` and ``PET_MASTER_PORT`` on the trainer
container, which ``torch.distributed.run`` (torchrun) reads as its options. Every
process runs ``training.main`` with the same ``--stage``/``--set`` arguments as
the pod launcher (:func:`~training.launchers.stage_args.remote_args`); accelerate
takes rank and world size from torchrun.

Where the pod launcher's pieces go:

* ``spec.trainer``: image, command, args, env (``VIDFORGE_CONFIG``, the job's
  variables, the S3 Secret's keys as ``secretKeyRef`` — TrainJob env has no
  ``envFrom``), ``numNodes``, ``numProcPerNode``, ``resourcesPerNode`` (GPU limit).
* ``spec.runtimePatches[manager]`` → replicated job ``node`` → pod template:
  labels, node selector, tolerations, service account, the ``/dev/shm`` and
  settings volumes, and their mounts in the ``node`` container.
* ``spec.activeDeadlineSeconds``: the pod's deadline, for the whole job.

Not expressible in a TrainJob, so left to the runtime (or Kueue): the priority
class and the image pull policy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from training.launchers.pod_spec import (
    container_env,
    placement,
    pod_labels,
    pod_name,
    resources,
    volume_mounts,
    volumes,
)
from training.launchers.stage_args import remote_args

if TYPE_CHECKING:
    from training.config import StageConfig
    from training.launchers.base import TrainJob
    from training.launchers.config import KubernetesConfig, TrainJobConfig

GROUP = "trainer.kubeflow.org"
VERSION = "v1alpha1"
PLURAL = "trainjobs"
KIND = "TrainJob"
#: The trainer's replicated job and container in the torch runtimes.
NODE = "node"
#: torchrun as a module, so the image needs only ``python`` on its PATH.
COMMAND = ("python", "-m", "torch.distributed.run", "-m", "training.main")
#: Longest TrainJob name: JobSet names pods' hostnames ``<name>-node-<job>-<pod>`` (a ≤63 label).
MAX_TRAINJOB_NAME = 40
#: Variables the torch plugin sets; a TrainJob that sets them is rejected by its webhook.
RESERVED_ENV_PREFIX = "PET_"


def trainjob_name(run_id: str, stage: str, try_number: int = 1) -> str:
    """Deterministic TrainJob name of one try of one stage (see :func:`~training.launchers.pod_spec.pod_name`)."""
    return pod_name(run_id, stage, try_number, max_len=MAX_TRAINJOB_NAME)


def procs_per_node(cfg: KubernetesConfig, tj: TrainJobConfig) -> int:
    """torchrun processes per node: the configured number, else one per GPU (one on a CPU node)."""
    return tj.procs_per_node or cfg.gpus or 1


def _trainer_env(cfg: KubernetesConfig, tj: TrainJobConfig, job: TrainJob) -> list[dict[str, Any]]:
    reserved = sorted(k for k in job.env if k.startswith(RESERVED_ENV_PREFIX))
    if reserved:
        raise ValueError(f"job env {reserved} is reserved for torchrun (set by the TrainJob's torch runtime)")
    env = container_env(cfg, job)
    if cfg.s3_secret:
        env += [{"name": key, "valueFrom": {"secretKeyRef": {"name": cfg.s3_secret, "key": key}}}
                for key in tj.s3_secret_keys if key not in job.env]
    return env


def _runtime_patch(cfg: KubernetesConfig, tj: TrainJobConfig, labels: dict[str, str]) -> dict[str, Any]:
    """``spec.runtimePatches[]`` entry: the pod-level pieces of the trainer's replicated job."""
    pod_spec: dict[str, Any] = placement(cfg)
    if cfg.service_account:
        pod_spec["serviceAccountName"] = cfg.service_account
    pod_spec["volumes"] = volumes(cfg)
    pod_spec["containers"] = [{"name": NODE, "volumeMounts": volume_mounts(cfg)}]
    pod_template = {"metadata": {"labels": dict(labels)}, "spec": pod_spec}
    replicated = {"name": NODE, "template": {"spec": {"template": pod_template}}}
    return {"manager": tj.manager,
            "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [replicated]}}}}


def build_trainjob(
    cfg: KubernetesConfig,
    tj: TrainJobConfig,
    stage: StageConfig,
    job: TrainJob,
    try_number: int = 1,
    name: str | None = None,
) -> dict[str, Any]:
    """The ``trainer.kubeflow.org/v1alpha1`` TrainJob running ``stage`` for ``job`` on ``tj.num_nodes`` nodes.

    Args:
        cfg: per-node pod shape (image, GPUs, CPU/memory, shm, tolerations, node selector,
            service account, S3 Secret, settings ConfigMap, deadline).
        tj: nodes, processes per node, runtime reference, S3 Secret keys, patch manager.
        stage: stage config, carried unchanged as ``--stage``/``--set`` arguments.
        job: run, dataset, init URI and extra environment (``job.settings_file`` is ignored:
            every node reads settings from the ConfigMap mounted at ``cfg.settings_path``).
        try_number: attempt number (1-based), part of the name (not of the labels).
        name: TrainJob name; None = :func:`trainjob_name` of ``(job.run_id, stage.name, try_number)``.

    Raises:
        ValueError: ``stage.name`` is not a packaged stage, ``try_number`` < 1, or
            ``job.env`` sets a torchrun variable (``PET_*``).
    """
    labels = pod_labels(job.run_id, stage.name)
    trainer = {
        "image": cfg.image,
        "command": list(COMMAND),
        "args": remote_args(stage, job, settings_file=None),
        "env": _trainer_env(cfg, tj, job),
        "numNodes": tj.num_nodes,
        "numProcPerNode": procs_per_node(cfg, tj),
        "resourcesPerNode": resources(cfg),
    }
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {
            "name": name or trainjob_name(job.run_id, stage.name, try_number),
            "namespace": cfg.namespace,
            "labels": labels,
        },
        "spec": {
            "runtimeRef": {"name": tj.runtime_name, "apiGroup": GROUP, "kind": tj.runtime_kind},
            "trainer": trainer,
            "runtimePatches": [_runtime_patch(cfg, tj, labels)],
            "activeDeadlineSeconds": cfg.active_deadline_s,
        },
    }
