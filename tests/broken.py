"""Broken example templates for tests: a copy of bill-summary with one thing broken, and the real
CLI (``python -m renderer``, a subprocess) run on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from renderer.settings import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "templates" / "bill-summary"


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in `path` by `new` (which must be there)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """The 1-based number of the first line of `path` holding `needle`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def broken_copy(templates_dir: Path) -> Path:
    """A fresh copy of bill-summary as ``templates_dir/bill-summary`` (to break one thing in)."""
    root = templates_dir / "bill-summary"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(SOURCE, root)
    return root


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m renderer ARGS`` as a user would; stdout and stderr together in `stdout`."""
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "renderer", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
