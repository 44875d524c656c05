"""Model flavours, signatures, and save/load with integrity checks.

``save_model`` writes a model directory whose manifest (``loopml-model.json``) records the
flavour, the signature, pinned requirements and the sha256 of every file;
``load_model`` verifies every digest before anything is deserialised and refuses a
tampered (:class:`~loopml.errors.DigestMismatch`) or unsigned
(:class:`~loopml.errors.UnsignedModel`) model. Flavours: ``sklearn`` (skops by default,
pickle on request), ``xgboost``, ``lightgbm``, ``onnx`` and ``python_function`` (which
also runs an MLflow ``python_model`` imported without MLflow: :class:`MlflowPythonModel`).
"""

from loopml.models._api import LoadedModel, SavedModel, save_model
from loopml.models._flavor import Flavor, flavor_names, get_flavor, register_flavor
from loopml.models._manifest import (
    MANIFEST,
    FileEntry,
    Manifest,
    pull_model,
    push_model,
    read_manifest,
)
from loopml.models._mlflow_pyfunc import MlflowPythonModel
from loopml.models._pyfunc import PythonModel
from loopml.models._signature import ColumnSpec, Signature, infer_signature
from loopml.models._uri import (
    ResolvedModel,
    load_model,
    lookup_version,
    register_uri_resolver,
    resolve,
)

__all__ = [
    "MANIFEST",
    "ColumnSpec",
    "FileEntry",
    "Flavor",
    "LoadedModel",
    "Manifest",
    "MlflowPythonModel",
    "PythonModel",
    "ResolvedModel",
    "SavedModel",
    "Signature",
    "flavor_names",
    "get_flavor",
    "infer_signature",
    "load_model",
    "lookup_version",
    "pull_model",
    "push_model",
    "read_manifest",
    "register_flavor",
    "register_uri_resolver",
    "resolve",
    "save_model",
]
