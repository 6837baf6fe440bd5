"""Helpers shared by the benchmarks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from renderer.settings import PROJECT_ROOT


def sample_csv(folder: Path, rows: int, seed: int = 1) -> Path:
    """Write `rows` deterministic bill-summary recipients with the CLI's own generator."""
    path = folder / "recipients.csv"
    command = [sys.executable, "-m", "renderer", "sample-data", "bill-summary", "--rows", str(rows)]
    subprocess.run(
        [*command, "--seed", str(seed), "--out", str(path)], check=True, cwd=PROJECT_ROOT, capture_output=True
    )
    return path
