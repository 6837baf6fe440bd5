"""``/docs`` works offline: Swagger UI from the package, in real headless Chromium with every
non-loopback request blocked, under a strict CSP; the vendored files are npm's pinned ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fixture_api import ApiServer, api_fixture  # noqa: F401

from renderer.api.docs import ASSETS, swagger_ui_version
from renderer.settings import PROJECT_ROOT
from tests.conftest import launch_chromium

NPM_DIST = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"
VENDORED = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"]
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless system Chromium for the module, stopped afterwards."""
    with launch_chromium() as chromium:
        yield chromium


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    verbs = {"get", "put", "post", "delete", "patch", "head", "options"}
    return [(verb, path) for path, item in spec["paths"].items() for verb in item if verb in verbs]


@pytest.mark.browser
def test_docs_render_every_operation_offline(api: ApiServer, browser: Any, artifacts: Path) -> None:
    spec = api.client(key=None).get("/openapi.json").json()
    blocked: list[str] = []
    problems: list[str] = []
    context = browser.new_context()
    page = context.new_page()

    page.route("**/*", lambda route: _continue(route, blocked))
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    try:
        page.goto(f"{api.url}/docs", wait_until="networkidle")
        page.wait_for_selector(".opblock", timeout=15000)
        shown = page.eval_on_selector_all(
            ".opblock",
            "els => els.map(e => [e.querySelector('.opblock-summary-method').textContent,"
            " e.querySelector('.opblock-summary-path').getAttribute('data-path')])",
        )
        title = page.text_content(".info .title")
        page.click("#operations-renders-create_render_templates__name__renders_post .opblock-summary")
        page.wait_for_selector(".opblock-body .responses-wrapper", timeout=15000)  # expanded, with schemas
        page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)
    finally:
        context.close()
    assert not blocked, f"/docs reached out of the loopback: {blocked}"
    assert not problems, json.dumps(problems, indent=2)
    assert sorted((m.lower(), p) for m, p in shown) == sorted(_operations(spec))
    assert title is not None and "Tailor" in title


def _continue(route: Any, blocked: list[str]) -> None:
    url = route.request.url
    if url.startswith("data:") or urlsplit(url).hostname in LOOPBACK:
        route.continue_()
    else:
        blocked.append(url)
        route.abort()


def test_docs_page_has_a_strict_csp_and_redoc_is_off(api: ApiServer) -> None:
    client = api.client(key=None)
    docs = client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    csp = {d.split()[0]: d.split()[1:] for d in docs.headers["content-security-policy"].split("; ")}
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert "<script>" not in docs.text and "http" not in docs.text  # no inline code, no other host
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "tailor-init.js", "favicon-32x32.png"):
        assert client.get(f"/docs-assets/{asset}").status_code == 200
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404


def test_vendored_swagger_ui_is_the_pinned_npm_package() -> None:
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    installed = json.loads((NPM_DIST / "package.json").read_text())["version"]
    assert swagger_ui_version() == pinned == installed, "run scripts/vendor-swagger-ui.sh after npm ci"
    for name in VENDORED:
        assert (ASSETS / name).read_bytes() == (NPM_DIST / name).read_bytes(), name


@pytest.mark.slow
def test_the_wheel_ships_the_docs_assets(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    shutil.copytree(
        PROJECT_ROOT / "renderer", source / "renderer", ignore=shutil.ignore_patterns("__pycache__")
    )
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*command, "--wheel-dir", str(tmp_path / "wheel"), str(source)], check=True, timeout=300)
    [wheel] = (tmp_path / "wheel").glob("tailor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"renderer/api/static/swagger-ui/{p.name}" for p in ASSETS.iterdir() if p.is_file()}
    assert "renderer/api/static/swagger-ui/tailor-init.js" in expected
    assert expected <= names, sorted(expected - names)
    studio = {
        f"renderer/preview/static/{p.name}" for p in (PROJECT_ROOT / "renderer/preview/static").iterdir()
    }
    assert "renderer/preview/static/studio.js" in studio
    assert studio <= names, sorted(studio - names)  # the preview studio's page, served from the package
