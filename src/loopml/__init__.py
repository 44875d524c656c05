"""loopml: the whole model lifecycle in one install."""

from loopml._version import __version__

__all__ = ["__version__"]
