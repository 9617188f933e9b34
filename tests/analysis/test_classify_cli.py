"""The ``classify`` command's contract, through a tiny Typer app built with ``register``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from safetrail.analysis.classifier import CATEGORIES
from safetrail.cli.analysis_commands import register


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


def test_jsonl_file_gives_one_object_per_input(app: typer.Typer, tmp_path: Path) -> None:
    """GIVEN a JSONL file WHEN classified THEN each input gets text, a score per category and the labels."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "I\'m going to hurt you, watch your back"}\n\n{"text": "see you at 8"}\n',
                      encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", str(source)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in lines] == ["I'm going to hurt you, watch your back", "see you at 8"]
    for obj in lines:
        assert set(obj) == {"text", "scores", "labels"}
        assert set(obj["scores"]) == set(CATEGORIES)
        assert all(0.0 <= p <= 1.0 for p in obj["scores"].values())
    assert "threat" in lines[0]["labels"]
    assert lines[1]["labels"] == []


def test_plain_lines_from_stdin(app: typer.Typer) -> None:
    """GIVEN plain text on standard input WHEN classified THEN each line is one input."""
    result = CliRunner().invoke(app, ["classify"], input="hello there\nplease stop messaging me\n")
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in objs] == ["hello there", "please stop messaging me"]
    assert "refusal" in objs[1]["labels"]


@pytest.mark.parametrize("bad", ['{"text": "ok"}\n{"txt": "missing"}\n', '{"text": "ok"}\n{not json\n'])
def test_bad_line_is_named_without_traceback(app: typer.Typer, tmp_path: Path, bad: str) -> None:
    """GIVEN a JSON line that is broken or lacks "text" WHEN classified THEN a calm error names line 2."""
    source = tmp_path / "bad.jsonl"
    source.write_text(bad, encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", str(source)])
    assert result.exit_code != 0
    assert "line 2" in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_missing_file_is_a_clear_error(app: typer.Typer, tmp_path: Path) -> None:
    """GIVEN a path that does not exist WHEN classified THEN the error names the file."""
    result = CliRunner().invoke(app, ["classify", str(tmp_path / "nope.jsonl")])
    assert result.exit_code != 0
    assert "nope.jsonl" in result.stderr and "does not exist" in result.stderr
