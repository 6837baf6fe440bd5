"""The files of a template: its manifest's name, the names its snippets compile under, and where
it may read files from (its own folder and the shared ``assets/`` folder only)."""

from __future__ import annotations

from pathlib import Path

from renderer.errors import AssetError

MANIFEST = "template.yaml"
SNIPPET_MARK = "#"  # a snippet's filename: "template.yaml#text.en.greeting"


def snippet_filename(key: str) -> str:
    """The filename a ``template.yaml`` snippet is compiled under, e.g. ``template.yaml#text.en.pay``."""
    return f"{MANIFEST}{SNIPPET_MARK}{key}"


SHARED_PREFIX = "@assets/"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_asset(ref: str, template_root: Path, assets_dir: Path) -> Path:
    """Resolve an asset reference to an existing file inside the template or the shared assets.

    ``@assets/fonts/x.ttf`` names a shared asset; anything else is relative to the template folder.
    Absolute paths, ``..`` escapes and symlinks pointing elsewhere raise AssetError.
    """
    if ref.startswith(SHARED_PREFIX):
        base, relative = assets_dir.resolve(), ref[len(SHARED_PREFIX) :]
    else:
        base, relative = template_root.resolve(), ref
    if not relative or Path(relative).is_absolute() or "\x00" in relative:
        raise AssetError(f"asset {ref!r} must be a relative path")
    path = (base / relative).resolve()
    if not _inside(path, base):
        raise AssetError(f"asset {ref!r} points outside {base.name}/")
    if not path.is_file():
        raise AssetError(f"asset {ref!r} does not exist")
    return path


def allowed_roots(template_root: Path, assets_dir: Path) -> tuple[Path, Path]:
    """The only two folders a renderer may read from for this template."""
    return template_root.resolve(), assets_dir.resolve()


def is_allowed_file(path: Path, roots: tuple[Path, ...]) -> bool:
    """True when `path` (after resolving symlinks) is a file inside one of `roots`."""
    real = path.resolve()
    return real.is_file() and any(_inside(real, root) for root in roots)


def check_asset(
    ref: str, template_root: Path, assets_dir: Path, *, file: str, line: int | None, key: str | None = None
) -> Path:
    """`resolve_asset`, its AssetError naming `file` and `line` (and prefixed with `key`, the
    manifest key that names the asset, when given)."""
    try:
        return resolve_asset(ref, template_root, assets_dir)
    except AssetError as exc:
        detail = f"{key}: {exc.detail}" if key else exc.detail
        raise AssetError(detail, file=file, line=line) from None
