"""The campaign extra (dask, distributed, pyarrow, tqdm), imported only when used."""

from __future__ import annotations

import importlib
from types import ModuleType

from arraykit.errors import MissingDependencyError

__all__ = ["HINT", "MissingDependencyError", "need"]

HINT = "pip install 'arraykit[campaign]'"


def need(module: str) -> ModuleType:
    """Import `module` or raise one line naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingDependencyError(
            f"campaigns need the {top} package (the campaign extra): {HINT}"
        ) from None
