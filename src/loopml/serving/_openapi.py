"""The server's OpenAPI 3.1 document (hand-written: every route, request and response)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml._version import __version__

if TYPE_CHECKING:
    from loopml.serving._runtime import ServedModel

_ERR = {"$ref": "#/components/schemas/Error"}
_TENSOR = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {
            "type": "string",
            "enum": [
                "BOOL",
                "INT8",
                "INT16",
                "INT32",
                "INT64",
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "FP16",
                "FP32",
                "FP64",
                "BYTES",
            ],
        },
        "parameters": {"type": "object"},
        "data": {"type": "array", "items": {}},
    },
}


def _json(schema: Any) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "error", **_json(_ERR)} for c in codes}


def _get(summary: str, body: Any, *codes: int) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "responses": {"200": {"description": "ok", **_json(body)}, **_errors(*codes)},
        }
    }


def _params(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]


def schema(served: ServedModel | None = None) -> dict[str, Any]:
    """The document; the served model's name and columns are filled in when known."""
    obj = {"type": "object"}
    infer_post = {
        "summary": "Open Inference Protocol inference",
        "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/InferRequest"})},
        "responses": {
            "200": {"description": "ok", **_json({"$ref": "#/components/schemas/InferResponse"})},
            **_errors(400, 404, 413, 415, 422, 500, 503, 504),
        },
    }
    mlflow_body = {
        "oneOf": [
            {
                "type": "object",
                "required": ["dataframe_split"],
                "properties": {
                    "dataframe_split": {
                        "type": "object",
                        "properties": {
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "data": {"type": "array", "items": {"type": "array", "items": {}}},
                        },
                    }
                },
            },
            {
                "type": "object",
                "required": ["dataframe_records"],
                "properties": {"dataframe_records": {"type": "array", "items": obj}},
            },
            {"type": "object", "required": ["instances"], "properties": {"instances": {}}},
            {"type": "object", "required": ["inputs"], "properties": {"inputs": {}}},
        ]
    }
    paths: dict[str, Any] = {
        "/v2/health/live": _get("Liveness", obj),
        "/v2/health/ready": _get("Readiness", obj, 503),
        "/v2": _get("Server metadata", obj),
        "/v2/models/{name}": {**_get("Model metadata", obj, 404), "parameters": _params("name")},
        "/v2/models/{name}/versions/{version}": {
            **_get("Model metadata", obj, 404),
            "parameters": _params("name", "version"),
        },
        "/v2/models/{name}/ready": {
            **_get("Model readiness", obj, 404, 503),
            "parameters": _params("name"),
        },
        "/v2/models/{name}/versions/{version}/ready": {
            **_get("Model readiness", obj, 404, 503),
            "parameters": _params("name", "version"),
        },
        "/v2/models/{name}/infer": {"post": infer_post, "parameters": _params("name")},
        "/v2/models/{name}/versions/{version}/infer": {
            "post": infer_post,
            "parameters": _params("name", "version"),
        },
        "/invocations": {
            "post": {
                "summary": "MLflow scoring",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": mlflow_body},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "200": {
                        "description": "ok",
                        **_json(
                            {
                                "type": "object",
                                "properties": {
                                    "predictions": {"type": "array"},
                                    "prediction_id": {"type": "string"},
                                },
                            }
                        ),
                    },
                    **_errors(400, 413, 415, 422, 500, 503, 504),
                },
            }
        },
        "/ping": {"get": {"summary": "MLflow health", "responses": {"200": {"description": "ok"}}}},
        "/health": {
            "get": {"summary": "MLflow health", "responses": {"200": {"description": "ok"}}}
        },
        "/version": {
            "get": {"summary": "Server version", "responses": {"200": {"description": "ok"}}}
        },
        "/metrics": {
            "get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "ok"}}}
        },
        "/openapi.json": _get("This document", obj),
        "/feedback": {
            "post": {
                "summary": "Ground-truth labels for logged predictions",
                "requestBody": {
                    "required": True,
                    **_json(
                        {
                            "oneOf": [
                                {"$ref": "#/components/schemas/Feedback"},
                                {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Feedback"},
                                },
                            ]
                        }
                    ),
                },
                "responses": {
                    "200": {"description": "ok", **_json(obj)},
                    **_errors(400, 404, 413, 415, 422, 501),
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"loopml serving{'' if served is None else ': ' + served.name}",
            "version": __version__,
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "error_code": {"type": "string"},
                        "field": {"type": "string"},
                        "hint": {"type": "string"},
                        "id": {"type": "string"},
                    },
                },
                "InferRequest": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {
                        "id": {"type": "string"},
                        "parameters": obj,
                        "inputs": {"type": "array", "items": _TENSOR},
                        "outputs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}},
                            },
                        },
                    },
                },
                "InferResponse": {
                    "type": "object",
                    "properties": {
                        "model_name": {"type": "string"},
                        "model_version": {"type": "string"},
                        "id": {"type": "string"},
                        "outputs": {"type": "array", "items": _TENSOR},
                    },
                },
                "Feedback": {
                    "type": "object",
                    "required": ["prediction_id", "label"],
                    "properties": {
                        "prediction_id": {"type": "string"},
                        "label": {},
                        "row": {"type": "integer", "minimum": 0},
                    },
                },
            }
        },
    }
