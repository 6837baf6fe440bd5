"""The lock files against pyproject.toml, and the runtime dependencies alone running the service.

* Every requirement of pyproject.toml (runtime, each extra, the build system) is pinned in the dev
  lock at a version its specifier allows, with hashes; the runtime lock holds the runtime closure at
  the dev lock's versions, so the service image runs what the tests ran.
* Every module `renderer/` imports is the standard library's or a declared runtime dependency's.
* The runtime lock alone, in a new virtual environment, imports every module, serves the API and
  renders a microsite and PDF over HTTP (what the service image does).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def read_lock(path: Path) -> dict[str, str]:
    """{canonical name: version} of the pins in a lock that apply to this interpreter; every pin
    must carry at least one hash."""
    pins: dict[str, str] = {}
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            continue
        name, version, marker = match.groups()
        assert "--hash=sha256:" in lines[number + 1], f"{path.name}: {name} has no hash"
        env = default_environment()
        if marker and not Requirement(f"x; {marker}").marker.evaluate(env):  # type: ignore[union-attr]
            continue
        pins[canonicalize_name(name)] = version
    return pins


def declared(group: str | None) -> list[Requirement]:
    """The requirements of pyproject.toml: runtime (None), an extra, or 'build'."""
    if group is None:
        specs = PYPROJECT["project"]["dependencies"]
    elif group == "build":
        specs = PYPROJECT["build-system"]["requires"]
    else:
        specs = PYPROJECT["project"]["optional-dependencies"][group]
    return [Requirement(spec) for spec in specs]


def assert_pinned(requirements: list[Requirement], pins: dict[str, str], lock: str) -> None:
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is in pyproject.toml but not in {lock}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {requirement.name}=={pins[name]}, outside pyproject's {requirement.specifier}:"
            " run make lock"
        )


def test_dev_lock_pins_every_requirement_of_pyproject() -> None:
    pins = read_lock(LOCKS / "dev.lock")
    groups = [None, "build", *PYPROJECT["project"]["optional-dependencies"]]
    for group in groups:
        assert_pinned(declared(group), pins, "requirements/dev.lock")


def test_runtime_and_build_locks_agree_with_the_dev_lock() -> None:
    dev = read_lock(LOCKS / "dev.lock")
    runtime = read_lock(LOCKS / "runtime.lock")
    build = read_lock(LOCKS / "build.lock")
    assert_pinned(declared(None), runtime, "requirements/runtime.lock")
    assert_pinned(declared("build"), build, "requirements/build.lock")
    for lock, pins in (("runtime.lock", runtime), ("build.lock", build)):
        drift = {name: (version, dev.get(name)) for name, version in pins.items() if dev.get(name) != version}
        assert not drift, f"requirements/{lock} differs from dev.lock: {drift}; run make lock"
    test_only = {canonicalize_name(r.name) for r in declared("test")} - {
        canonicalize_name(r.name) for r in declared(None)
    }
    assert not test_only & set(runtime), "test-only packages leaked into the runtime lock"


def imported_modules(package: Path) -> set[str]:
    """Top-level names of every absolute import in `package`'s modules (function-level ones too)."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - {"renderer", "__future__"}


def test_every_import_of_renderer_is_a_declared_runtime_dependency() -> None:
    runtime = {canonicalize_name(r.name) for r in declared(None)}
    providers = packages_distributions()
    missing = {}
    for module in sorted(imported_modules(ROOT / "renderer") - set(sys.stdlib_module_names)):
        distributions = {canonicalize_name(d) for d in providers.get(module, [])}
        assert distributions, f"renderer imports {module!r}, which no installed distribution provides"
        if not distributions & runtime:
            missing[module] = sorted(distributions)
    assert not missing, f"imported by renderer/ but not runtime dependencies in pyproject.toml: {missing}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment holding the build and runtime locks and the project, nothing else."""
    venv = tmp_path_factory.mktemp("runtime") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    for lock in ("build.lock", "runtime.lock"):
        subprocess.run([*pip, "--require-hashes", "-r", str(LOCKS / lock)], check=True, timeout=600)
    source = tmp_path_factory.mktemp("source")  # built from a copy: no build/ left in the checkout
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "renderer", source / "renderer", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([*pip, "--no-build-isolation", str(source)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], check=True)
    return venv


@pytest.mark.slow
def test_runtime_lock_alone_imports_every_module(runtime_venv: Path) -> None:
    script = (
        "import importlib, pkgutil, renderer\n"
        "names = [m.name for m in pkgutil.walk_packages(renderer.__path__, 'renderer.')\n"
        "         if '.migrations.' not in m.name and not m.name.endswith('__main__')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    done = subprocess.run(
        [str(runtime_venv / "bin" / "python"), "-c", script], capture_output=True, text=True, cwd="/"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout) > 50


@pytest.mark.slow
def test_runtime_lock_alone_serves_and_renders(runtime_venv: Path, tmp_path: Path) -> None:
    env = {
        "PATH": f"{runtime_venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TAILOR_STORAGE_URL": str(tmp_path / "out"),
        "TAILOR_TEMPLATES_DIR": str(ROOT / "templates"),
        "TAILOR_ASSETS_DIR": str(ROOT / "assets"),
        "TAILOR_TRIGGERS_DIR": str(ROOT / "triggers"),
    }
    tailor = str(runtime_venv / "bin" / "tailor")
    created = subprocess.run([tailor, "api-key", "create", "smoke"], env=env, capture_output=True, text=True)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [tailor, "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=sink, stderr=sink
        )
    try:
        import httpx

        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "tailor serve did not answer /healthz in 60 s"
            time.sleep(0.3)
        headers = {"Authorization": f"Bearer {key}"}
        sample = json.loads((ROOT / "templates/bill-summary/samples/en-US.json").read_text())
        answer = httpx.post(
            f"{base}/templates/bill-summary/renders",
            headers=headers,
            json={"recipient": sample, "outputs": ["microsite", "pdf"]},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        page = httpx.get(
            answer.json()["page_url"].replace("localhost:8000", f"127.0.0.1:{port}"),
            timeout=10,
            follow_redirects=True,
        )
        assert page.status_code == 200 and "<html" in page.text
        for path in ("/docs", "/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
            assert httpx.get(f"{base}{path}", timeout=10).status_code == 200, f"{path} missing from the wheel"
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not os.path.exists(tmp_path / "tailor-jobs.db")


def test_service_image_and_compose_use_pinned_versions() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r requirements/runtime.lock" in dockerfile
    assert "--no-build-isolation" in dockerfile
    bases = re.findall(r"^FROM (\S+)", dockerfile, flags=re.M)
    assert bases and all(re.search(r":\d+\.\d+\.\d+-", base) for base in bases), bases
    compose = (ROOT / "docker-compose.yml").read_text()
    images = re.findall(r"^\s+image: (\S+)", compose, flags=re.M)
    external = [image for image in images if not image.startswith("tailor:")]
    assert external, "docker-compose.yml names no images"
    for image in external:
        tag = image.partition(":")[2]
        assert re.search(r"^\d+\.\d+|RELEASE\.\d{4}-", tag), f"{image} is not pinned to a release"
