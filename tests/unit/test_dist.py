"""``python -m pytabby dist``'s refusals: each names the problem and what to do, and nothing is half-made."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytabby.__main__ import main


def test_a_folder_that_is_not_pyodide_is_refused_with_what_to_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["dist", str(tmp_path / "out"), "--pyodide", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m pytabby dist: ") and "is not a Pyodide folder (it needs pyodide.mjs and " in err
    assert "node_modules/pyodide" in err and not (tmp_path / "out").exists()


def test_an_editable_install_asks_for_a_wheel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pyodide = tmp_path / "pyodide"
    pyodide.mkdir()
    (pyodide / "pyodide.mjs").write_text("")
    (pyodide / "pyodide-lock.json").write_text("{}")
    assert main(["dist", str(tmp_path / "out"), "--pyodide", str(pyodide)]) == 2  # this venv's install is editable
    assert "installed in editable mode" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_existing_folder_that_is_not_a_pyodide_folder_is_left_alone(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    pyodide = tmp_path / "pyodide"
    pyodide.mkdir()
    (pyodide / "pyodide.mjs").write_text("")
    (pyodide / "pyodide-lock.json").write_text("{}")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "index.html").write_text("mine")
    assert main(["dist", str(tmp_path / "app"), "--pyodide", str(pyodide)]) == 2
    assert "exists and is not a Pyodide folder made before" in capsys.readouterr().err
    assert (tmp_path / "app" / "index.html").read_text() == "mine"


def test_a_missing_wheel_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pyodide = tmp_path / "pyodide"
    pyodide.mkdir()
    (pyodide / "pyodide.mjs").write_text("")
    (pyodide / "pyodide-lock.json").write_text("{}")
    assert main(["dist", str(tmp_path / "out"), "--pyodide", str(pyodide), "--wheel", str(tmp_path / "no.whl")]) == 2
    assert f"--wheel {tmp_path / 'no.whl'}: no such file" in capsys.readouterr().err


def test_the_wheel_gets_byte_code_from_the_pyodide_python_listed_in_its_record(tmp_path: Path) -> None:
    """Compiled by the given Pyodide (run by node, as ``make_dist`` does), unchecked-hash, hashed in RECORD."""
    import base64
    import hashlib
    import json
    import zipfile

    from pytabby._dist import add_bytecode

    pyodide = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "pyodide"
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/__init__.py", "ANSWER = 42\n")
        archive.writestr("demo-1.0.dist-info/RECORD", "demo/__init__.py,,\ndemo-1.0.dist-info/RECORD,,\n")
    add_bytecode(wheel, pyodide)
    major, minor = json.loads((pyodide / "pyodide-lock.json").read_text())["info"]["python"].split(".")[:2]
    pyc_name = f"demo/__pycache__/__init__.cpython-{major}{minor}.pyc"
    with zipfile.ZipFile(wheel) as archive:
        pyc = archive.read(pyc_name)
        record = archive.read("demo-1.0.dist-info/RECORD").decode().splitlines()
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source never checked
    digest = base64.urlsafe_b64encode(hashlib.sha256(pyc).digest()).rstrip(b"=").decode()
    assert f"{pyc_name},sha256={digest},{len(pyc)}" in record
    assert record[-1] == "demo-1.0.dist-info/RECORD,,"


def test_the_served_wheel_leaves_out_what_no_tab_imports_and_its_record_says_so(tmp_path: Path) -> None:
    import zipfile

    from pytabby._dist import leave_out_what_tabs_never_import

    wheel = tmp_path / "pytabby_browser-1.0-py3-none-any.whl"
    kept = ["pytabby/__init__.py", "pytabby/_core/envelope.py", "pytabby/_browser/tab.py", "pytabby/py.typed",
            "pytabby_browser-1.0.dist-info/METADATA"]
    left_out = ["pytabby/pytest/plugin.py", "pytabby/server/app.py", "pytabby/static/pytabby-boot.js",
                "pytabby/testing/__init__.py", "pytabby/_dist.py", "pytabby/__main__.py",
                "pytabby_browser-1.0.dist-info/entry_points.txt"]
    with zipfile.ZipFile(wheel, "w") as archive:
        for name in [*kept, *left_out]:
            archive.writestr(name, f"# {name}\n")
        archive.writestr("pytabby_browser-1.0.dist-info/RECORD", "")
    leave_out_what_tabs_never_import(wheel)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record_text = archive.read("pytabby_browser-1.0.dist-info/RECORD").decode()
    record = [line.split(",")[0] for line in record_text.splitlines()]
    assert sorted(names) == sorted([*kept, "pytabby_browser-1.0.dist-info/RECORD"])
    assert record == [*kept, "pytabby_browser-1.0.dist-info/RECORD"]
