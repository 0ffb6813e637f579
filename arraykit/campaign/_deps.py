"""The campaign extra (dask, distributed, pyarrow, tqdm), imported only when used."""

from __future__ import annotations

import importlib
from types import ModuleType

from arraykit.errors import ArraykitError

HINT = "pip install 'arraykit[campaign]'"


class MissingDependencyError(ArraykitError, ImportError):
    """A package of the ``campaign`` extra is not installed; the message says how to get it."""


def need(module: str) -> ModuleType:
    """Import `module` or raise one line naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingDependencyError(
            f"campaigns need the {top} package (the campaign extra): {HINT}"
        ) from None
