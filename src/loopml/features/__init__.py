"""The feature store: versioned feature views, point-in-time correct training sets, an
online store and materialisation."""

__all__: list[str] = []
