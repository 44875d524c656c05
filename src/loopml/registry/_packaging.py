"""Packaging a version as a self-contained bundle: model files with digests, signature,
pinned requirements, a Dockerfile that serves it, and Kubernetes manifests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from loopml._version import __version__
from loopml.errors import Conflict
from loopml.models import pull_model, read_manifest
from loopml.workspace import resolve_artifacts, resolve_store

if TYPE_CHECKING:
    import os

    from loopml.artifacts import ArtifactStore
    from loopml.store import Store

PORT = 8080

_DOCKERFILE = """\
# Serves {name} v{semver} (manifest sha256 {digest}) with the Open Inference Protocol.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY model/ /srv/model/
RUN useradd --uid 10001 --no-create-home loopml
USER 10001
EXPOSE {port}
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/v2/health/ready')"
CMD ["loopml", "serve", "/srv/model", "--host", "0.0.0.0", "--port", "{port}"]
"""


def _k8s(name: str, image: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    probe = {"httpGet": {"port": PORT}, "periodSeconds": 10, "timeoutSeconds": 2}
    container = {
        "name": "model",
        "image": image,
        "ports": [{"containerPort": PORT, "name": "http"}],
        "readinessProbe": {
            **probe,
            "httpGet": {"path": "/v2/health/ready", "port": PORT},
            "initialDelaySeconds": 5,
        },
        "livenessProbe": {
            **probe,
            "httpGet": {"path": "/v2/health/live", "port": PORT},
            "initialDelaySeconds": 15,
        },
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "selector": {"app": name},
                "ports": [{"name": "http", "port": 80, "targetPort": PORT}],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": 2,
                "maxReplicas": 10,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
    ]


def package_model(
    ref: str,
    out: str | os.PathLike[str],
    *,
    image: str | None = None,
    store: Store | None = None,
    artifacts: ArtifactStore | None = None,
) -> Path:
    """Write a deployable bundle for a registered version into ``out``.

    Layout: ``model/`` (files + manifest with digests), ``signature.json``,
    ``requirements.txt`` (pinned from the training environment, plus loopml),
    ``Dockerfile``, ``k8s/{deployment,service,hpa}.yaml``, ``bundle.json``.

    Args:
        ref: ``NAME@ALIAS``, ``NAME/VERSION`` or a ``models:/`` URI.
        out: New (or empty) directory.
        image: Container image name in the manifests (default ``NAME:SEMVER``).
        store: Metadata store.
        artifacts: Artifact store.

    Returns:
        ``out`` as a Path.

    Raises:
        Conflict: ``out`` exists and is not empty.
    """
    from loopml.registry._service import get_version

    db = resolve_store(store)
    blobs = resolve_artifacts(artifacts)
    version = get_version(ref, store=db)
    target = Path(out)
    if target.exists() and any(target.iterdir()):
        raise Conflict(f"package directory {target} is not empty", hint="Choose a new --out.")
    target.mkdir(parents=True, exist_ok=True)
    model_dir = pull_model(version.manifest_digest, blobs, target / "model")
    manifest, digest = read_manifest(model_dir)
    name = "".join(c if c.isalnum() else "-" for c in version.model_name.lower()).strip("-")[:50]
    labels = {"app": name, "loopml/model": name, "loopml/version": version.semver}
    (target / "signature.json").write_text(
        json.dumps(None if manifest.signature is None else manifest.signature.to_dict(), indent=2)
    )
    requirements = [*manifest.requirements, f"loopml=={__version__}"]
    (target / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (target / "Dockerfile").write_text(
        _DOCKERFILE.format(name=version.model_name, semver=version.semver, digest=digest, port=PORT)
    )
    k8s = target / "k8s"
    k8s.mkdir()
    docs = _k8s(name, image or f"{name}:{version.semver}", labels)
    for filename, doc in zip(("deployment.yaml", "service.yaml", "hpa.yaml"), docs, strict=True):
        (k8s / filename).write_text(yaml.safe_dump(doc, sort_keys=False))
    (target / "bundle.json").write_text(
        json.dumps(
            {
                "model": version.model_name,
                "version": version.number,
                "semver": version.semver,
                "manifest_digest": digest,
                "flavor": version.flavor,
                "files": {p: e.sha256 for p, e in manifest.files.items()},
            },
            indent=2,
        )
    )
    return target
