"""``tailor preview TEMPLATE``: the local studio — page, PDF and draft video of every sample,
live on every save, with a data editor, every locale side by side and a pre-flight check."""

from __future__ import annotations

from typing import Annotated

import typer

from renderer.cli.common import OutOpt, cli_settings, console, fail, out, output_or_exit
from renderer.errors import TailorError

app = typer.Typer()


@app.command()
def preview(
    template: Annotated[str, typer.Argument(help="Template name or folder")],
    port: Annotated[int, typer.Option(help="TCP port (0: any free port)")] = 8765,
    host: Annotated[
        str, typer.Option(help="Interface to listen on (loopback unless --allow-remote)")
    ] = "127.0.0.1",
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback --host (sample data is personal)")
    ] = False,
    out_dir: OutOpt = None,
) -> None:
    """Start the preview studio for TEMPLATE and print its address; Ctrl-C stops it."""
    import uvicorn

    from renderer.outputs.kind import RenderOptions
    from renderer.preview.app import LOOPBACK_HOSTS, create_preview_app
    from renderer.preview.draft_storage import DraftStorage
    from renderer.preview.serve import bind_socket, served_hosts, studio_url
    from renderer.preview.studio import Studio

    settings = cli_settings(storage_url=out_dir)
    storage = output_or_exit(settings)  # the scene cache final renders use
    try:
        sock = bind_socket(host, port, allow_remote=allow_remote)
    except TailorError as exc:
        raise fail(exc) from None
    studio = Studio(template, settings, DraftStorage(storage))
    change = studio.reload()
    for problem in change.problems:
        console.print(
            f"[bold red]error:[/] {problem['file'] or template}:{problem['line'] or ''} {problem['message']}"
        )
    options = RenderOptions.from_settings(settings, draft=True)
    hosts = served_hosts(host) if allow_remote else LOOPBACK_HOSTS
    if "*" in hosts:
        console.print(f"[yellow]warning:[/] {host} listens everywhere: any Host name is answered")
    app_ = create_preview_app(studio, options, hosts=hosts)
    out.print(f"Tailor preview of {template}: {studio_url(sock)}", highlight=False)
    config = uvicorn.Config(
        app_, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        studio.storage.close()
