"""Launchers run one training stage somewhere and hand back its result from the object store.

``local`` runs ``python -m training.main`` as a subprocess; the Kubernetes pod, Kubeflow TrainJob and Ray
launchers implement the same :class:`~training.launchers.base.Launcher` protocol.
"""

from training.launchers.base import Launcher, LaunchError, RunHandle, TrainJob, main_args
from training.launchers.local import LocalLauncher

__all__ = ["LaunchError", "Launcher", "LocalLauncher", "RunHandle", "TrainJob", "main_args"]
