"""`make demo` runs `safetrail demo`: the sample case imports cleanly, is analysed, packed and verified."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from safetrail.cli.main import main


@pytest.mark.slow
def test_demo_builds_and_verifies_the_sample_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo-out"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    pdf = out / "safetrail-demo-pack.pdf"
    assert pdf.exists() and str(pdf.resolve()) in printed.replace("\n", "")
    with zipfile.ZipFile(out / "safetrail-demo-pack.zip") as zf:
        manifest = json.loads(zf.read("safetrail-demo-pack/manifest.json"))
        analysis = json.loads(zf.read("safetrail-demo-pack/data/analysis.json"))
    assert {e["importer"] for e in manifest["exhibits"]} == {"whatsapp", "telegram", "meta", "sms", "email"}
    assert manifest["warnings"] == []
    kinds = {f["kind"] for f in analysis["findings"]}
    assert {"after_refusal", "night_contact", "unanswered_burst", "new_identity_after_block"} <= kinds
    # A second run replaces its own earlier output and nothing else.
    assert main(["demo", "--out", str(out)]) == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    assert main(["demo", "--out", str(tmp_path / "other")]) == 2
    assert (tmp_path / "other" / "keep.txt").read_text() == "mine"
