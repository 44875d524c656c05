"""Model flavours, signatures, and save/load with integrity checks.

``save_model`` writes a model directory whose manifest (``loopml-model.json``) records the
flavour, the signature, pinned requirements and the sha256 of every file;
``load_model`` verifies every digest before anything is deserialised and refuses a
tampered (:class:`~loopml.errors.DigestMismatch`) or unsigned
(:class:`~loopml.errors.UnsignedModel`) model; a registered version signed following
OpenSSF Model Signing (``sign_version``) is verified against its bundle before every load
(:class:`~loopml.errors.SignatureInvalid`). Flavours: ``sklearn`` (skops by default,
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
from loopml.models._signing import (
    SIGNATURE_KEY_TAG,
    SIGNATURE_TAG,
    SignatureCheck,
    export_signed,
    generate_signing_key,
    sign_directory,
    sign_version,
    signing_key_configured,
    verify_directory,
    verify_registered,
    verify_version,
)
from loopml.models._uri import (
    ResolvedModel,
    load_model,
    lookup_version,
    register_uri_resolver,
    resolve,
)

__all__ = [
    "MANIFEST",
    "SIGNATURE_KEY_TAG",
    "SIGNATURE_TAG",
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
    "SignatureCheck",
    "export_signed",
    "flavor_names",
    "generate_signing_key",
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
    "sign_directory",
    "sign_version",
    "signing_key_configured",
    "verify_directory",
    "verify_registered",
    "verify_version",
]
