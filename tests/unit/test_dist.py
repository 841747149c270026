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
