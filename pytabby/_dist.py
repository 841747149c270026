"""``python -m pytabby dist OUT --pyodide DIR``: a Pyodide folder that knows pytabby.

From a Pyodide the user already has (the npm package ``pyodide``, or an unpacked
release) it makes a folder to serve at ``/dist/``: the runtime files, the
pytabby-browser wheel, micropip and packaging wheels (PyScript's ``packages``
installs through micropip; the npm package lacks both), and a lock file from
pyodide-build's ``pyodide lockfile add-wheels`` (it works offline; it needs
``pkginfo`` beside it). The lock's sha256 of each added wheel is the served
file's, so micropip's integrity check passes. The served wheel holds only what
tabs import (no test kit, server or CLI: a fifth less to download and unpack
in every tab). When ``node`` is on the PATH, the
wheel also gets its modules compiled by that Pyodide's own Python (``.pyc``,
unchecked-hash): a tab then imports pytabby without compiling it, about a
quarter of the time. With ``indexURL`` at that folder,
``loadPackage("pytabby-browser")``, PyScript's ``packages =
["pytabby-browser"]`` and ``micropip.install`` all work.

    python -m pytabby dist app/dist --pyodide node_modules/pyodide
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

DIST_NAME = "pytabby-browser"
LOCK = "pyodide-lock.json"
# Package metadata and sources maps of the npm package: not needed to serve it.
NOT_SERVED = {LOCK, "package.json", "README.md", "console.html", "console-v2.html"}
NOT_SERVED_SUFFIXES = (".d.ts", ".map")
FROM_PYPI = ("micropip", "packaging")
# What no tab imports (the test kit and its entry point, the server and its files, the CLI): left out of the
# served wheel.
NOT_IN_TABS = ("pytabby/pytest/", "pytabby/server/", "pytabby/static/", "pytabby/testing/", "pytabby/_dist.py",
               "pytabby/__main__.py")
NOT_IN_TABS_INFO = ("entry_points.txt",)
# Files of an installed distribution that are the installer's, not the wheel's.
INSTALLER_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


class DistError(Exception):
    """The folder cannot be made; the message says why and what to do."""


def make_dist(out: Path, pyodide: Path, *, wheel: Path | None = None) -> list[str]:
    """Fill ``out`` (made or emptied first) from the Pyodide folder ``pyodide``; return its file names.

    ``wheel`` is the pytabby-browser wheel to ship; by default one is built from the
    installed package.
    """
    pyodide = pyodide.resolve()
    if not (pyodide / "pyodide.mjs").is_file() or not (pyodide / LOCK).is_file():
        raise DistError(f"{pyodide} is not a Pyodide folder (it needs pyodide.mjs and {LOCK}): "
                        "pass the npm package's folder (node_modules/pyodide) or an unpacked Pyodide release")
    if importlib.util.find_spec("pyodide_lock") is None or importlib.util.find_spec("pkginfo") is None:
        raise DistError('making a Pyodide folder needs pyodide-build and pkginfo: pip install "pytabby-browser[dist]" '
                        "(on Python >= 3.12)")
    if out.resolve() == pyodide:
        raise DistError(f"{out} is the Pyodide folder itself: choose another output folder")
    if out.exists() and any(out.iterdir()) and not (out / LOCK).is_file():
        raise DistError(f"{out} exists and is not a Pyodide folder made before: choose a new or empty folder")
    if wheel is not None and not wheel.is_file():
        raise DistError(f"--wheel {wheel}: no such file")
    files = None if wheel is not None else _installed_files()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for source in sorted(pyodide.iterdir()):
        if source.is_file() and source.name not in NOT_SERVED and not source.name.endswith(NOT_SERVED_SUFFIXES):
            shutil.copy2(source, out / source.name)
    added = [Path(shutil.copy2(wheel, out / wheel.name)) if wheel else wheel_from_installed(out, files)]
    leave_out_what_tabs_never_import(added[0])
    if shutil.which("node"):
        add_bytecode(added[0], pyodide)
    else:
        warnings.warn("node is not on the PATH: the wheel ships without byte code (tabs compile pytabby "
                      "at import, ~4x slower)", stacklevel=2)
    lock = json.loads((pyodide / LOCK).read_text())
    added += _fetch_missing(lock, out)
    _add_wheels(pyodide / LOCK, out, added)
    return sorted(p.name for p in out.iterdir())


def _installed_files() -> tuple[importlib.metadata.Distribution, list[importlib.metadata.PackagePath]]:
    try:
        dist = importlib.metadata.distribution(DIST_NAME)
    except importlib.metadata.PackageNotFoundError:
        raise DistError(f"{DIST_NAME} is not installed here: install it, or pass --wheel") from None
    files = [f for f in dist.files or () if _in_wheel(f)]
    if not any(f.as_posix() == "pytabby/__init__.py" for f in files):
        raise DistError(f"{DIST_NAME} is installed in editable mode (no files to pack): "
                        "build a wheel (pip wheel --no-deps .) and pass it with --wheel")
    return dist, files


def wheel_from_installed(
    out: Path, installed: tuple[importlib.metadata.Distribution, list[importlib.metadata.PackagePath]] | None = None,
) -> Path:
    """Write the installed pytabby-browser back into a wheel in ``out`` (the files its RECORD lists)."""
    dist, files = installed or _installed_files()
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    path = out / f"{DIST_NAME.replace('-', '_')}-{dist.version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for file in files:
            data = Path(str(file.locate())).read_bytes()
            wheel.writestr(file.as_posix(), data)
            record.append(f"{file.as_posix()},sha256={_digest(data)},{len(data)}")
        record.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


# Runs in node: boots the given Pyodide, compiles the sources sent on stdin with its own Python.
_COMPILE_JS = """
const [pyodideDir] = process.argv.slice(1);
const { loadPyodide } = await import(new URL("pyodide.mjs", "file://" + pyodideDir + "/").href);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const sources = JSON.parse(Buffer.concat(chunks).toString());
const pyodide = await loadPyodide({ indexURL: pyodideDir + "/" });
for (const [path, text] of Object.entries(sources)) {
    pyodide.FS.mkdirTree("/build/" + path.split("/").slice(0, -1).join("/"));
    pyodide.FS.writeFile("/build/" + path, text);
}
pyodide.globals.set("paths", Object.keys(sources));
const compiled = pyodide.runPython(`
import base64, importlib.util, py_compile
compiled = {}
for path in paths:
    target = importlib.util.cache_from_source(path)
    py_compile.compile("/build/" + path, cfile="/build/" + target, dfile=path, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    compiled[target] = base64.b64encode(open("/build/" + target, "rb").read()).decode()
compiled
`).toJs({ dict_converter: Object.fromEntries });
process.stdout.write(JSON.stringify(compiled));
"""


def leave_out_what_tabs_never_import(wheel: Path) -> None:
    """Remove ``NOT_IN_TABS`` and the entry points (they name the test kit) from the wheel and its RECORD."""
    entries = _read_wheel(wheel)
    _write_wheel(wheel, {name: data for name, data in entries.items()
                         if not name.startswith(NOT_IN_TABS)
                         and not (".dist-info/" in name and name.rsplit("/", 1)[-1] in NOT_IN_TABS_INFO)})


def add_bytecode(wheel: Path, pyodide: Path) -> None:
    """Add the wheel's modules compiled by ``pyodide``'s Python (run by node) to the wheel and its RECORD.

    Unchecked-hash ``.pyc`` files: the import system loads them without reading the source first.
    """
    entries = _read_wheel(wheel)
    sources = {name: data.decode() for name, data in entries.items() if name.endswith(".py")}
    result = subprocess.run(["node", "--input-type=module", "-e", _COMPILE_JS, str(pyodide)],
                            input=json.dumps(sources), capture_output=True, text=True)
    if result.returncode != 0:
        raise DistError(f"compiling pytabby with {pyodide}'s Python (node) failed:\n{result.stderr.strip()}")
    entries.update((name, base64.b64decode(data)) for name, data in json.loads(result.stdout).items())
    _write_wheel(wheel, entries)


def _read_wheel(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_wheel(wheel: Path, entries: dict[str, bytes]) -> None:
    """Write ``entries`` as the wheel, its RECORD listing each (the RECORD's own entry last, unhashed)."""
    record_name = next(name for name in entries if name.endswith(".dist-info/RECORD"))
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in entries.items() if name != record_name]
    entries[record_name] = ("\n".join([*record, f"{record_name},,"]) + "\n").encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in entries.items():
            new.writestr(name, data)


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _in_wheel(file: importlib.metadata.PackagePath) -> bool:
    if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix == ".pyc":
        return False  # console scripts, byte code: the installer's
    return not (file.parts[0].endswith(".dist-info") and file.name in INSTALLER_FILES)


def _fetch_missing(lock: dict[str, object], out: Path) -> list[Path]:
    """micropip and packaging: from the Pyodide folder if it has them, else from PyPI at the lock's versions."""
    packages = lock["packages"]
    info = lock["info"]
    assert isinstance(packages, dict) and isinstance(info, dict)
    missing = [name for name in FROM_PYPI if not (out / packages[name]["file_name"]).is_file()]
    if not missing:
        return []
    python = ".".join(str(info["python"]).split(".")[:2])
    pins = [f"{name}=={packages[name]['version']}" for name in missing]
    with tempfile.TemporaryDirectory() as download:
        _run(sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "download", "--no-deps",
             "--only-binary=:all:", "--python-version", python, "-d", download, *pins)
        return [Path(shutil.copy2(w, out / w.name)) for w in sorted(Path(download).glob("*.whl"))]


def _add_wheels(source_lock: Path, out: Path, wheels: list[Path]) -> None:
    _run(sys.executable, "-m", "pyodide_cli", "lockfile", "add-wheels", "--input", source_lock,
         "--output", out / LOCK, "--base-path", out, *wheels)


def _run(*command: str | Path) -> None:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if result.returncode != 0:
        raise DistError(f"{' '.join(map(str, command[:6]))} ... failed:\n{result.stdout}{result.stderr}".strip())
