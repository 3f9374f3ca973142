"""Structural validation of a rendered Kubeflow ``TrainJob`` without a cluster.

Two layers: ``trainjob-v1alpha1.schema.json`` (written from the CRD's Go types,
source in its ``$comment``) checks the TrainJob's own fields; the core/v1 pieces
are assembled into the ``v1/Pod`` the runtime would create for a node (trainer
container + pod-level runtime patch) and validated against the Kubernetes
OpenAPI schema with ``kubernetes-validate``, as the pod tests do. A few rules the
API server enforces beyond both schemas (list-map keys unique, mounts naming
declared volumes, no env patch on the ``node`` container, no ``PET_*`` env) are
checked by hand.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("trainjob-v1alpha1.schema.json")
NODE = "node"


class TrainJobInvalidError(ValueError):
    """The manifest breaks the TrainJob schema or one of the API server's rules."""


def _dupes(items: list[dict[str, Any]], what: str) -> None:
    repeated = [k for k, n in Counter(i["name"] for i in items).items() if n > 1]
    if repeated:
        raise TrainJobInvalidError(f"{what} names repeat: {repeated}")


def node_pod(trainjob: dict[str, Any], job_name: str = NODE) -> dict[str, Any]:
    """The ``v1/Pod`` pieces a node of ``trainjob`` gets: trainer fields + the runtime patches of ``job_name``."""
    trainer = trainjob["spec"].get("trainer", {})
    pod_spec: dict[str, Any] = {}
    labels: dict[str, str] = {}
    mounts: list[dict[str, Any]] = []
    for patch in trainjob["spec"].get("runtimePatches", []):
        for rjob in patch.get("trainingRuntimeSpec", {}).get("template", {}).get("spec", {}).get("replicatedJobs", []):
            if rjob["name"] != job_name:
                continue
            template = rjob.get("template", {}).get("spec", {}).get("template", {})
            labels.update(template.get("metadata", {}).get("labels", {}))
            spec = dict(template.get("spec", {}))
            for c in spec.pop("containers", []):
                if c["name"] == NODE and c.get("env"):
                    raise TrainJobInvalidError("env of the node container is set through spec.trainer.env only")
                if c["name"] == NODE:
                    mounts += c.get("volumeMounts", [])
            pod_spec.update(spec)
    container = {"name": NODE, "image": trainer.get("image", "runtime-image")}
    for key, target in (("command", "command"), ("args", "args"), ("env", "env"), ("resourcesPerNode", "resources")):
        if key in trainer:
            container[target] = trainer[key]
    if mounts:
        container["volumeMounts"] = mounts
    pod_spec["containers"] = [container]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{trainjob['metadata']['name']}-node-0-0",
                                                            "labels": labels}, "spec": pod_spec}


def validate_trainjob(trainjob: dict[str, Any]) -> None:
    """Raise unless ``trainjob`` is a structurally valid TrainJob whose node pod is a valid ``v1/Pod``.

    Raises:
        jsonschema.ValidationError: a TrainJob field is missing, unknown or out of range.
        kubernetes_validate.ValidationError: a core/v1 piece (metadata, env, resources,
            volumes, tolerations …) is invalid.
        TrainJobInvalidError: a rule outside both schemas is broken.
    """
    import jsonschema
    import kubernetes_validate

    jsonschema.validate(trainjob, json.loads(SCHEMA_PATH.read_text()))
    version = kubernetes_validate.latest_version()
    meta_carrier = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": trainjob["metadata"]}
    kubernetes_validate.validate(meta_carrier, version, strict=True)
    pod = node_pod(trainjob)
    kubernetes_validate.validate(pod, version, strict=True)
    container, spec = pod["spec"]["containers"][0], pod["spec"]
    _dupes(container.get("env", []), "trainer env")
    _dupes(spec.get("volumes", []), "volume")
    reserved = [e["name"] for e in container.get("env", []) if e["name"].startswith("PET_")]
    if reserved:
        raise TrainJobInvalidError(f"trainer env sets torchrun's reserved {reserved}")
    declared = {v["name"] for v in spec.get("volumes", [])}
    missing = [m["name"] for m in container.get("volumeMounts", []) if m["name"] not in declared]
    if missing:
        raise TrainJobInvalidError(f"mounts of undeclared volumes: {missing}")
