"""The training pod as Airflow's ``KubernetesPodOperator`` (cncf.kubernetes provider).

:func:`build_pod_operator` turns the manifest of
:func:`~training.launchers.pod_spec.build_pod` into operator fields: a fixed
pod name (no random suffix) per ``(run, stage, try)``, ``reattach_on_restart``
so a restarted worker adopts the running pod, and ``do_xcom_push=False`` — the
result travels as ``runs/<run_id>/<stage>/result.json`` in the object store.

:class:`PodOperatorLauncher` lets an Airflow task run a stage through
:func:`training.api.run_stage` (config overrides, reuse of a finished stage) with
the operator doing the pod lifecycle (logs, events, cleanup) in that task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from training.launchers.base import published_result
from training.launchers.config import KubernetesConfig, load_launchers_config
from training.launchers.pod_spec import CONTAINER, build_pod

if TYPE_CHECKING:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    from training.config import StageConfig
    from training.launchers.base import TrainJob
    from training.result import StageResult
    from vidforge.settings import Settings


def build_pod_operator(
    task_id: str,
    config: KubernetesConfig,
    stage: StageConfig,
    job: TrainJob,
    try_number: int = 1,
    *,
    config_file: str | None = None,
    in_cluster: bool | None = None,
    **operator_kwargs: Any,
) -> KubernetesPodOperator:
    """A ``KubernetesPodOperator`` running one stage in the pod of :func:`build_pod`.

    Args:
        task_id: the operator's task id.
        config / stage / job / try_number: as for :func:`~training.launchers.pod_spec.build_pod`.
        config_file / in_cluster: cluster access (None = the provider's connection defaults).
        operator_kwargs: further operator arguments (e.g. ``kubernetes_conn_id``, ``deferrable``).

    Building the operator makes no API call.
    """
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator

    pod = PodGenerator.deserialize_model_dict(build_pod(config, stage, job, try_number))
    spec, container = pod.spec, pod.spec.containers[0]
    return KubernetesPodOperator(
        task_id=task_id,
        name=pod.metadata.name,
        namespace=pod.metadata.namespace,
        labels=pod.metadata.labels,
        random_name_suffix=False,
        image=container.image,
        image_pull_policy=container.image_pull_policy,
        base_container_name=CONTAINER,
        cmds=container.command,
        arguments=container.args,
        env_vars=container.env,
        env_from=container.env_from,
        container_resources=container.resources,
        volumes=spec.volumes,
        volume_mounts=container.volume_mounts,
        tolerations=spec.tolerations,
        node_selector=spec.node_selector,
        priority_class_name=spec.priority_class_name,
        service_account_name=spec.service_account_name,
        active_deadline_seconds=spec.active_deadline_seconds,
        startup_timeout_seconds=config.startup_timeout_s,
        do_xcom_push=False,
        reattach_on_restart=True,
        on_finish_action="delete_succeeded_pod",  # keep failed pods for inspection
        get_logs=True,
        config_file=config_file,
        in_cluster=in_cluster,
        **operator_kwargs,
    )


class PodOperatorRun:
    """A stage run by a ``KubernetesPodOperator`` inside the calling Airflow task.

    The operator owns the pod lifecycle and blocks, so the pod starts in :meth:`wait`.
    """

    def __init__(self, operator: KubernetesPodOperator, context: Any, settings: Settings,
                 stage: StageConfig, job: TrainJob) -> None:
        self.operator, self.context, self.settings = operator, context, settings
        self.stage, self.job = stage, job

    def wait(self, timeout: float | None = None) -> StageResult:
        """Run the operator to completion; return ``result.json`` from the store.

        ``timeout`` is not used: the pod's ``activeDeadlineSeconds`` and the task's
        ``execution_timeout`` bound it.

        Raises:
            airflow.exceptions.AirflowException: the pod failed (Airflow retries the task).
            LaunchError: the pod succeeded without publishing a result.
        """
        self.operator.execute(self.context)
        return published_result(self.settings, self.stage, self.job,
                                f"pod {self.operator.name} succeeded without a result")


class PodOperatorLauncher:
    """Runs stages through ``KubernetesPodOperator`` in an Airflow task (a ``Launcher``).

    Args:
        settings: the task's settings (the store ``result.json`` is read from).
        context: the Airflow task context (``ti`` gives the try number and pod labels).
        config: pod shape; None = the ``default`` launcher profile.
        operator_kwargs: passed to :func:`build_pod_operator` (cluster access etc.).
    """

    def __init__(self, settings: Settings, context: Any, config: KubernetesConfig | None = None,
                 **operator_kwargs: Any) -> None:
        self.settings, self.context = settings, context
        self.config = config or load_launchers_config().kubernetes
        self.operator_kwargs = operator_kwargs

    def launch(self, stage: StageConfig, job: TrainJob) -> PodOperatorRun:
        """Build the operator for this task's try; the pod starts when the handle is waited on."""
        ti = self.context["ti"]
        operator = build_pod_operator(f"{ti.task_id}-pod", self.config, stage, job,
                                      max(1, int(ti.try_number or 1)), **self.operator_kwargs)
        return PodOperatorRun(operator, self.context, self.settings, stage, job)
