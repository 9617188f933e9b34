"""The evidence pack: BagIt layout that sha256sum and the bagit validator accept; verify catches every change."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import bagit
import pytest
from tests.fakes import fake_regs, write_fake

from safetrail.errors import PackUnreadable
from safetrail.reports import bag
from safetrail.reports.pack import write_pack
from safetrail.reports.verify import verify_pack

NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def pack(vault_factory, tmp_path: Path) -> Path:
    vault = vault_factory(exhibit_prefix="PS")
    src = write_fake(tmp_path / "chat.fake", [
        "2026-02-01T21:40:00+00:00|Me|Please stop messaging me.",
        "2026-02-01T23:10:00+00:00|Liam|=HYPERLINK(\"http://x\") answer me",
        "@attach photo.txt|pretend photo",
        "2026-02-02T01:00:00+00:00|Liam|you can't ignore me forever — L 😡",
    ])
    vault.import_file(src, regs=fake_regs())
    result = write_pack(vault, tmp_path / "out" / "case.zip", tz=ZoneInfo("Europe/London"), now=NOW)
    assert result.pdf_path.exists() and result.files >= 9
    assert [e.action for e in vault.custody_log()][-2:] == ["pack-started", "pack-written"]
    return result.zip_path


def _rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes | None],
             extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def test_fresh_pack_verifies(pack: Path) -> None:
    report = verify_pack(pack)
    assert report.ok, report.problems
    assert report.checked >= 9 and len(report.merkle_root) == 64


def test_pack_is_a_valid_bag_for_sha256sum_and_the_bagit_validator(pack: Path, tmp_path: Path) -> None:
    """GIVEN a pack WHEN unzipped THEN `sha256sum -c` and the independent bagit validator both accept it."""
    shutil.unpack_archive(pack, tmp_path / "x")
    (root,) = (tmp_path / "x").iterdir()
    bagit.Bag(str(root)).validate()
    for manifest in (bag.PAYLOAD_MANIFEST, bag.TAG_MANIFEST):
        done = subprocess.run(["sha256sum", "-c", manifest], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    rows = (root / "data" / "messages.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in rows  # formula injection defused in the CSV
    jsonl = [json.loads(x) for x in (root / "data" / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert jsonl[1]["text"].startswith("=HYPERLINK") and jsonl[1]["exhibit"] == "PS/1"


def _members(pack: Path) -> list[str]:
    with zipfile.ZipFile(pack) as zf:
        return [i.filename for i in zf.infolist()]


def test_one_byte_change_in_any_file_is_named(pack: Path, tmp_path: Path) -> None:
    """GIVEN a pack WHEN one byte of any single file changes THEN verify fails and names that file."""
    for name in _members(pack):
        rel = name.split("/", 1)[1]

        def flip(n: str, data: bytes, target: str = name) -> bytes:
            if n != target or not data:
                return data
            return bytes([data[0] ^ 0x01]) + data[1:]

        report = verify_pack(_rewrite(pack, tmp_path / "t.zip", flip))
        assert not report.ok, name
        named = {p.file for p in report.problems}
        if rel == bag.TAG_MANIFEST:
            assert named, name  # its own lines no longer match what they describe
        else:
            assert rel in named or (rel == bag.PAYLOAD_MANIFEST and bag.PAYLOAD_MANIFEST in named), (name, named)


def test_missing_extra_and_changed_manifest_are_named(pack: Path, tmp_path: Path) -> None:
    names = _members(pack)
    root = names[0].split("/", 1)[0]
    original = next(n for n in names if "/data/originals/" in n)
    missing = verify_pack(_rewrite(pack, tmp_path / "m.zip", lambda n, d: None if n == original else d))
    assert any(p.file == original.split("/", 1)[1] and "missing" in p.what for p in missing.problems)

    extra = verify_pack(_rewrite(pack, tmp_path / "e.zip", lambda n, d: d, {f"{root}/data/planted.txt": b"x"}))
    assert any(p.file == "data/planted.txt" and "added" in p.what for p in extra.problems)

    def edit_manifest(n: str, d: bytes) -> bytes:
        if n.endswith("/manifest.json"):
            m = json.loads(d)
            m["messages"] = 1
            return json.dumps(m).encode()
        return d

    changed = verify_pack(_rewrite(pack, tmp_path / "c.zip", edit_manifest))
    assert any(p.file == "manifest.json" for p in changed.problems)


def test_rewritten_custody_log_is_caught_even_with_updated_tag_manifest(pack: Path, tmp_path: Path) -> None:
    """GIVEN someone edits a custody entry and recomputes the tag manifest THEN the hash chain still fails."""
    with zipfile.ZipFile(pack) as zf:
        log_name = next(n for n in zf.namelist() if n.endswith(bag.CUSTODY_NAME))
        lines = zf.read(log_name).decode().splitlines()
    entry = json.loads(lines[0])
    entry["actor"] = "someone else"
    lines[0] = json.dumps(entry)
    new_log = ("\n".join(lines) + "\n").encode()

    def edit(n: str, d: bytes) -> bytes:
        if n == log_name:
            return new_log
        if n.endswith(bag.TAG_MANIFEST):
            tags = bag.parse_manifest(d.decode())
            tags[bag.CUSTODY_NAME] = hashlib.sha256(new_log).hexdigest()
            return bag.format_manifest(tags).encode()
        return d

    report = verify_pack(_rewrite(pack, tmp_path / "l.zip", edit))
    assert any(p.file == bag.CUSTODY_NAME and "changed" in p.what for p in report.problems)


def test_unreadable_pack_raises_unreadable(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip at all")
    with pytest.raises(PackUnreadable):
        verify_pack(bogus)
    with pytest.raises(PackUnreadable):
        verify_pack(tmp_path / "absent.zip")


def test_pdf_reads_as_a_report(pack: Path) -> None:
    """GIVEN a pack WHEN its PDF is turned to text THEN cover, timeline, exhibits, method and checks are there."""
    text = subprocess.run(["pdftotext", "-layout", str(pack.with_suffix(".pdf")), "-"], capture_output=True,
                          text=True, check=True).stdout
    for expected in ("Record of unwanted contact", "Summary", "Timeline", "Please stop messaging me", "PS/1",
                     "not a forensic extraction", "sha256sum -c manifest-sha256.txt", "Merkle root"):
        assert expected in text, expected
    sha = hashlib.sha256((pack.parent / "case.zip").read_bytes()).hexdigest()
    assert sha not in text  # the PDF cannot contain its own pack's hash; it names the originals'


def test_attachments_keep_their_file_extension(pack: Path) -> None:
    """GIVEN a chat with an attached photo.txt WHEN packed THEN the attachment is named <sha>.txt (so it opens
    with a double click) after the SHA-256 that messages.jsonl gives for it."""
    with zipfile.ZipFile(pack) as z:
        names = [n for n in z.namelist() if "/data/attachments/" in n]
        messages = z.read(next(n for n in z.namelist() if n.endswith("data/messages.jsonl"))).decode()
    assert len(names) == 1 and names[0].endswith(".txt")
    assert names[0].rsplit("/", 1)[1].removesuffix(".txt") in messages
