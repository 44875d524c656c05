"""XGBoost and LightGBM flavours in their native formats (``xgboost``/``lightgbm`` extras)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from loopml.errors import InvalidInput
from loopml.models._flavor import Flavor

if TYPE_CHECKING:
    from pathlib import Path


class XGBoostFlavor(Flavor):
    """XGBoost boosters and scikit-learn wrappers, saved as UBJSON (``model.ubj``)."""

    name: ClassVar[str] = "xgboost"
    distributions: ClassVar[tuple[str, ...]] = ("xgboost", "numpy", "scikit-learn")

    @classmethod
    def handles(cls, model: Any) -> bool:
        """``xgboost.Booster`` or ``xgboost.XGBModel``."""
        import xgboost

        return isinstance(model, (xgboost.Booster, xgboost.XGBModel))

    def save(self, model: Any, directory: Path, options: dict[str, Any]) -> dict[str, Any]:
        """Write the model with XGBoost's own ``save_model``."""
        if not self.handles(model):
            raise InvalidInput(f"not an XGBoost model: {type(model).__qualname__}")
        model.save_model(str(directory / "model.ubj"))
        return {"file": "model.ubj", "class": type(model).__name__}

    def load(self, directory: Path, options: dict[str, Any]) -> Any:
        """Rebuild the booster or wrapper class and read the model into it."""
        import xgboost

        cls = getattr(xgboost, str(options.get("class", "Booster")), None)
        if cls is None:
            raise InvalidInput(f"unknown XGBoost class {options.get('class')!r}")
        model = cls()
        model.load_model(str(directory / str(options.get("file", "model.ubj"))))
        return model

    def predict(self, model: Any, data: Any) -> np.ndarray:
        """Predictions; boosters get a DMatrix."""
        import xgboost

        if isinstance(model, xgboost.Booster):
            return np.asarray(model.predict(xgboost.DMatrix(data)))
        return np.asarray(model.predict(data))


class _LightGBMClassifier:
    """A LightGBM classifier rebuilt from its booster: predict and predict_proba."""

    def __init__(self, booster: Any, classes: list[Any]) -> None:
        self.booster_ = booster
        self.classes_ = np.asarray(classes)

    def predict_proba(self, data: Any) -> np.ndarray:
        raw = np.asarray(self.booster_.predict(data))
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, data: Any) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(data), axis=1)])


class LightGBMFlavor(Flavor):
    """LightGBM boosters and scikit-learn wrappers, saved as the native text model."""

    name: ClassVar[str] = "lightgbm"
    distributions: ClassVar[tuple[str, ...]] = ("lightgbm", "numpy", "scikit-learn")

    @classmethod
    def handles(cls, model: Any) -> bool:
        """``lightgbm.Booster`` or a fitted ``lightgbm.LGBMModel``."""
        import lightgbm

        return isinstance(model, (lightgbm.Booster, lightgbm.LGBMModel))

    def save(self, model: Any, directory: Path, options: dict[str, Any]) -> dict[str, Any]:
        """Write ``model.txt``; a classifier also keeps its class labels."""
        import lightgbm

        if not self.handles(model):
            raise InvalidInput(f"not a LightGBM model: {type(model).__qualname__}")
        booster = model if isinstance(model, lightgbm.Booster) else model.booster_
        booster.save_model(str(directory / "model.txt"))
        out: dict[str, Any] = {"file": "model.txt", "class": type(model).__name__}
        if isinstance(model, lightgbm.LGBMClassifier):
            out["classes"] = np.asarray(model.classes_).tolist()
        return out

    def load(self, directory: Path, options: dict[str, Any]) -> Any:
        """Read the booster; classifiers come back with predict and predict_proba."""
        import lightgbm

        booster = lightgbm.Booster(model_file=str(directory / str(options.get("file"))))
        if "classes" in options:
            return _LightGBMClassifier(booster, list(options["classes"]))
        return booster
