"""Make README's screenshot of the player: a real render of the en-US sample (microsite and
video) served by the API on a loopback port, played in Debian's Chromium to the middle of the
amount scene, where the "Pay now" call to action shows over the video.

    .venv/bin/python scripts/screenshot-player.py [OUT.png]      (default docs/player.png)
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from playwright.sync_api import sync_playwright

from renderer.api import create_app
from renderer.jobs.render_jobs import api_campaign
from renderer.jobs.store import open_store
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.render import render_recipient
from renderer.settings import PROJECT_ROOT, load_settings
from renderer.storage import open_storage

CHROMIUM = "/usr/bin/chromium"


def _render(settings, secret: str) -> str:  # type: ignore[no-untyped-def]
    """Render the en-US sample as a done render job of the key; its page link."""
    template = load_template("bill-summary", settings)
    recipient = template.validator.validate(template.samples["en-US"])
    store, storage = open_store(settings.database_url), open_storage(settings.storage_url, settings)
    key = store.keys.verify(secret)
    assert key is not None
    outputs = ["microsite", "video"]
    job = store.render_jobs.create(template.name, str(recipient["customer_id"]), outputs, api_key_id=key.id)
    stored = render_recipient(template, recipient, outputs, storage, api_campaign(key.id), RenderOptions())
    store.render_jobs.finish(job.id, stored.to_record())
    store.close()
    answer = httpx.get(
        f"{settings.public_url}/renders/{job.id}", headers={"Authorization": f"Bearer {secret}"}
    )
    answer.raise_for_status()
    return str(answer.json()["page_url"])


def _shoot(page_url: str, out: Path) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 900, "height": 1200}, device_scale_factor=1)
        page.goto(page_url)
        page.wait_for_selector("[data-tailor-player][data-ready]")
        cues = page.evaluate(
            "[...[...document.querySelector('video').textTracks].find(t => t.kind === 'metadata').cues]"
            ".map(c => [c.id, c.startTime, c.endTime])"
        )
        start = next(s for scene, s, _ in cues if scene == "amount")
        page.evaluate(
            f"const v = document.querySelector('video'); v.muted = true; v.currentTime = {start + 1.6}"
        )
        page.evaluate("document.querySelector('video').play()")
        page.wait_for_timeout(1200)
        page.evaluate("document.querySelector('video').pause()")
        page.wait_for_selector("[data-tp=overlay] [data-cta=pay-now]")
        page.locator("section.video").screenshot(path=str(out))
        browser.close()


def main() -> None:
    """Render, serve, play, shoot; stop the server."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "docs" / "player.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="tailor-shot-"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = load_settings(
        database_url=f"sqlite:///{root / 'jobs.db'}", storage_url=str(root / "out"),
        public_url=f"http://127.0.0.1:{port}", workers=1,
    ).model_copy(update={"broker_url": None})  # fmt: skip
    store = open_store(settings.database_url)
    secret, _ = store.keys.create("screenshot")
    store.close()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        _shoot(_render(settings, secret), out)
    finally:
        server.should_exit = True
        thread.join(30)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
