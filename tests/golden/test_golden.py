"""Golden files: every fixture under tests/golden/<platform>/ parses to exactly its ``.golden.json``.

A fixture is any file in a platform folder that is not ``*.golden.json`` or ``*.options.json``. Optional
``<fixture>.options.json`` gives parse options (``format``, ``tz``, ``date_order``). Fixtures that are folders
(e.g. a Telegram export with media) are named ``<name>.dir`` and their entry file is given as ``"entry"`` in
the options. Regenerate after a deliberate change with ``SAFETRAIL_UPDATE_GOLDEN=1 make test`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from safetrail.importers.registry import open_records
from safetrail.model import ParseWarning

GOLDEN = Path(__file__).resolve().parent
SKIP_SUFFIXES = (".golden.json", ".options.json")


def _fixtures() -> list[Path]:
    found = []
    for platform in sorted(p for p in GOLDEN.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        for f in sorted(platform.iterdir()):
            if f.name.endswith(SKIP_SUFFIXES) or f.name.startswith("."):
                continue
            if f.is_file() or f.name.endswith(".dir"):
                found.append(f)
    return found


def golden_output(fixture: Path) -> dict[str, Any]:
    opts_file = fixture.with_name(fixture.name + ".options.json")
    opts = json.loads(opts_file.read_text(encoding="utf-8")) if opts_file.exists() else {}
    entry = fixture / opts.pop("entry") if fixture.is_dir() else fixture
    opts.setdefault("tz", "Europe/London")
    opened = open_records(entry, **opts)
    messages, warnings = [], []
    for record in opened.records:
        if isinstance(record, ParseWarning):
            warnings.append({"locator": record.locator, "reason": record.reason})
        else:
            messages.append(record.to_dict())
    return {"importer": opened.source.importer, "importer_version": opened.source.importer_version,
            "source_sha256": opened.source.sha256, "messages": messages, "warnings": warnings}


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_matches_golden(fixture: Path) -> None:
    """GIVEN a byte-exact export fixture WHEN parsed THEN the output equals the reviewed golden file."""
    golden_file = fixture.with_name(fixture.name + ".golden.json")
    actual = golden_output(fixture)
    if os.environ.get("SAFETRAIL_UPDATE_GOLDEN") == "1" or not golden_file.exists():
        golden_file.write_text(json.dumps(actual, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        if os.environ.get("SAFETRAIL_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {golden_file.name} was missing and has been written: review and commit it")
    expected = json.loads(golden_file.read_text(encoding="utf-8"))
    assert actual == expected
