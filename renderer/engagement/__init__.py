"""Engagement: what recipients' pages report (events in) and what it adds up to (metrics out).

    events.py    the event schema: a page's batch (`ClientBatch`, `ClientEvent`), the kinds, the
                 per-kind rules checked against the template's declared ids (`Declared`), and the
                 pure step from a validated batch to stored `EventRecord`s (`to_records`)
    limits.py    token-bucket rate limits per page token and per client address (`EventLimits`)
    writer.py    group commit: one thread stores every waiting batch in one transaction (`EventWriter`)
    ingest.py    what one API process keeps: limits, a cache of resolved links, the writer
    metrics.py   pure: events -> `EngagementReport` (the formulas in README "Engagement metrics")
    report.py    a campaign's report read from the store (pages delivered, the template's layout)
    export.py    one row per metric (CSV)    charts.py    the funnel and drop-off charts (SVG, PNG)
    experiments.py       pure: counts per variant key -> `ExperimentReport` (arms, lifts, Holm, SRM)
    experiment_stats.py  the standard tests over scipy/statsmodels (intervals, z test, MDE, chi-square)
    sequential.py        the always-valid mixture SPRT (Johari et al. 2017), vectorised over numpy
    experiment_views.py  the report as flat rows and Rich tables
    experiment_page.py   the report as an HTML page (report_page/: Jinja template and stylesheet)

The HTTP edge is ``renderer.api.routes.events`` (``POST /events``); the rows live in the job
store (``store.events``), which only the writer thread touches.
"""
