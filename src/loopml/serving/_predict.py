"""In-process scoring with the server's validation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.serving._runtime import ServedModel, load_served

if TYPE_CHECKING:
    import os

    import pandas as pd

    from loopml.workspace import Workspace


def predict(
    model_uri: str | os.PathLike[str] | ServedModel,
    frame: Any,
    *,
    workspace: Workspace | None = None,
) -> pd.DataFrame:
    """Score rows in this process, validated against the signature as the server does.

    Args:
        model_uri: A model URI, bundle folder or model directory.
        frame: A DataFrame, dict of columns or list of records (a 2-D array for a tensor
            model).
        workspace: Where registered models live (default: the current workspace).

    Returns:
        One row per input row: a column per output (``predict``; ``predict_proba_<i>``
        per class for classifiers).

    Raises:
        RequestError: (an ``InvalidInput``) a column is missing, extra or of the wrong type.
        DigestMismatch: The model's files were altered.
    """
    import pandas as pd

    from loopml.workspace import current_workspace

    served = (
        model_uri
        if isinstance(model_uri, ServedModel)
        else load_served(model_uri, workspace=workspace or current_workspace())
    )
    schema = served.schema
    if isinstance(frame, list) and frame and isinstance(frame[0], dict):
        frame = pd.DataFrame(frame)
    if schema.is_tensor:
        columns = schema.coerce_tensor(np.asarray(frame))
    elif isinstance(frame, pd.DataFrame):
        columns = schema.coerce({str(c): frame[c].to_numpy() for c in frame.columns})
    else:
        columns = schema.coerce(dict(frame))
    outputs = served.predict(columns)
    result: dict[str, Any] = {}
    for name, values in outputs.items():
        if values.ndim == 2:
            for i in range(values.shape[1]):
                result[f"{name}_{i}"] = values[:, i]
        else:
            result[name] = values
    return pd.DataFrame(result)
