"""A full temporary disk during a video render: one clear error naming TMPDIR (never a value),
the row fails, nothing partial is kept (no output objects, no temporary files). TMPDIR is a real
64 KiB tmpfs, mounted for the test (root only; skipped where mounting is impossible)."""

from __future__ import annotations

import csv
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from broken import run_cli

from renderer.errors import RenderError
from renderer.outputs.video import ffmpeg
from renderer.outputs.video.scratch import scratch_space

pytestmark = [pytest.mark.video, pytest.mark.slow]
NO_SPACE = "no space left in TMPDIR ({}): free space there or set TMPDIR"
SPEECH = {"TAILOR_TTS_ENGINE": "fake"}  # narration is beside the point: no espeak-ng runs


@pytest.fixture
def full_tmpdir(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (smaller than a draft's segments), unmounted at the end."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def _stored(out: Path) -> list[Path]:
    return sorted(path for path in out.rglob("*") if path.is_file())


def _assert_nothing_partial(out: Path, tmpdir: Path) -> None:
    assert list(tmpdir.iterdir()) == [], "temporary files are removed"
    for path in _stored(out):
        assert not path.name.startswith(".tmp-"), path
        if path.suffix == ".mp4":  # a cached segment must be whole (an init segment has no frames)
            probed = ffmpeg.probe(path)
            assert probed["streams"] and ("duration" in probed["format"] or "init" in path.name), path


def test_a_one_off_render_says_tmpdir_is_full(tmp_path: Path, full_tmpdir: Path) -> None:
    out = tmp_path / "out"
    args = ["render", "bill-summary", "--sample", "en-US", "--outputs", "video", "--draft", "--out", str(out)]
    result = run_cli(*args, env={**SPEECH, "TMPDIR": str(full_tmpdir)})
    assert result.returncode == 1, result.stdout
    assert f"error: video output: {NO_SPACE.format(full_tmpdir)}" in result.stdout
    assert "unexpected" not in result.stdout and "OSError" not in result.stdout
    assert not (out / "bill-summary" / "single").exists(), "no output object is stored"
    _assert_nothing_partial(out, full_tmpdir)


def test_a_campaign_fails_the_row_and_goes_on(tmp_path: Path, full_tmpdir: Path) -> None:
    rows = tmp_path / "rows.csv"
    assert run_cli("sample-data", "bill-summary", "--rows", "2", "--out", str(rows)).returncode == 0
    out = tmp_path / "out"
    args = ["campaign", "bill-summary", str(rows), "--outputs", "microsite,video", "--out", str(out)]
    result = run_cli(
        *args, "--workers", "1", "--campaign", "full", env={**SPEECH, "TMPDIR": str(full_tmpdir)}
    )
    assert result.returncode == 1, result.stdout
    assert "0 rendered, 0 rejected, 2 failed" in result.stdout, result.stdout
    with (out / "bill-summary" / "full" / "_campaign" / "rejects.csv").open(encoding="utf-8") as handle:
        reasons = [row["reason"] for row in csv.DictReader(handle)]
    assert len(reasons) == 2, reasons
    assert all(reason.startswith(f"video output: {NO_SPACE.format(full_tmpdir)}") for reason in reasons)
    folders = [p.name for p in (out / "bill-summary" / "full").iterdir()]
    assert folders == ["_campaign"], "no recipient folder is stored"
    _assert_nothing_partial(out / "bill-summary", full_tmpdir)


def test_ffmpeg_reporting_a_full_disk_gets_the_same_message() -> None:
    with pytest.raises(RenderError, match=r"^no space left in TMPDIR \("), scratch_space():
        raise RenderError(
            "encoding scene intro failed: av_interleaved_write_frame(): No space left on device"
        )
    with pytest.raises(RenderError, match=r"^encoding scene intro failed: Invalid data"), scratch_space():
        raise RenderError("encoding scene intro failed: Invalid data found when processing input")
