"""``arraykit campaign SPEC.toml -o results.parquet``: run a campaign; ``... report`` summarises one."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "campaign",
        help="evaluate arrays × rooms × methods over many simulated scenes (Dask)",
        description=(
            "Run the campaign SPEC.toml into a Parquet table (a directory of part files), "
            "computing only the rows it does not hold yet; or, as "
            "`arraykit campaign report RESULTS`, print its tables (median, p90, confidence "
            "intervals, paired sign tests against pyroomacoustics) and draw the error CDFs."
        ),
    )
    p.add_argument("spec", metavar="SPEC.toml|report", help="campaign spec, or 'report'")
    p.add_argument("results", nargs="?", metavar="RESULTS", help="(report) the result table")
    p.add_argument("-o", "--output", metavar="RESULTS", help="result table to write or complete")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes of the embedded Dask cluster (default: one per core; 0: serial)",
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, tcp://HOST:8786"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--plot", metavar="PNG", help="(report) draw the error CDFs per geometry × method"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from arraykit.cli import UsageError
    from arraykit.cli._inputs import check_figure_output

    if args.spec == "report":
        if not args.results:
            raise UsageError("arraykit campaign report: give the result table (RESULTS)")
        check_figure_output(args.plot, "--plot")  # before the tables are printed
        from arraykit.campaign import plot_cdf, report

        print(report(args.results).markdown(), end="")
        if args.plot:
            plot_cdf(args.results, args.plot)
            print(f"CDFs written to {args.plot}")
        return 0
    if args.results:
        raise UsageError(f"arraykit campaign: unexpected argument {args.results!r}")
    if args.plot:
        raise UsageError("arraykit campaign: --plot draws a table's CDFs: use it with report")
    if not args.output:
        raise UsageError("arraykit campaign: give the result table with -o RESULTS")
    if args.workers is not None and args.workers < 0:
        raise UsageError(f"arraykit campaign: --workers={args.workers}: must be >= 0")
    from arraykit.campaign import load_spec
    from arraykit.campaign import run as run_campaign
    from arraykit.errors import InvalidArgumentError

    spec = load_spec(args.spec)
    try:
        s = run_campaign(
            spec,
            args.output,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=not args.no_progress,
        )
    except InvalidArgumentError as exc:  # in the flags' words
        flags = {"scheduler": "--scheduler", "workers": "--workers", "output": "-o"}
        raise (exc.renamed(flags[exc.name]) if exc.name in flags else exc) from None
    print(
        f"{spec.name}: {s.scenes} scenes in {len(spec.cells)} cells; {s.skipped} already in "
        f"{args.output}, {s.computed} computed in {s.seconds:.1f} s, {s.failed_rows} failed rows"
        + (f", {s.lost} scenes lost (rerun to retry them)" if s.lost else "")
    )
    return 0 if s.lost == 0 else 1
