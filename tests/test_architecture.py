"""The house rules, read from the source: imports only go down the pipeline, no module imports
itself back through others, every package imports on its own, and modules and functions stay small.

The import graph is built with `ast` from every module under ``renderer/``: module-level and
function-level imports, ``import x`` and ``from x import y``, relative imports resolved. An edge
goes to the most specific module named (``from renderer.jobs import store`` -> ``renderer.jobs.store``,
``from renderer.storage import LocalStorage`` -> ``renderer.storage``); the parent packages a
submodule import also runs are not edges.

`KNOWN_WRONG_WAY` and `OVERSIZED` list today's violations that other work will remove: a new
violation fails, and so does an entry that no longer occurs, so the lists only shrink.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "renderer"

# The layers of the pipeline, lowest first: a module may import modules of its own layer or a
# lower one, never a higher one. A name covers the module or package and everything under it
# (the longest name that matches wins), except "renderer", which is only renderer/__init__.py.
# Every module must fall under one of them (a new top-level module gets placed here).
LAYERS: dict[str, float] = {
    # 0 foundation
    "renderer.errors": 0,
    "renderer.settings": 0,
    "renderer.logs": 0,
    # 1 bytes under keys
    "renderer.storage": 1,
    # 2 pure cache keys
    "renderer.cache": 2,
    # 3 template folders and their contract
    "renderer.template": 3,
    # 4 recipient data
    "renderer.data": 4,
    # 4.5 decisions: triggers, slots, variants (pure; reads template and data only)
    "renderer.decisions": 4.5,
    # 5 output renderers, renderer.outputs.video included. They may import storage: e.g.
    #   renderer.outputs.render -> renderer.storage.keys (where it stores what it rendered).
    "renderer.outputs": 5,
    # 6 scheduling: job store, campaigns, pools, Celery, events; no HTTP
    "renderer.jobs": 6,
    # 7 engagement: events in (schema, rules, rate limits), metrics and reports out; no HTTP
    "renderer.engagement": 7,
    # 8 front doors
    "renderer.api": 8,
    "renderer.cli": 8,
    "renderer.preview": 8,
    "renderer.__main__": 8,
    "renderer": 8,
}

# Imports that go the wrong way today, owned by work elsewhere (module -> imported module):
KNOWN_WRONG_WAY: set[tuple[str, str]] = set()

# Modules over MAX_MODULE_LINES ("module") and functions over MAX_FUNCTION_LINES
# ("module:qualified.name") allowed for now; empty: every module and function is small.
OVERSIZED: set[str] = set()
# Alembic migrations are history: never edited, only followed by new ones, so never split.
SIZE_EXEMPT = ("renderer.jobs.migrations.",)

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50  # from the def line to the body's last line (decorators not counted)


@dataclass(frozen=True)
class Import:
    """One import statement's edge: `module` imports `target` at `line`."""

    module: str
    target: str
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``: never runs


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under `package` (a package is its __init__.py)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(
    node: ast.AST, type_only: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement in `node` (inside functions and classes too), and whether it sits
    under ``if TYPE_CHECKING:``."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node, type_only
    elif isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            yield from _import_nodes(child, True)
        for child in node.orelse:
            yield from _import_nodes(child, type_only)
    else:
        for inner in ast.iter_child_nodes(node):
            yield from _import_nodes(inner, type_only)


def _nearest(name: str, modules: dict[str, Path]) -> str | None:
    """`name` or the closest enclosing module or package that exists under renderer/."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str, modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the module's package, one level up per extra dot
            package = module if modules[module].name == "__init__.py" else module.rpartition(".")[0]
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
        ]
    found = (_nearest(name, modules) for name in names if name.split(".")[0] == "renderer")
    return [target for target in found if target and target != module]


@cache
def imports(package: Path = PACKAGE) -> tuple[Import, ...]:
    """Every import edge between modules under `package`."""
    modules = module_files(package)
    edges = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, type_only in _import_nodes(tree):
            for target in _targets(node, module, modules):
                edges.append(Import(module, target, node.lineno, type_only))
    return tuple(edges)


def layer(module: str) -> float | None:
    """The layer of `module` (None when LAYERS places it nowhere)."""
    if module == "renderer":
        return LAYERS["renderer"]
    matches = [
        name for name in LAYERS if name != "renderer" and (module == name or module.startswith(name + "."))
    ]
    return LAYERS[max(matches, key=len)] if matches else None


def wrong_way(package: Path = PACKAGE) -> set[tuple[str, str]]:
    """(module, imported module) for every import of a higher layer."""
    found = set()
    for edge in imports(package):
        low, high = layer(edge.module), layer(edge.target)
        if low is not None and high is not None and high > low:
            found.add((edge.module, edge.target))
    return found


def _reexport(edge: Import) -> bool:
    """A package __init__ importing its own submodules (re-exports): not part of a cycle."""
    return edge.target.startswith(edge.module + ".")


def cycles(package: Path = PACKAGE) -> list[list[str]]:
    """The strongly connected components of more than one module in the runtime import graph
    (TYPE_CHECKING imports never run; re-exporting __init__ edges left out), Tarjan's algorithm."""
    graph: dict[str, set[str]] = {name: set() for name in module_files(package)}
    for edge in imports(package):
        if not edge.type_only and not _reexport(edge):
            graph[edge.module].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def oversized(package: Path = PACKAGE) -> dict[str, int]:
    """Modules over MAX_MODULE_LINES and functions over MAX_FUNCTION_LINES -> their line count."""
    found = {}
    for module, path in module_files(package).items():
        if module.startswith(SIZE_EXEMPT):
            continue
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            found[module] = len(text.splitlines())
        for name, lines in _function_lengths(ast.parse(text), ""):
            if lines > MAX_FUNCTION_LINES:
                found[f"{module}:{name}"] = lines
    return found


def _function_lengths(tree: ast.AST, prefix: str) -> Iterator[tuple[str, int]]:
    """(qualified name, lines) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            yield prefix + node.name, node.end_lineno - node.lineno + 1
            yield from _function_lengths(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _function_lengths(node, f"{prefix}{node.name}.")
        else:
            yield from _function_lengths(node, prefix)


def _listing(pairs: set[tuple[str, str]]) -> str:
    """One line per (module, imported module), with the lines of the module that import it."""
    listed = ""
    for module, target in sorted(pairs):
        lines = sorted({e.line for e in imports() if (e.module, e.target) == (module, target)})
        listed += f"\n  {module} -> {target}" + (f" (line {', '.join(map(str, lines))})" if lines else "")
    return listed


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(name for name in module_files() if layer(name) is None)
    assert not unplaced, f"modules in no layer (add them to LAYERS): {unplaced}"


def test_imports_go_down_the_layers() -> None:
    found = wrong_way()
    new = found - KNOWN_WRONG_WAY
    assert not new, f"imports of a higher layer (see LAYERS):{_listing(new)}"
    gone = KNOWN_WRONG_WAY - found
    assert not gone, f"no longer imported: remove from KNOWN_WRONG_WAY:{_listing(gone)}"


def test_no_import_cycles() -> None:
    found = cycles()
    assert not found, "modules that import each other (directly or through others): " + "; ".join(
        " <-> ".join(component) for component in found
    )


def test_modules_and_functions_stay_small() -> None:
    found = oversized()
    new = {name: lines for name, lines in found.items() if name not in OVERSIZED}
    assert not new, (
        f"over {MAX_MODULE_LINES} lines (module) or {MAX_FUNCTION_LINES} lines (function): "
        + ", ".join(f"{name} ({lines})" for name, lines in sorted(new.items()))
    )
    gone = sorted(OVERSIZED - set(found))
    assert not gone, f"small enough now: remove from OVERSIZED: {gone}"


def test_the_checks_see_wrong_way_imports_cycles_and_long_functions(tmp_path: Path) -> None:
    """The checks themselves, on a small package: function-level, relative and TYPE_CHECKING
    imports, a re-exporting __init__, a long method."""
    package = tmp_path / "renderer"
    (package / "jobs").mkdir(parents=True)
    (package / "api").mkdir()
    long_body = "".join(f"        x{n} = {n}\n" for n in range(MAX_FUNCTION_LINES))
    files = {
        "__init__.py": "",
        "errors.py": "",
        "jobs/__init__.py": "from renderer.jobs import work\n",
        "jobs/work.py": "from . import events\n\ndef run():\n    from ..api import routes\n",
        "jobs/events.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from renderer.api.routes import x\n",
        "jobs/big.py": f"class Runner:\n    def run(self):\n{long_body}",
        "api/__init__.py": "",
        "api/routes.py": "import renderer.jobs.work\nfrom renderer.errors import TailorError\nfrom renderer import jobs\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    assert wrong_way(package) == {
        ("renderer.jobs.work", "renderer.api.routes"),
        ("renderer.jobs.events", "renderer.api.routes"),
    }
    assert cycles(package) == [["renderer.api.routes", "renderer.jobs.work"]]
    assert oversized(package) == {"renderer.jobs.big:Runner.run": MAX_FUNCTION_LINES + 1}


def _packages() -> list[str]:
    """Every package and subpackage of renderer/, namespace packages (no __init__.py) included;
    not the Alembic migrations, which Alembic loads from their files."""
    folders = {path.parent for path in PACKAGE.rglob("*.py")}
    names = {".".join(folder.relative_to(ROOT).parts) for folder in folders}
    return sorted(name for name in names if ".migrations" not in name)


def _top_modules() -> list[str]:
    """renderer/*.py but __init__ and __main__ (``python -m renderer`` runs it)."""
    return sorted(f"renderer.{path.stem}" for path in PACKAGE.glob("*.py") if not path.stem.startswith("__"))


def _import_alone(statement: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", statement]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", _packages() + _top_modules())
def test_each_package_imports_alone(name: str, tmp_path: Path) -> None:
    """``import renderer.X`` in a fresh interpreter; for a package, then each module directly in
    it (a namespace package such as renderer.template has no code of its own)."""
    direct = sorted(
        module
        for module in module_files()
        if module.rpartition(".")[0] == name and module != "renderer.__main__"
    )
    statement = "; ".join(f"import {module}" for module in [name, *direct])
    done = _import_alone(statement, tmp_path)
    assert done.returncode == 0, f"python -c '{statement}' failed:\n{done.stderr[-3000:]}"


def test_python_m_renderer_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "renderer", "--version"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("tailor "), done.stderr[-3000:]


@pytest.mark.slow
def test_every_module_imports_alone(tmp_path: Path) -> None:
    """Each module first in a process of its own (forked from one that loaded the third-party
    packages, never renderer: tests/import_alone.py): an import order that only breaks when one
    particular module is imported first shows here."""
    names = [name for name in module_files() if ".migrations" not in name and name != "renderer.__main__"]
    script = ROOT / "tests" / "import_alone.py"
    done = subprocess.run(
        [sys.executable, str(script), *names], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    failed = json.loads(done.stdout)
    assert not failed, f"modules that fail to import first: {failed}"


def test_the_forked_import_check_reports_a_module_that_fails(tmp_path: Path) -> None:
    """A module that cannot be imported is reported by name with its error; the others pass."""
    script = ROOT / "tests" / "import_alone.py"
    done = subprocess.run(
        [sys.executable, str(script), "renderer", "renderer.no_such_module"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    failed = json.loads(done.stdout)
    assert (
        list(failed) == ["renderer.no_such_module"]
        and "ModuleNotFoundError" in failed["renderer.no_such_module"]
    )
