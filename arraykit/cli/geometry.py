"""``arraykit geometry``: the named arrays and what each layout can tell apart."""

from __future__ import annotations

import argparse
import json

from arraykit.cli._inputs import check_figure_output, geometry_flag, save_figure
from arraykit.geometry import ArrayGeometry, list_geometries, load_geometry


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "geometry",
        help="list named arrays, or show one (layout, spacing, left/right verdict)",
        description="Without NAME_OR_PATH: a table of all named arrays. With a name (or a "
        ".toml / .xml / ODAS .cfg path): its facts.",
    )
    p.add_argument(
        "name",
        nargs="?",
        metavar="NAME_OR_PATH",
        help="a named geometry or a .toml / acoular .xml / ODAS .cfg file",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--plot", metavar="PNG", help="draw the microphones, channel indices and mirror axis/plane"
    )
    p.set_defaults(handler=run)


def verdict(g: ArrayGeometry) -> str:
    """A short left/right verdict for tables."""
    if g.layout == "volumetric":
        return "360° az, full elevation"
    if g.layout == "planar":
        return "360° az; above = below" if g.azimuth_coverage == 360 else "180° az; front = back"
    return "180° az; sides of line mirror" if g.azimuth_coverage else "no azimuth"


def table(names: list[str] | None = None) -> str:
    """The table ``arraykit geometry`` prints."""
    rows = [("name", "mics", "layout", "aperture", "f_alias", "left/right verdict")]
    for name in names if names is not None else list_geometries():
        g = load_geometry(name)
        rows.append(
            (
                name,
                str(g.n_mics),
                g.layout,
                f"{g.aperture * 1000:.0f} mm",
                f"{g.aliasing_frequency():.0f} Hz",
                verdict(g),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.name is None and args.plot:  # refused, not ignored (the table has no picture)
        from arraykit import _validate as v

        why = "draws one array: give NAME_OR_PATH (e.g. arraykit geometry uma-16 --plot uma16.png)"
        raise v.fail("--plot", args.plot, why)
    if args.name is None:
        if args.json:
            print(json.dumps([load_geometry(n).as_dict() for n in list_geometries()], indent=2))
        else:
            print(table())
        return 0
    check_figure_output(args.plot, "--plot")
    g = geometry_flag(args.name, "NAME_OR_PATH")  # an unknown name in the usage line's words
    if args.plot:
        from arraykit.plot import plot_geometry

        fig = plot_geometry(g)
        save_figure(fig, args.plot, dpi=120, bbox_inches="tight")
    if args.json:
        print(json.dumps(g.as_dict(), indent=2))
        return 0
    print(g.describe())
    print(
        f"aperture {g.aperture * 1000:.1f} mm, smallest spacing {g.min_spacing * 1000:.1f} mm, "
        f"spatial aliasing above {g.aliasing_frequency():.0f} Hz"
    )
    print("mic        x (m)      y (m)      z (m)")
    for k, (x, y, z) in enumerate(g.positions):
        print(f"{k:>3}  {x:+.5f}  {y:+.5f}  {z:+.5f}")
    if args.plot:
        print(f"wrote {args.plot}")
    return 0
