"""The command line as a person (or a script) uses it: exit codes, calm messages, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fakes import FakeImporter, write_fake

from safetrail.cli.main import main
from safetrail.importers import registry


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("SAFETRAIL_VAULT", str(tmp_path / "vault"))
    monkeypatch.setenv("SAFETRAIL_PASSPHRASE", "a long test passphrase")
    monkeypatch.setattr(registry, "BUILTIN", (*registry.BUILTIN, FakeImporter))
    return tmp_path


def _chat(tmp_path: Path) -> Path:
    return write_fake(tmp_path / "chat.fake", [
        "2026-02-01T21:40:00+00:00|Me|Please stop messaging me.",
        "2026-02-01T23:10:00+00:00|Liam|answer me",
        "2026-02-02T01:00:00+00:00|Liam|you can't ignore me forever",
    ])


def test_init_import_timeline_pack_verify_log(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN a fresh machine WHEN the documented commands run in order THEN each succeeds and says what it did."""
    assert main(["init", "--initials", "ps"]) == 0
    assert main(["import", str(_chat(env))]) == 0
    assert "chat.fake" in capsys.readouterr().out
    assert main(["import", str(_chat(env))]) == 0
    assert "already in the vault" in capsys.readouterr().out

    assert main(["timeline", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["Please stop messaging me.", "answer me", "you can't ignore me forever"]
    for key in ("id", "platform", "conversation", "sender", "timestamp", "timestamp_kind", "text",
                "source_sha256", "locator"):
        assert key in rows[0]
    assert main(["timeline", "--json", "--sender", "liam", "--since", "2026-02-02"]) == 0
    assert [json.loads(x)["text"] for x in capsys.readouterr().out.splitlines()] == ["you can't ignore me forever"]
    assert main(["timeline", "--text", "ANSWER"]) == 0
    assert "1 messages" in capsys.readouterr().out

    assert main(["pack", "--out", str(env / "pack.zip")]) == 0
    assert (env / "pack.pdf").exists()
    assert main(["verify", str(env / "pack.zip")]) == 0
    assert "complete and unchanged" in capsys.readouterr().out
    assert main(["log"]) == 0
    assert "hash chain of all" in capsys.readouterr().out


def test_verify_exit_codes(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    main(["import", str(_chat(env))])
    main(["pack", "--out", str(env / "p.zip")])
    data = bytearray((env / "p.zip").read_bytes())
    idx = data.index(b"Please stop")
    data[idx] ^= 1
    (env / "bad.zip").write_bytes(bytes(data))
    assert main(["verify", str(env / "bad.zip")]) == 1
    assert "originals" in capsys.readouterr().out
    (env / "junk.zip").write_bytes(b"junk")
    assert main(["verify", str(env / "junk.zip")]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "code", "words"), [
    (["timeline"], 1, "no vault"),
    (["import", "/nonexistent/file.txt"], 1, "no such file"),
    (["import", "--format", "nope", "x"], 2, "no format called 'nope'"),
    (["verify", "/nonexistent.zip"], 2, "cannot be opened"),
])
def test_errors_are_one_sentence_with_a_hint_and_no_traceback(env: Path, capsys: pytest.CaptureFixture[str],
                                                              argv: list[str], code: int, words: str) -> None:
    assert main(argv) == code
    captured = capsys.readouterr()
    assert words in captured.err + captured.out
    assert "Traceback" not in captured.err + captured.out


def test_wrong_passphrase_via_cli(env: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    monkeypatch.setenv("SAFETRAIL_PASSPHRASE", "not it")
    assert main(["timeline"]) == 1
    err = capsys.readouterr().err
    assert "passphrase does not open this vault" in err and "Traceback" not in err


def test_unknown_file_lists_supported_formats(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    junk = env / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff not a chat")
    assert main(["import", str(junk)]) == 1
    err = capsys.readouterr().err
    assert "photo.jpg" in err and "Supported formats" in err and "fake" in err


def test_formats_lists_every_importer(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["formats"]) == 0
    assert "fake" in capsys.readouterr().out


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from safetrail.cli.main import app

    for command in app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        assert command.callback is not None and command.callback.__doc__, name
        assert main([name.rstrip("_"), "--help"]) == 0
        assert "Usage" in capsys.readouterr().out
