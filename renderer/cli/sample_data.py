"""``tailor sample-data TEMPLATE``: deterministic synthetic recipients (CSV or JSON Lines).

The same template, row count and seed always give the same rows (demos, benchmarks); locales
are the template's sample names that are locales, else the contract's default locale.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from renderer.cli.common import cli_settings, console, load_or_exit
from renderer.data.synthetic import sample_locales, synthetic_rows

app = typer.Typer()


@app.command("sample-data")
def sample_data(
    template: Annotated[str, typer.Argument(help="Template name or folder")],
    rows: Annotated[int, typer.Option("--rows", min=1, help="How many recipients")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same rows")] = 1,
    output: Annotated[
        Path | None, typer.Option("--out", help=".csv or .jsonl file (default: CSV on stdout)")
    ] = None,
) -> None:
    """Write deterministic synthetic recipients for demos and benchmarks."""
    loaded = load_or_exit(template, cli_settings())
    contract = loaded.manifest.contract
    locales = sample_locales(loaded.samples, contract.default_locale)
    generated = synthetic_rows(contract, locales, rows, seed)
    jsonl = output is not None and output.suffix.lower() in (".jsonl", ".ndjson")
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if jsonl:
            for row in generated:
                handle.write(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(handle, fieldnames=list(contract.fields), lineterminator="\n")
            writer.writeheader()
            for row in generated:
                writer.writerow({key: _cell(value) for key, value in row.items()})
    finally:
        if output:
            handle.close()
    if output:
        console.print(f"wrote {rows} recipients to {output}")


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _json_default(value) if isinstance(value, dt.date | Decimal) else str(value)


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date | Decimal):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    raise TypeError(type(value).__name__)
