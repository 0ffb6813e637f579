"""Campaigns: arrays × rooms × talkers × methods over many seeded scenes, on Dask.

A spec (TOML, :func:`load_spec`) names geometries, room distributions, talker
counts, DOA methods and beamformers and a number of scenes per cell;
:func:`run` renders every scene with :mod:`arraykit.sim`, runs every method on it
(and pyroomacoustics' own DOA methods on the same scene, when asked) and appends one
row per scene × method to a Parquet table as scenes finish — serially, on an
embedded ``distributed.LocalCluster`` or on an existing Dask cluster;
:func:`report` summarises the table (median, p90 and their confidence intervals per
cell; paired sign tests against pyroomacoustics) and :func:`plot_cdf` draws the error
CDFs. Needs the ``campaign`` extra (``pip install 'arraykit[campaign]'``).

>>> import arraykit as ak
>>> spec = ak.campaign.load_spec('''
... [campaign]
... seeds = 2
... geometries = ["respeaker-usb-4mic"]
... doa = ["srp-phat"]
... ''')
>>> len(spec.cells), spec.n_scenes
(1, 2)
"""

from __future__ import annotations

from arraykit.campaign.report import Report, plot_cdf, report
from arraykit.campaign.run import RunSummary, expected_methods, run, scene_rows
from arraykit.campaign.spec import Cell, Spec, load_spec
from arraykit.campaign.table import TIMING_COLUMNS, ResultTable, read_results

__all__ = [
    "TIMING_COLUMNS",
    "Cell",
    "Report",
    "ResultTable",
    "RunSummary",
    "Spec",
    "expected_methods",
    "load_spec",
    "plot_cdf",
    "read_results",
    "report",
    "run",
    "scene_rows",
]
