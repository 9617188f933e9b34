"""Check an evidence pack: every file against both manifests, nothing missing or added, the custody chain and root.

Works from the ZIP as received, without unpacking it to disk. Stored (uncompressed) members are hashed straight
from the file at their data offset, so checking a large pack costs about what ``sha256sum`` costs on the same
bytes. A pack that cannot be opened at all raises ``PackUnreadable`` (exit 2); any difference is a ``Problem``
naming the file (exit 1).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from safetrail.errors import PackUnreadable
from safetrail.reports import bag
from safetrail.storage.custody import CustodyEntry, chain_problems, merkle_root

__all__ = ["Problem", "VerifyReport", "verify_pack"]

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CHUNK = 1 << 20
MAX_TAG_BYTES = 256 << 20


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    what: str

    def __str__(self) -> str:
        return f"{self.file}: {self.what}"


@dataclass(slots=True)
class VerifyReport:
    path: Path
    bag: str = ""
    checked: int = 0
    bytes_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    merkle_root: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _stored_chunks(fh: BinaryIO, info: zipfile.ZipInfo) -> Iterator[bytes]:
    fh.seek(info.header_offset)
    header = fh.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("local header missing")
    name_len, extra_len = _LOCAL_HEADER.unpack(header)[-2:]
    fh.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    remaining = info.compress_size
    while remaining:
        chunk = fh.read(min(_CHUNK, remaining))
        if not chunk:
            raise zipfile.BadZipFile("member is truncated")
        remaining -= len(chunk)
        yield chunk


def _member_sha(zf: zipfile.ZipFile, fh: BinaryIO, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    if info.compress_type == zipfile.ZIP_STORED:
        for chunk in _stored_chunks(fh, info):
            digest.update(chunk)
    else:
        with zf.open(info) as member:
            while chunk := member.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_TAG_BYTES:
        raise zipfile.BadZipFile(f"{info.filename} is implausibly large")
    return zf.read(info)


def verify_pack(path: Path) -> VerifyReport:
    report = VerifyReport(path)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise PackUnreadable(f"{path}: the pack cannot be opened ({exc.strerror})") from exc
    with fh:
        try:
            zf = zipfile.ZipFile(fh)
            _verify(zf, fh, report)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            if isinstance(exc, zipfile.BadZipFile) and report.checked:
                report.problems.append(Problem(path.name, f"the ZIP structure is damaged ({exc})"))
                return report
            raise PackUnreadable(
                f"{path}: this is not a readable evidence pack ({exc})",
                hint="Ask the sender for the pack again; it may have been cut short in transfer.") from exc
    return report


def _verify(zf: zipfile.ZipFile, fh: BinaryIO, report: VerifyReport) -> None:
    infos = [i for i in zf.infolist() if not i.is_dir()]
    roots = {i.filename.split("/", 1)[0] for i in infos}
    if len(roots) != 1 or any("/" not in i.filename for i in infos):
        raise zipfile.BadZipFile("it does not hold exactly one bag folder")
    root = roots.pop()
    report.bag = root
    members = {i.filename[len(root) + 1:]: i for i in infos}
    for required in ("bagit.txt", bag.PAYLOAD_MANIFEST, bag.TAG_MANIFEST):
        if required not in members:
            raise zipfile.BadZipFile(f"{required} is missing, so this is not a safetrail pack")
    problems = report.problems

    def manifest(name: str) -> dict[str, str]:
        try:
            return bag.parse_manifest(_read_small(zf, members[name]).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            problems.append(Problem(name, f"cannot be read ({exc})"))
            return {}

    payload = manifest(bag.PAYLOAD_MANIFEST)
    tags = manifest(bag.TAG_MANIFEST)
    for rel, info in sorted(members.items()):
        if rel.startswith("data/"):
            expected = payload.get(rel)
        elif rel == bag.TAG_MANIFEST:
            continue
        else:
            expected = tags.get(rel)
        if expected is None:
            problems.append(Problem(rel, "is in the pack but not listed in any manifest (a file was added)"))
            continue
        actual = _member_sha(zf, fh, info)
        report.checked += 1
        report.bytes_checked += info.file_size
        if actual != expected:
            problems.append(Problem(rel, "its contents have changed (SHA-256 does not match the manifest)"))
    for rel in sorted(set(payload) - members.keys()):
        problems.append(Problem(rel, "is listed in the manifest but missing from the pack"))
    for rel in sorted(set(tags) - members.keys()):
        problems.append(Problem(rel, "is listed in the tag manifest but missing from the pack"))
    for required in (bag.MANIFEST_JSON, bag.CUSTODY_NAME, bag.PAYLOAD_MANIFEST):
        if required not in tags and required in members:
            problems.append(Problem(required, "is not covered by the tag manifest"))
    _check_manifest_json(zf, members, payload, report)


def _check_manifest_json(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], payload: dict[str, str],
                         report: VerifyReport) -> None:
    problems = report.problems
    if bag.MANIFEST_JSON not in members:
        problems.append(Problem(bag.MANIFEST_JSON, "is missing from the pack"))
        return
    try:
        manifest = json.loads(_read_small(zf, members[bag.MANIFEST_JSON]))
        files = {rel: str(v["sha256"]) for rel, v in manifest["files"].items()}
        custody_info = manifest["custody"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        problems.append(Problem(bag.MANIFEST_JSON, f"cannot be read ({exc})"))
        return
    for rel in sorted(set(files) | set(payload)):
        if files.get(rel) != payload.get(rel):
            problems.append(Problem(bag.MANIFEST_JSON, f"disagrees with {bag.PAYLOAD_MANIFEST} about {rel}"))
    if bag.CUSTODY_NAME not in members:
        problems.append(Problem(bag.CUSTODY_NAME, "is missing from the pack"))
        return
    try:
        lines = _read_small(zf, members[bag.CUSTODY_NAME]).decode("utf-8").splitlines()
        entries = [CustodyEntry.from_dict(json.loads(line)) for line in lines if line.strip()]
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(Problem(bag.CUSTODY_NAME, f"cannot be read ({exc})"))
        return
    problems.extend(Problem(bag.CUSTODY_NAME, p) for p in chain_problems(entries))
    report.merkle_root = merkle_root(entries)
    if report.merkle_root != custody_info.get("merkle_root"):
        problems.append(Problem(bag.CUSTODY_NAME, "its Merkle root does not match the one in manifest.json"))
