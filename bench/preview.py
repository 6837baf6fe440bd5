"""The preview studio, measured as a designer uses it: a real ``tailor preview`` process (espeak
narration, a fresh local cache) on a copy of bill-summary, driven by Debian's Chromium.

a. save -> page: a visible marker written into the microsite's entry file, from the write to the
   marker shown in the studio's microsite frame (no reload of the studio page);
b. save -> PDF: a saved PDF stylesheet, from the write to the new PDF page image loaded;
c. edit -> draft video: a new first name typed into the data editor, from the keystroke to the
   new draft (one scene re-encoded) loaded in the player;
d. every locale side by side, cold: a new studio process with an empty cache, from opening
   ``/locales`` to six microsites and every scene still loaded;
and, side by side, what a designer did before the studio: ``tailor render`` of the same sample's
microsite and PDF as a command (a new process each time).

    .venv/bin/python -m bench.preview --repeat 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from renderer.settings import PROJECT_ROOT

TEMPLATE = "bill-summary"
CHROMIUM = "/usr/bin/chromium"
PDF_LOADED = (
    "(() => {{ const i = document.querySelector('.pdf-page');"
    " return i && i.src !== {before!r} && i.complete && i.naturalWidth > 0; }})()"
)
VIDEO_LOADED = (
    "(() => {{ const v = document.getElementById('video');"
    " return v.src !== {before!r} && v.readyState >= 2; }})()"
)
LOCALES_LOADED = (
    "document.body.dataset.rendered"
    " && [...document.querySelectorAll('.stills img')].every((i) => i.complete && i.naturalWidth > 0)"
)
GOALS = {"save -> microsite": 1.0, "save -> PDF": 1.0, "edit -> draft video": 2.0, "six locales, cold": 3.0}


@contextmanager
def studio(folder: Path, cache: Path) -> Iterator[str]:
    """A ``tailor preview`` process on `folder`'s copy of the template; its address."""
    env = {**os.environ, "TAILOR_TEMPLATES_DIR": str(folder), "TAILOR_STORAGE_URL": str(cache)}
    command = [sys.executable, "-m", "renderer", "preview", TEMPLATE, "--port", "0"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "http://" not in line:
            raise RuntimeError(
                f"the studio did not start: {line}{process.stderr.read() if process.stderr else ''}"
            )
        yield line.split(": ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(10)


def wait(page: Any, script: str, timeout_s: float = 60.0) -> float:
    """Poll the expression `script` in `page` until truthy; the moment it was (perf_counter)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.evaluate(f"() => Boolean({script})"):
            return time.perf_counter()
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {script}")


def site_has(page: Any, text: str) -> bool:
    """Whether the studio's microsite frame shows `text`."""
    frame = page.frame(url=lambda url: "/out/" in url and "/index.html" in url)
    try:
        return frame is not None and text in frame.evaluate("() => document.body.innerText")
    except Exception:  # the frame navigated away while we asked: not yet
        return False


def time_site_save(page: Any, entry: Path, n: int) -> float:
    marker = f"studio-bench-{n}"
    text = entry.read_text(encoding="utf-8")
    previous = f"studio-bench-{n - 1}"
    started = time.perf_counter()
    entry.write_text(
        text.replace(previous, marker)
        if previous in text
        else text.replace("<main", f"<p>{marker}</p><main", 1)
    )
    deadline = time.monotonic() + 30
    while not site_has(page, marker):
        if time.monotonic() > deadline:
            raise RuntimeError("the saved page never showed")
        time.sleep(0.01)
    return time.perf_counter() - started


def time_pdf_save(page: Any, css: Path, n: int) -> float:
    before = page.evaluate("() => document.querySelector('.pdf-page')?.src")
    started = time.perf_counter()
    with css.open("a", encoding="utf-8") as handle:
        handle.write(f"\n/* bench save {n} */\n")
    done = wait(page, PDF_LOADED.format(before=before))
    return done - started


def time_video_edit(page: Any, n: int) -> float:
    before = page.evaluate("() => document.getElementById('video').src")
    started = time.perf_counter()
    page.fill("#field-first_name", f"Bench{'abcdefghij'[n % 10]}{n}")
    done = wait(page, VIDEO_LOADED.format(before=before))
    encoded = page.text_content("#video-time") or ""
    if " 1 of " not in encoded:
        print(f"  note: draft {n}: {encoded}")
    return done - started


def time_locales(browser: Any, folder: Path, scratch: Path, n: int) -> float:
    cache = scratch / f"cold-{n}"
    with studio(folder, cache) as url:
        page = browser.new_page(viewport={"width": 1500, "height": 4000})
        started = time.perf_counter()
        page.goto(f"{url}locales")
        done = wait(page, LOCALES_LOADED)
        frames = [f for f in page.frames if "/out/" in f.url]
        while not all(f.evaluate("() => document.readyState") == "complete" for f in frames):
            time.sleep(0.01)
        done = max(done, time.perf_counter())
        print(f"  locales {n}: {page.text_content('#template-name')} on the server")
        page.close()
    return done - started


def time_cli(folder: Path, scratch: Path) -> float:
    env = {**os.environ, "TAILOR_TEMPLATES_DIR": str(folder)}
    command = [
        sys.executable,
        "-m",
        "renderer",
        "render",
        TEMPLATE,
        "--sample",
        "de-DE",
        "--out",
        str(scratch / "cli"),
    ]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(name: str, runs: list[float]) -> None:
    median = statistics.median(runs)
    goal = GOALS.get(name)
    verdict = f"goal < {goal:.1f} s: {'met' if median < goal else 'NOT met'}" if goal else ""
    shown = ", ".join(f"{r:.3f}" for r in runs)
    print(f"{name:22} median {median:6.3f} s  (runs {shown})  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement (medians reported)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="tailor-bench-preview-") as tmp:
        scratch = Path(tmp)
        folder = scratch / "templates"
        shutil.copytree(PROJECT_ROOT / "templates" / TEMPLATE, folder / TEMPLATE)
        root = folder / TEMPLATE
        results: dict[str, list[float]] = {name: [] for name in GOALS}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            with studio(folder, scratch / "cache") as url:
                page = browser.new_page(viewport={"width": 1500, "height": 1100})
                page.goto(f"{url}?sample=de-DE")
                wait(page, "document.getElementById('video').src && !document.body.dataset.rendering", 120)
                for n in range(1, args.repeat + 1):
                    results["save -> microsite"].append(
                        time_site_save(page, root / "microsite" / "index.html", n)
                    )
                    time.sleep(0.3)
                    results["save -> PDF"].append(time_pdf_save(page, root / "pdf" / "bill.css", n))
                    time.sleep(0.3)
                    results["edit -> draft video"].append(time_video_edit(page, n))
                    time.sleep(0.3)
            for n in range(args.repeat):
                results["six locales, cold"].append(time_locales(browser, folder, scratch, n))
            browser.close()
        cli = [time_cli(folder, scratch) for _ in range(args.repeat)]
    print(f"bench.preview: {TEMPLATE}, espeak narration, {args.repeat} runs each, {os.cpu_count()} CPUs")
    for name, runs in results.items():
        measure(name, runs)
    measure("tailor render (CLI)", cli)
    studio_page = statistics.median(results["save -> microsite"])
    ratio = statistics.median(cli) / studio_page
    print(f"save -> microsite in the studio vs a tailor render command: {ratio:.1f}x faster")


if __name__ == "__main__":
    main()
