"""The README's commands work as written: each `$ safetrail …` line and the Python example run on the sample case."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from safetrail.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SAMPLE = ROOT / "src" / "safetrail" / "samples" / "case"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_names_the_two_setup_commands() -> None:
    assert "make demo" in README and "make test" in README


def test_readme_console_commands_run_on_the_sample_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN the sample case folder WHEN every README command runs in order THEN each exits 0."""
    work = tmp_path / "case"
    shutil.copytree(SAMPLE, work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("SAFETRAIL_VAULT", str(tmp_path / "vault"))
    monkeypatch.setenv("SAFETRAIL_PASSPHRASE", "readme passphrase")
    commands = [line[2:] for block in _blocks("console") for line in block.splitlines() if line.startswith("$ ")]
    assert len(commands) >= 6
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "safetrail"
        assert main(argv[1:]) == 0, (command, capsys.readouterr())
    assert (work / "evidence.zip").exists() and (work / "evidence.pdf").exists()


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(SAMPLE)
    (code,) = _blocks("python")
    exec(compile(code, "README.md", "exec"), {})
    assert "Liam Carter" in capsys.readouterr().out
