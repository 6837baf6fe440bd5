"""The ``tailor`` command: one Typer app with ``--version``, every command module merged in.

Each module holds its commands on a Typer app of its own; ``add_typer`` without a name puts
them at the top level (``tailor render``, not ``tailor render render``), in the order below.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from renderer.cli import campaign, preview, render, report, sample_data, service, triggers, validate
from renderer.cli.common import out

app = typer.Typer(
    help="Tailor: personalized microsites, PDFs and videos for every customer.",
    no_args_is_help=True,
    add_completion=False,
)
for commands in (
    validate.app,
    triggers.app,
    render.app,
    campaign.app,
    report.app,
    preview.app,
    sample_data.app,
    service.app,
):
    app.add_typer(commands)


def _version(value: bool) -> None:
    if value:
        try:
            number = version("tailor")
        except PackageNotFoundError:
            number = "0.0.0 (not installed)"
        out.print(f"tailor {number}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """Tailor: personalized microsites, PDFs and videos for every customer."""


def main() -> None:
    """Entry point of ``python -m renderer`` and the ``tailor`` script."""
    app()
