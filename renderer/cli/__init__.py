"""The command line (Typer + Rich): ``tailor validate | triggers | render | campaign | report |
preview | sample-data | serve | worker | purge | api-key``.

Every command reads the same `Settings` (environment variables with the ``TAILOR_`` prefix),
with command options layered on top. Errors print one clear line and exit non-zero.

    root.py          the ``tailor`` app: --version, every module below merged at the top level
    common.py        consoles, settings, failing with one line, where outputs and reports go
    validate.py      tailor validate: lint a template, render every sample in memory
    preflight_view.py  tailor validate --preflight: the pre-flight findings and render cost, printed
    triggers.py      tailor triggers test | list: golden cases of the trigger library; decision trees
    render.py        tailor render: one recipient now (--explain: why it got what it got)
    campaign.py      tailor campaign: a CSV/JSONL file on the local process pool, with progress
    report.py        tailor report: a campaign's engagement metrics, charts and CSV
    preview.py       tailor preview: the local studio (renderer/preview), live on every save
    sample_data.py   tailor sample-data: deterministic synthetic recipients
    service.py       tailor serve | worker | purge | api-key
"""

from __future__ import annotations

from renderer.cli.root import app, main

__all__ = ["app", "main"]
