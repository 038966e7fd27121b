"""Experiments at scale: sweeps of ordinary runs over settings and seeds, their backends
(local processes or Ray), Optuna searches, and the statistics and plots that compare them.

One module per responsibility: `spec` (the sweep file and its trials), `state` (what each
trial's run directory says about it), `backends` (where trials run), `runner` (the scheduling
loop), `results` (metrics files grouped by setting), `stats`, `plotting` and `tune`.
"""
