"""Lazy matplotlib import with an install hint."""

from __future__ import annotations

from typing import Any


def pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib (part of arraykit's default install): pip install matplotlib"
        ) from exc
    return plt
