"""Make README's pictures of the preview studio: a real ``tailor preview`` process (espeak
narration) on a copy of bill-summary, photographed in Debian's Chromium after a designer's edit
(the de-DE sample with a new first name and the warm headline forced), every locale side by side,
and the pre-flight report of the six samples.

    .venv/bin/python scripts/screenshot-studio.py [OUT_DIR]      (default docs/)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the bench package, run as a script
from bench.preview import studio, wait
from renderer.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
TEMPLATE = "bill-summary"
RENDERED = "document.body.dataset.rendered && !document.body.dataset.rendering"


def _studio_page(page: Any, url: str, out: Path) -> None:
    page.goto(f"{url}?sample=de-DE&force=headline:warm")
    wait(page, f"document.getElementById('video').src && {RENDERED}", 180)
    shown = page.evaluate("() => document.body.dataset.rendered")
    page.fill("#field-first_name", "Lieselotte")
    wait(page, f"document.body.dataset.rendered !== '{shown}' && {RENDERED}", 120)
    wait(page, "document.getElementById('video').readyState >= 2")
    time.sleep(1.0)  # the page frame reloads once the draft lands
    page.screenshot(path=str(out / "studio.png"))


def _locales_page(page: Any, url: str, out: Path) -> None:
    page.goto(f"{url}locales")
    wait(page, "document.body.dataset.rendered", 120)
    wait(page, "[...document.querySelectorAll('.stills img')].every((i) => i.complete && i.naturalWidth)")
    time.sleep(1.0)
    page.set_viewport_size({"width": 1500, "height": 1560})  # three samples; offscreen frames stay blank
    page.screenshot(path=str(out / "studio-locales.png"))


def _preflight(page: Any, url: str, out: Path) -> None:
    page.goto(f"{url}?sample=de-DE")
    wait(page, RENDERED, 120)
    page.fill("#pf-synthetic", "4")
    page.click("#preflight-form button[type=submit]")
    wait(page, "!document.getElementById('pane-preflight').hidden", 600)
    page.locator("#pane-preflight").screenshot(path=str(out / "studio-preflight.png"))


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "docs"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tailor-studio-shots-") as tmp:
        folder = Path(tmp) / "templates"
        shutil.copytree(PROJECT_ROOT / "templates" / TEMPLATE, folder / TEMPLATE)
        with sync_playwright() as pw, studio(folder, Path(tmp) / "cache") as url:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 1640})
            _studio_page(page, url, out)
            _locales_page(page, url, out)
            _preflight(page, url, out)
            browser.close()
    print(f"wrote {out / 'studio.png'}, {out / 'studio-locales.png'}, {out / 'studio-preflight.png'}")


if __name__ == "__main__":
    main()
