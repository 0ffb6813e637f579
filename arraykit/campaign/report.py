"""Summaries of a campaign table: medians, 90th percentiles, confidence intervals, paired tests, CDFs.

- **Per cell** (geometry × condition × talkers × library × method) the median and
  the 90th percentile of the per-talker DOA errors, each with a percentile-bootstrap
  confidence interval that resamples *scenes* (a scene's talkers stay together, so
  the interval is honest for two-talker scenes whose errors are not independent);
  pooled over the geometries likewise. Beamformers: the median SNR and SI-SDR gains
  with the same intervals.
- **arraykit against pyroomacoustics**: on the same scenes, a paired two-sided sign
  test on the per-scene errors (ties dropped); a difference is called significant
  when its Holm-adjusted p-value (over all the comparisons of that table) is below
  0.05.
- :func:`plot_cdf` draws the empirical error CDFs per geometry × method.

The bootstrap uses a fixed seed: the same table gives the same report.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arraykit import _validate as v
from arraykit.campaign.table import ResultTable, read_results

__all__ = ["BeamStat", "Comparison", "ErrorStat", "Report", "plot_cdf", "report"]

Interval = tuple[float, float]


@dataclass(frozen=True)
class ErrorStat:
    """DOA errors (degrees) of one method in one cell (``geometry == "pooled"`` when pooled)."""

    geometry: str
    condition: str
    sources: int
    library: str
    method: str
    scenes: int
    failed: int
    median: float
    median_ci: Interval
    p90: float
    p90_ci: Interval


@dataclass(frozen=True)
class BeamStat:
    """Beamformer gains (dB) toward talker 0 in one cell."""

    geometry: str
    condition: str
    sources: int
    method: str
    scenes: int
    failed: int
    snr_gain: float
    snr_gain_ci: Interval
    si_sdr_gain: float
    si_sdr_gain_ci: Interval


@dataclass(frozen=True)
class Comparison:
    """Paired sign test, arraykit against pyroomacoustics, on the same scenes."""

    geometry: str
    condition: str
    sources: int
    method: str
    pairs: int
    better: int
    worse: int
    p_value: float
    p_holm: float

    @property
    def significant(self) -> bool:
        return self.p_holm < 0.05

    @property
    def verdict(self) -> str:
        if not self.significant:
            return "no significant difference"
        return "arraykit better" if self.better > self.worse else "pyroomacoustics better"


@dataclass(frozen=True)
class Report:
    """Everything :func:`report` computed; :meth:`markdown` prints it as tables."""

    doa: tuple[ErrorStat, ...]
    pooled: tuple[ErrorStat, ...]
    beamformers: tuple[BeamStat, ...]
    comparisons: tuple[Comparison, ...]
    pooled_comparisons: tuple[Comparison, ...]
    failures: tuple[tuple[str, str, int, str, str, int, str], ...]
    confidence: float
    versions: tuple[tuple[str, str, int], ...] = ()
    """``(library, version, rows)``: which code computed the rows (``"unrecorded"`` for
    rows written before tables had a ``version`` column)."""

    def markdown(self) -> str:
        out: list[str] = []
        ci = f"{100 * self.confidence:g}% CI"
        if self.pooled:
            for k in sorted({s.sources for s in self.pooled}):
                out.append(f"### DOA error, {k} talker(s), pooled over the geometries\n")
                out += _doa_table(
                    [s for s in self.pooled if s.sources == k],
                    [c for c in self.pooled_comparisons if c.sources == k],
                    ci,
                    pooled=True,
                )
                out.append("")
        if self.doa:
            for k in sorted({s.sources for s in self.doa}):
                out.append(f"### DOA error, {k} talker(s), per geometry and condition\n")
                out += _doa_table(
                    [s for s in self.doa if s.sources == k],
                    [c for c in self.comparisons if c.sources == k],
                    ci,
                    pooled=False,
                )
                out.append("")
        if self.beamformers:
            out.append("### Beamformers: gains toward talker 0 at its true direction\n")
            out.append(
                f"| geometry | condition | talkers | method | scenes | SNR gain median (dB) [{ci}] "
                f"| SI-SDR gain median (dB) [{ci}] |"
            )
            out.append("|---|---|---:|---|---:|---:|---:|")
            for b in self.beamformers:
                out.append(
                    f"| {b.geometry} | {b.condition} | {b.sources} | {b.method} | {b.scenes} | "
                    f"{b.snr_gain:.1f} {_ci(b.snr_gain_ci)} | {b.si_sdr_gain:.1f} {_ci(b.si_sdr_gain_ci)} |"
                )
            out.append("")
        if self.failures:
            out.append("### Failed rows\n")
            out.append("| geometry | condition | talkers | library | method | rows | first error |")
            out.append("|---|---|---:|---|---|---:|---|")
            for f in self.failures:
                out.append("| " + " | ".join(str(x) for x in f) + " |")
            out.append("")
        if self.versions:
            out.append("### Code that computed the rows\n")
            out.append("| library | version | rows |")
            out.append("|---|---|---:|")
            for lib, ver, n in self.versions:
                out.append(f"| {lib} | {ver} | {n} |")
            out.append("")
        return "\n".join(out).rstrip() + "\n"


def _ci(iv: Interval) -> str:
    return f"[{iv[0]:.1f}, {iv[1]:.1f}]"


def _doa_table(
    stats: list[ErrorStat], comps: list[Comparison], ci: str, *, pooled: bool
) -> list[str]:
    by = {(s.geometry, s.condition, s.method, s.library): s for s in stats}
    cmp = {(c.geometry, c.condition, c.method): c for c in comps}
    lead = "| condition |" if pooled else "| geometry | condition |"
    rule = "|---|" if pooled else "|---|---|"
    rows = [
        f"{lead} method | scenes | arraykit median [{ci}] | arraykit p90 [{ci}] | "
        f"pyroomacoustics median [{ci}] | pyroomacoustics p90 [{ci}] | "
        "paired sign test: arraykit better / worse, Holm p |",
        f"{rule}---|---:|---:|---:|---:|---:|---|",
    ]
    for (geo, cond, method, lib), s in by.items():
        if lib != "arraykit":
            continue
        peer = by.get((geo, cond, method, "pyroomacoustics"))
        c = cmp.get((geo, cond, method))
        theirs = (
            f"{peer.median:.1f} {_ci(peer.median_ci)} | {peer.p90:.1f} {_ci(peer.p90_ci)}"
            if peer
            else "— | —"
        )
        test = "—"
        if c is not None:
            mark = {"arraykit better": " **ours**", "pyroomacoustics better": " **theirs** ⚠"}
            test = f"{c.better} / {c.worse}, p = {c.p_holm:.2g}{mark.get(c.verdict, '')}"
        where = f"| {cond} |" if pooled else f"| {geo} | {cond} |"
        rows.append(
            f"{where} {method} | {s.scenes} | {s.median:.1f} {_ci(s.median_ci)} | "
            f"{s.p90:.1f} {_ci(s.p90_ci)} | {theirs} | {test} |"
        )
    return rows


def _bootstrap(
    per_scene: list[list[float]], qs: tuple[float, ...], n_boot: int, confidence: float, seed: int
) -> list[tuple[float, Interval]]:
    """Each quantile of the pooled values, with a percentile bootstrap CI over scenes."""
    lens = {len(x) for x in per_scene}
    flat = np.concatenate([np.asarray(x, float) for x in per_scene])
    point = [float(np.percentile(flat, 100 * q)) for q in qs]
    rng = np.random.default_rng(seed)
    n = len(per_scene)
    if len(lens) == 1:  # every scene has as many values: one matrix, vectorised
        E = np.asarray(per_scene, float)  # (S, K)
        idx = rng.integers(0, n, size=(n_boot, n))
        boot = np.percentile(E[idx].reshape(n_boot, -1), [100 * q for q in qs], axis=1)  # (Q, B)
    else:
        boot = np.empty((len(qs), n_boot))
        for b in range(n_boot):
            pick = np.concatenate([per_scene[i] for i in rng.integers(0, n, size=n)])
            boot[:, b] = np.percentile(pick, [100 * q for q in qs])
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha], axis=1)
    return [(p, (float(a), float(b))) for p, a, b in zip(point, lo, hi, strict=True)]


def _holm(p: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone)."""
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj.tolist()


def report(results: Any, *, confidence: float = 0.95, n_boot: int = 2000, seed: int = 0) -> Report:
    """Summarise a campaign table (a path, a :class:`ResultTable` or a ``pyarrow.Table``)."""
    from scipy.stats import binomtest

    confidence = v.fraction("confidence", confidence, "(0", "1)")
    rows = _rows(results)
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[
            (r["geometry"], r["condition"], r["sources"], r["kind"], r["library"], r["method"])
        ].append(r)

    def err_stat(
        geo: str, cond: str, k: int, lib: str, m: str, rs: list[dict[str, Any]]
    ) -> ErrorStat | None:
        ok = [r["errors_deg"] for r in rs if r["status"] == "ok"]
        if not ok:
            return None
        (med, med_ci), (p90, p90_ci) = _bootstrap(ok, (0.5, 0.9), n_boot, confidence, seed)
        return ErrorStat(geo, cond, k, lib, m, len(ok), len(rs) - len(ok), med, med_ci, p90, p90_ci)

    doa, beams, failures = [], [], []
    pooled_rows: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for (geo, cond, k, kind, lib, m), rs in groups.items():
        bad = [r for r in rs if r["status"] != "ok"]
        if bad:
            failures.append((geo, cond, k, lib, m, len(bad), bad[0]["error"] or ""))
        if kind == "doa":
            s = err_stat(geo, cond, k, lib, m, rs)
            if s:
                doa.append(s)
            pooled_rows[(cond, k, lib, m)].extend(rs)
        else:
            ok = [r for r in rs if r["status"] == "ok"]
            if not ok:
                continue
            ((snr, snr_ci),) = _bootstrap(
                [[r["snr_gain_db"]] for r in ok], (0.5,), n_boot, confidence, seed
            )
            ((sdr, sdr_ci),) = _bootstrap(
                [[r["si_sdr_gain_db"]] for r in ok], (0.5,), n_boot, confidence, seed
            )
            beams.append(
                BeamStat(geo, cond, k, m, len(ok), len(rs) - len(ok), snr, snr_ci, sdr, sdr_ci)
            )
    pooled = []
    if len({r["geometry"] for r in rows}) > 1:
        for (cond, k, lib, m), rs in pooled_rows.items():
            s = err_stat("pooled", cond, k, lib, m, rs)
            if s:
                pooled.append(s)

    def compare(
        keyed: dict[tuple[Any, ...], list[dict[str, Any]]], geo_of: Any
    ) -> list[Comparison]:
        raw = []
        for key, rs in keyed.items():
            ours = {
                (r["cell"], r["scene"]): r
                for r in rs
                if r["library"] == "arraykit" and r["status"] == "ok"
            }
            theirs = {
                (r["cell"], r["scene"]): r
                for r in rs
                if r["library"] == "pyroomacoustics" and r["status"] == "ok"
            }
            common = sorted(set(ours) & set(theirs))
            if not common:
                continue
            d = np.array([ours[c]["error_deg"] - theirs[c]["error_deg"] for c in common])
            better, worse = int(np.sum(d < -1e-9)), int(np.sum(d > 1e-9))
            p = binomtest(better, better + worse, 0.5).pvalue if better + worse else 1.0
            raw.append((geo_of(key), key, len(common), better, worse, float(p)))
        adj = _holm([x[-1] for x in raw]) if raw else []
        return [
            Comparison(geo, key[-3], key[-2], key[-1], n, b, w, p, pa)
            for (geo, key, n, b, w, p), pa in zip(raw, adj, strict=True)
        ]

    by_cell: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    by_pool: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["kind"] == "doa":
            by_cell[(r["geometry"], r["condition"], r["sources"], r["method"])].append(r)
            by_pool[("pooled", r["condition"], r["sources"], r["method"])].append(r)
    comparisons = compare(by_cell, lambda key: key[0])
    pooled_cmp = compare(by_pool, lambda key: "pooled") if pooled else []
    # conditions from the quietest to the most reverberant, then names
    rt: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        rt[r["condition"]].append(r["rt60"] if r["rt60"] is not None else 0.0)
    order = {c: (float(np.mean(v)), c) for c, v in rt.items()}

    def key(x: Any) -> tuple[Any, ...]:
        return (x.sources, x.geometry, order[x.condition], x.method, getattr(x, "library", ""))

    return Report(
        doa=tuple(sorted(doa, key=key)),
        pooled=tuple(sorted(pooled, key=key)),
        beamformers=tuple(sorted(beams, key=key)),
        comparisons=tuple(sorted(comparisons, key=key)),
        pooled_comparisons=tuple(sorted(pooled_cmp, key=key)),
        failures=tuple(failures),
        confidence=confidence,
        versions=tuple(
            (lib, ver, n)
            for (lib, ver), n in sorted(
                Counter((r["library"], r.get("version") or "unrecorded") for r in rows).items()
            )
        ),
    )


def _rows(results: Any) -> list[dict[str, Any]]:
    if isinstance(results, str | Path):
        table = read_results(results)
    elif isinstance(results, ResultTable):
        table = results.read()
    else:
        table = results
    if not hasattr(table, "to_pylist"):
        raise v.fail("results", results, "must be a campaign table path or a pyarrow Table")
    rows: list[dict[str, Any]] = table.to_pylist()
    if not rows:
        raise v.fail(
            "results", str(results) if isinstance(results, str | Path) else "table", "holds no rows"
        )
    return rows


def plot_cdf(
    results: Any, path: str | Path | None = None, *, methods: Iterable[str] | None = None
) -> Any:
    """Empirical CDFs of the DOA errors: one panel per geometry × method.

    One curve per condition and talker count; arraykit solid, pyroomacoustics dashed
    in the same colour. Saved to `path` when given; returns the figure.
    """
    from arraykit.plot._mpl import pyplot

    plt = pyplot()
    rows = [r for r in _rows(results) if r["kind"] == "doa" and r["status"] == "ok"]
    if not rows:
        raise v.fail("results", "table", "holds no successful DOA rows to plot")
    geos = list(dict.fromkeys(r["geometry"] for r in rows))
    meths = list(methods) if methods is not None else list(dict.fromkeys(r["method"] for r in rows))
    curves = list(dict.fromkeys((r["condition"], r["sources"]) for r in rows))
    data: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for r in rows:
        data[(r["geometry"], r["method"], r["condition"], r["sources"], r["library"])].extend(
            r["errors_deg"]
        )
    fig, axes = plt.subplots(
        len(geos), len(meths), figsize=(3.2 * len(meths), 2.6 * len(geos)), squeeze=False,
        sharex=True, sharey=True,
    )  # fmt: skip
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (i, geo), (j, m) in ((a, b) for a in enumerate(geos) for b in enumerate(meths)):
        ax = axes[i][j]
        for n, (cond, k) in enumerate(curves):
            for lib, style in (("arraykit", "-"), ("pyroomacoustics", "--")):
                e = np.sort(np.maximum(data.get((geo, m, cond, k, lib), []), 1e-2))
                if e.size == 0:
                    continue
                label = (
                    f"{cond or 'all'}, {k} talker{'s' if k > 1 else ''}"
                    if lib == "arraykit"
                    else None
                )
                ax.step(e, np.arange(1, e.size + 1) / e.size, style, where="post",
                        color=colors[n % len(colors)], label=label, lw=1.2)  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlim(0.05, 180)
        ax.grid(True, which="both", alpha=0.3)
        if i == 0:
            ax.set_title(m)
        if j == 0:
            ax.set_ylabel(f"{geo}\nfraction of talkers")
        if i == len(geos) - 1:
            ax.set_xlabel("DOA error (°)")
    axes[0][0].legend(fontsize=7, loc="lower right", title="solid arraykit, dashed pyroomacoustics",
                      title_fontsize=7)  # fmt: skip
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
