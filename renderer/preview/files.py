"""The studio's file routes: rendered files from the shelf, the microsite's hashed static files,
the studio's own page files, and source files of the template and shared assets — every one
refused (404) outside what it serves, whatever the path spells."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from renderer.outputs.microsite import MICROSITE
from renderer.outputs.player import page_csp
from renderer.outputs.render import prepared_output
from renderer.preview.shelf import Shelf
from renderer.preview.studio import Studio

STATIC = Path(__file__).parent / "static"
STUDIO_FILES = {path.name: path for path in STATIC.iterdir() if path.is_file()}
NOT_FOUND = Response("not found", status_code=404, media_type="text/plain")
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def studio_file(request: Request) -> Response:
    """One of the studio's own files (its page, script, stylesheet), by name only, under the
    studio page's own policy (a page of it framed by no other site)."""
    path = STUDIO_FILES.get(request.path_params["name"])
    headers = {**NO_STORE, "Content-Security-Policy": frame_csp()}
    return FileResponse(path, headers=headers) if path else NOT_FOUND


def rendered_file(request: Request) -> Response:
    """A file of a preview render, with the recipient page's own Content-Security-Policy on pages
    (what works in the studio works when served to a recipient)."""
    shelf: Shelf = request.app.state.shelf
    studio: Studio = request.app.state.studio
    file = shelf.get(request.path_params["render"], request.path_params["name"])
    if file is None:
        return NOT_FOUND
    headers = dict(NO_STORE)
    if file.content_type.startswith("text/html") and studio.template is not None:
        headers["Content-Security-Policy"] = page_csp(studio.template.manifest.interactions)
    return ranged(file.data, file.content_type, headers, request.headers.get("range"))


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def ranged(data: bytes, media_type: str, headers: dict[str, str], asked: str | None) -> Response:
    """`data` whole (200), or the one byte range a ``Range`` header asks for (206; 416 when it
    lies outside): a player seeks a video only when its server answers ranges. Several ranges
    in one header are answered whole."""
    headers = {**headers, "Accept-Ranges": "bytes"}
    match = _RANGE.match(asked.strip()) if asked else None
    if match is None or match.groups() == ("", ""):
        return Response(data, media_type=media_type, headers=headers)
    first, last = match.groups()
    size = len(data)
    start, end = (
        (int(first), min(int(last or size - 1), size - 1)) if first else (max(0, size - int(last)), size - 1)
    )
    if start >= size or start > end:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(data[start : end + 1], status_code=206, media_type=media_type, headers=headers)


def microsite_static(request: Request) -> Response:
    """A content-hashed static file of the template's microsite (what ``../../_static/<name>``
    links from a rendered page)."""
    studio: Studio = request.app.state.studio
    template = studio.template
    if template is None or template.manifest.outputs.microsite is None:
        return NOT_FOUND
    name = request.path_params["name"]
    for asset in prepared_output(template, MICROSITE).static.values():
        if asset.hashed_name == name:
            return Response(asset.data, media_type=asset.content_type, headers=NO_STORE)
    return NOT_FOUND


def inside(root: Path, relative: str) -> Path | None:
    """The file `relative` names under `root`, or None when it resolves (links followed) to
    anything outside `root` or to no regular file."""
    if "\x00" in relative or relative.startswith(("/", "\\")):
        return None
    base = root.resolve()
    path = (base / relative).resolve()
    return path if path.is_relative_to(base) and path.is_file() else None


def source_file(request: Request) -> Response:
    """A file of the template folder (``/source/template/<path>``) or the shared assets
    (``/source/assets/<path>``) as plain text or its media type; nothing outside them."""
    studio: Studio = request.app.state.studio
    roots = {"assets": studio.settings.assets_dir}
    if studio.template is not None:
        roots["template"] = studio.template.root
    root = roots.get(request.path_params["root"])
    path = inside(root, request.path_params["path"]) if root is not None else None
    if path is None:
        return NOT_FOUND
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or path.suffix in {".yaml", ".yml", ".json", ".js", ".html", ".css"}:
        kind = "text/plain; charset=utf-8"  # shown as source, never run as a page
    return FileResponse(
        path, media_type=kind, headers={**NO_STORE, "Content-Security-Policy": "default-src 'none'"}
    )


def frame_csp() -> str:
    """The studio page's own policy: this origin only, its frames included."""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; frame-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
