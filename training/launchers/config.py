"""Typed settings of the remote launchers (``configs/training/launchers/<profile>.yaml``).

Where a stage runs is data, not code: the Kubernetes pod shape (image, GPUs,
tolerations, node selector, ``/dev/shm``, deadline, secrets), the multi-node
Kubeflow ``TrainJob`` (nodes, processes per node, runtime) and the Ray cluster
(address, workers, runtime environment) are fields of :class:`LaunchersConfig`. The local
launcher needs no settings. Profiles live in ``configs/training/launchers/``
(a sub-directory, so they never shadow a stage config).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from training.config import CONFIG_DIR, profile_path

if TYPE_CHECKING:
    from vidforge.settings import Settings

LAUNCHERS_DIR = CONFIG_DIR / "launchers"

#: Kubernetes quantities such as ``8``, ``500m``, ``64Gi``.
_QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$"
#: DNS-1123 label (names of namespaces, secrets, config maps, priority classes).
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
#: DNS-1123 subdomain (names of cluster-scoped objects such as a ClusterTrainingRuntime).
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
#: An environment variable name.
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: Environment variable names that hold credentials: only their names may appear in a profile.
_SECRET_ENV = re.compile(r"SECRET|TOKEN|PASSWORD|ACCESS_KEY|CREDENTIAL", re.IGNORECASE)

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Toleration(BaseModel):
    """A pod toleration (``spec.tolerations[]``)."""

    model_config = _FROZEN

    key: str
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


class KubernetesConfig(BaseModel):
    """Shape of a training pod (one stage, one pod)."""

    model_config = _FROZEN

    image: str = Field(min_length=1, description="Container image with the vidforge package.")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    namespace: str = Field(default="vidforge", pattern=_DNS_LABEL)
    service_account: str | None = Field(default=None, pattern=_DNS_LABEL)
    gpus: int = Field(default=1, ge=0, description="nvidia.com/gpu limit; 0 = CPU pod.")
    cpu: str = Field(default="8", pattern=_QUANTITY, description="CPU request.")
    memory: str = Field(default="64Gi", pattern=_QUANTITY, description="Memory request.")
    memory_limit: str | None = Field(default=None, pattern=_QUANTITY, description="None = no limit.")
    shm_size: str = Field(default="32Gi", pattern=_QUANTITY, description="Size of the /dev/shm emptyDir.")
    priority_class: str | None = Field(default="vidforge-training", pattern=_DNS_LABEL)
    active_deadline_s: int = Field(default=86400, gt=0, description="Pod killed after this many seconds.")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    s3_secret: str | None = Field(default="vidforge-s3", pattern=_DNS_LABEL,
                                  description="Secret whose keys become env (AWS_ACCESS_KEY_ID …).")
    settings_configmap: str = Field(default="vidforge-settings", pattern=_DNS_LABEL)
    settings_path: str = Field(default="/etc/vidforge/settings.yaml", pattern=r"^/.+/[^/]+$",
                               description="Where the ConfigMap's settings.yaml is mounted.")
    poll_interval_s: float = Field(default=10.0, gt=0, description="KubernetesLauncher phase polling.")
    startup_timeout_s: int = Field(default=600, gt=0, description="KubernetesPodOperator pod start wait.")


class TrainJobConfig(BaseModel):
    """A multi-node Kubeflow Trainer ``TrainJob`` of one stage.

    The per-node pod shape (image, GPUs, CPU/memory, ``/dev/shm``, tolerations, node
    selector, secrets, settings ConfigMap, deadline) is :class:`KubernetesConfig`'s.
    """

    model_config = _FROZEN

    runtime_name: str = Field(default="torch-distributed", pattern=_DNS_SUBDOMAIN,
                              description="The (Cluster)TrainingRuntime running torchrun.")
    runtime_kind: Literal["ClusterTrainingRuntime", "TrainingRuntime"] = "ClusterTrainingRuntime"
    num_nodes: int = Field(default=2, ge=1, description="Pods (nodes) of the job.")
    procs_per_node: int | None = Field(default=None, ge=1,
                                       description="torchrun processes per node; None = GPUs per node (1 on CPU).")
    s3_secret_keys: tuple[str, ...] = Field(
        default=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        description="Keys of the kubernetes.s3_secret Secret passed as env (TrainJob env has no envFrom).")
    manager: str = Field(default="vidforge.io/launcher", min_length=1, max_length=253,
                         description="Owner of the TrainJob's runtime patch (spec.runtimePatches[].manager).")

    @field_validator("s3_secret_keys")
    @classmethod
    def _env_names(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        bad = [k for k in keys if not re.match(_ENV_NAME, k)]
        if bad:
            raise ValueError(f"not environment variable names: {bad}")
        return keys


class RayRuntimeEnvConfig(BaseModel):
    """The Ray ``runtime_env`` of a stage's job (what a remote cluster needs of this process).

    Credentials never appear here: ``forward_env`` names variables whose values are
    read from the launcher's environment at launch (e.g. the ``vidforge-s3`` Secret
    mounted into the Airflow worker); ``env_vars`` holds literal, non-secret values.
    """

    model_config = _FROZEN

    working_dir: str | None = Field(default=None, description="Directory (relative: to the repository) or "
                                                              "URI uploaded as the workers' working directory.")
    py_modules: tuple[str, ...] = Field(default=(), description="Package directories (relative: to the "
                                                                "repository) or URIs importable on the workers.")
    excludes: tuple[str, ...] = Field(default=(), description="gitignore-style paths left out of uploads.")
    env_vars: dict[str, str] = Field(default_factory=dict, description="Literal, non-secret variables.")
    forward_env: tuple[str, ...] = Field(default=(), description="Names of variables copied from the "
                                                                 "launcher's environment when set.")

    @field_validator("env_vars")
    @classmethod
    def _no_literal_secrets(cls, env: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k in env if not re.match(_ENV_NAME, k))
        if bad:
            raise ValueError(f"not environment variable names: {bad}")
        secret = sorted(k for k in env if _SECRET_ENV.search(k))
        if secret:
            raise ValueError(f"{secret} look like credentials: list their names in forward_env, not their values")
        return env

    @field_validator("forward_env")
    @classmethod
    def _forward_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        bad = [k for k in names if not re.match(_ENV_NAME, k)]
        if bad:
            raise ValueError(f"not environment variable names: {bad}")
        return names


class RayConfig(BaseModel):
    """A Ray Train run of one stage."""

    model_config = _FROZEN

    address: str | None = Field(default=None, description="None = local Ray; ray://… = KubeRay head.")
    num_workers: int = Field(default=2, ge=1)
    use_gpu: bool = False
    cpus_per_worker: float = Field(default=1.0, gt=0)
    storage_path: str | None = Field(default=None, description="Ray Train storage; shared on multi-node.")
    runtime_env: RayRuntimeEnvConfig = RayRuntimeEnvConfig()


class LaunchersConfig(BaseModel):
    """All remote launcher settings of one profile."""

    model_config = _FROZEN

    kubernetes: KubernetesConfig
    trainjob: TrainJobConfig = TrainJobConfig()
    ray: RayConfig = RayConfig()


def load_launchers_config(name_or_path: str | Path = "default") -> LaunchersConfig:
    """Load ``configs/training/launchers/<name>.yaml`` (or a YAML path).

    Raises:
        FileNotFoundError: no such profile.
        pydantic.ValidationError: a value is out of range or a key is unknown.
    """
    path = profile_path(name_or_path, LAUNCHERS_DIR, "launcher profile")
    return LaunchersConfig.model_validate(yaml.safe_load(path.read_text()) or {})


def deployment_launchers_config(settings: Settings) -> LaunchersConfig:
    """The deployment's launcher profile (``settings.training.launchers_profile``) with its image
    replaced by ``settings.training.image`` when that is set.

    Raises:
        FileNotFoundError / pydantic.ValidationError: as :func:`load_launchers_config`.
    """
    cfg = load_launchers_config(settings.training.launchers_profile)
    if not settings.training.image:
        return cfg
    return cfg.model_copy(update={"kubernetes": cfg.kubernetes.model_copy(update={"image": settings.training.image})})
