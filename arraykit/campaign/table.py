"""The result table: a Parquet dataset directory that always holds every finished scene.

Layout: ``results.parquet/`` is a directory of Parquet files (``part-*.parquet``),
readable as one table by pyarrow (``pyarrow.parquet.read_table(path)``), pandas,
polars or DuckDB. Each finished scene is written as its own part file, first to a
hidden temporary name (``.tmp-*``, which readers skip) and then renamed into place
(``os.replace``, atomic on POSIX): a Ctrl-C or a SIGKILL at any moment leaves either
the whole scene or none of it. :meth:`ResultTable.compact` merges the parts into one
file (written the same way) and only then removes them; if it is killed between the
two steps, the rows it merged are on disk twice, which :meth:`ResultTable.read`
drops (rows are keyed by cell, scene, library and method, and a key's rows are
identical by construction) and the next compaction clears. One campaign writes to a
table at a time.

Columns: the cell (``cell`` id, ``geometry``, ``condition``, ``sources``), the scene
(``scene`` index, ``seed`` as hex, the drawn ``rt60``, ``snr_db``, ``distance``,
``room_dim``), the method (``kind`` "doa" | "beamformer", ``library``, ``method``,
and ``version``: the library's version that computed the row, for arraykit run from a
git checkout with its commit, e.g. ``"0.1.0+g87d0637"``, ``".dirty"`` added when the
checkout had uncommitted changes; null in tables written before the column existed),
``status`` ("ok" | "failed") and ``error``, the true and estimated directions,
``errors_deg`` (per true talker, best assignment; a line's mirror counts as right;
a talker left unfound counts 180°), ``error_deg`` (their mean), ``snr_gain_db`` and
``si_sdr_gain_db`` for beamformers, and ``render_s`` / ``method_s``: the wall-clock
times, **the only columns that differ between runs** (:data:`TIMING_COLUMNS`).
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arraykit import _validate as v
from arraykit.campaign._deps import need

__all__ = ["KEY_COLUMNS", "TIMING_COLUMNS", "ResultTable", "read_results", "schema"]

KEY_COLUMNS = ("cell", "scene", "kind", "library", "method")
TIMING_COLUMNS = ("render_s", "method_s")
_PART = "part-"


def schema() -> Any:
    """The Arrow schema of a campaign table."""
    pa = need("pyarrow")

    f64, lst = pa.float64(), pa.list_(pa.float64())
    return pa.schema(
        [
            ("campaign", pa.string()),
            ("cell", pa.string()),
            ("geometry", pa.string()),
            ("condition", pa.string()),
            ("sources", pa.int32()),
            ("scene", pa.int32()),
            ("seed", pa.string()),
            ("rt60", f64),
            ("snr_db", f64),
            ("distance", f64),
            ("room_dim", lst),
            ("kind", pa.string()),
            ("library", pa.string()),
            ("method", pa.string()),
            ("version", pa.string()),
            ("status", pa.string()),
            ("error", pa.string()),
            ("true_azimuth", lst),
            ("true_elevation", lst),
            ("est_azimuth", lst),
            ("est_elevation", lst),
            ("errors_deg", lst),
            ("error_deg", f64),
            ("snr_gain_db", f64),
            ("si_sdr_gain_db", f64),
            ("render_s", f64),
            ("method_s", f64),
        ]
    )


class ResultTable:
    """A campaign's Parquet dataset directory (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # one look (a run's writability check makes and removes the folder: exists() then
        # is_dir() could see it made, then gone, and call it a file)
        try:
            is_file = not stat.S_ISDIR(self.path.stat().st_mode)
        except (FileNotFoundError, NotADirectoryError):
            is_file = False
        if is_file:
            raise v.fail(
                "output", str(path), "exists and is not a directory (a campaign table is one)"
            )

    def check_writable(self) -> None:
        """Refuse, before any scene is computed, a folder holding other files than a
        table's (parts, and the hidden temporaries of an interrupted run), and one that
        cannot be made (tried, and removed again: nothing is left if the run stops)."""
        if self.path.is_dir():
            other = sorted(
                p.name for p in self.path.iterdir() if not p.name.startswith((_PART, "."))
            )
            if other:
                shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
                raise v.fail(
                    "output",
                    str(self.path),
                    f"holds {shown}, not a campaign table's parts: give a new folder (or "
                    "the table of an earlier run of the spec, to resume it)",
                )
            return
        try:
            self.path.mkdir()
            self.path.rmdir()
        except OSError as exc:
            why = f"cannot be made a folder: {exc.strerror}"
            raise v.fail("output", str(self.path), why) from None

    def parts(self) -> list[Path]:
        # read while a run may be making its folder (its writability check makes and
        # removes it): a folder gone between the check and the listing has no parts
        try:
            return sorted(p for p in self.path.iterdir() if p.name.startswith(_PART))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write `rows` (one scene) as a new part file, atomically."""
        pa = need("pyarrow")

        if not rows:
            return
        self._write(pa.Table.from_pylist(list(rows), schema=schema()))

    def _write(self, table: Any) -> Path:
        pq = need("pyarrow.parquet")

        self.path.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        tmp = self.path / f".tmp-{name}.parquet"
        final = self.path / f"{_PART}{name}.parquet"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
        return final

    def read(self) -> Any:
        """Every row, each key once, sorted by cell, scene, kind, library and method."""
        pa = need("pyarrow")
        pq = need("pyarrow.parquet")

        parts = self.parts()
        if not parts:
            return schema().empty_table()
        table = pa.concat_tables([pq.read_table(p, schema=schema()) for p in parts])
        cols = [table.column(c).to_pylist() for c in KEY_COLUMNS]
        seen: set[tuple[Any, ...]] = set()
        keep = []
        for i, key in enumerate(zip(*cols, strict=True)):
            if key not in seen:
                seen.add(key)
                keep.append(i)
        if len(keep) < table.num_rows:
            table = table.take(pa.array(keep, type=pa.int64()))
        return table.sort_by([(c, "ascending") for c in KEY_COLUMNS])

    def keys(self) -> set[tuple[Any, ...]]:
        """The (cell, scene, kind, library, method) of every row on disk."""
        pq = need("pyarrow.parquet")

        out: set[tuple[Any, ...]] = set()
        for p in self.parts():
            t = pq.read_table(p, columns=list(KEY_COLUMNS))
            out.update(zip(*(t.column(c).to_pylist() for c in KEY_COLUMNS), strict=True))
        return out

    def cells(self) -> set[tuple[str, str, str, int]]:
        """The (cell id, geometry, condition, sources) of every cell with rows on disk."""
        pq = need("pyarrow.parquet")

        cols = ["cell", "geometry", "condition", "sources"]
        out: set[tuple[str, str, str, int]] = set()
        for p in self.parts():
            t = pq.read_table(p, columns=cols)
            out.update(zip(*(t.column(c).to_pylist() for c in cols), strict=True))
        return out

    def compact(self) -> None:
        """Merge every part into one file; the old parts go only after it is in place."""
        parts = self.parts()
        if len(parts) < 2:
            return
        self._write(self.read())
        for p in parts:
            p.unlink(missing_ok=True)


def read_results(path: str | Path) -> Any:
    """A campaign table as one ``pyarrow.Table`` (each row once, sorted)."""
    p = Path(path)
    if not p.is_dir():
        raise v.fail("results", str(path), "no such campaign table (a directory of Parquet parts)")
    return ResultTable(p).read()
