"""The built-in DOA methods, one module each; registering one is one line here.

Each module holds its map (kernel or an import of it), its slow reference and its
:class:`arraykit.doa.registry.DOAMethod`. The order is the order of ``ak.doa.METHODS``.
"""

from __future__ import annotations

from arraykit.doa.methods import cssm, music, normmusic, srp_phat, tdoa_ls, tops, waves
from arraykit.doa.registry import register_method

register_method("srp-phat", srp_phat.METHOD)
register_method("music", music.METHOD)
register_method("normmusic", normmusic.METHOD)
register_method("tops", tops.METHOD)
register_method("tdoa-ls", tdoa_ls.METHOD)
register_method("cssm", cssm.METHOD)
register_method("waves", waves.METHOD)
