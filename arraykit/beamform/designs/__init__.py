"""The built-in beamformer designs, one module each; :mod:`arraykit.beamform.registry` lists them.

Adding one: a module here with a kernel and ``DESIGN = BeamDesign(needs=..., kernel=...)``,
and one line in :data:`BUILTINS` (or, from outside the package,
:func:`arraykit.beamform.register_design`).
"""

from __future__ import annotations

from arraykit.beamform.designs import das, gev, lcmv, mpdr, mvdr, superdirective
from arraykit.beamform.designs._base import Design

BUILTINS: tuple[tuple[str, Design], ...] = (
    ("das", das.DESIGN),
    ("mvdr", mvdr.DESIGN),
    ("mpdr", mpdr.DESIGN),
    ("superdirective", superdirective.DESIGN),
    ("lcmv", lcmv.DESIGN),
    ("gev", gev.DESIGN),
)
"""(name, design) in the order every method list shows them."""

__all__ = ["BUILTINS"]
