"""Import each named renderer module first, in a process of its own, with third-party packages
already loaded: ``python tests/import_alone.py renderer.a renderer.b ...`` prints a JSON object
of the modules that failed (name -> the last line of their error).

The process loads every package renderer imports (never a renderer module), then forks one
child per module, two at a time: a child starts with no renderer module loaded, so an import
order that breaks only when one particular module comes first still shows, for a fraction of
the cost of a new interpreter per module. Run as a script: nothing here may import renderer.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import os
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _third_party() -> set[str]:
    names = set()
    for path in (ROOT / "renderer").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return {name for name in names if name.split(".")[0] not in {"renderer", "__future__"}}


def _preload() -> None:
    for name in sorted(_third_party()):
        with contextlib.suppress(Exception), contextlib.redirect_stderr(io.StringIO()):
            importlib.import_module(name)
    assert not any(name.split(".")[0] == "renderer" for name in sys.modules), "a package imported renderer"


def _child(name: str, write: int) -> None:
    try:
        importlib.import_module(name)
        message = ""
    except BaseException:
        message = traceback.format_exc().strip().splitlines()[-1] or "failed"
    os.write(write, message.encode("utf-8", "replace")[:2000])
    os._exit(0)


def _start(name: str) -> tuple[int, int]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        _child(name, write)
    os.close(write)
    return pid, read


def _finish(pid: int, read: int) -> str:
    chunks = []
    while chunk := os.read(read, 4096):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    message = b"".join(chunks).decode("utf-8", "replace")
    return message if os.waitstatus_to_exitcode(status) == 0 else message or f"exit status {status}"


def main(names: list[str]) -> None:
    """Print the failures (JSON) of importing each of `names` first in a forked child."""
    sys.path.insert(0, str(ROOT))
    _preload()
    failed: dict[str, str] = {}
    running: list[tuple[str, int, int]] = []
    for name in names:
        running.append((name, *_start(name)))
        if len(running) == 2:
            done, pid, read = running.pop(0)
            if message := _finish(pid, read):
                failed[done] = message
    for done, pid, read in running:
        if message := _finish(pid, read):
            failed[done] = message
    print(json.dumps(failed))


if __name__ == "__main__":
    main(sys.argv[1:])
