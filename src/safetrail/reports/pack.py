"""Write the evidence pack: a BagIt ZIP (originals, messages, manifest, custody log, report) plus the PDF beside it.

Before anything is written every stored original is re-hashed (SECURITY.md 1); the pack is built under a
temporary name and renamed into place only when complete (24); its creation is written to the custody log. The
pack holds copies: nothing in the vault changes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import mimetypes
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from safetrail import __version__
from safetrail.errors import PackError, VaultCorrupt
from safetrail.hashing import sha256_file
from safetrail.model import Finding, Flag, Message
from safetrail.reports import bag
from safetrail.reports.context import exhibit_refs
from safetrail.reports.pdf import render_pdf
from safetrail.storage.custody import merkle_root
from safetrail.storage.vault import StoredSource, Vault

__all__ = ["PackResult", "write_pack"]

CSV_FIELDS = ["id", "exhibit", "platform", "conversation", "time_utc", "time_kind", "time_zone", "time_as_written",
              "sender", "sender_id", "from_me", "kind", "text", "attachments", "edited", "deleted", "locator",
              "source_sha256"]


@dataclass(frozen=True, slots=True)
class PackResult:
    zip_path: Path
    pdf_path: Path
    files: int
    messages: int
    merkle_root: str
    sha256: str


class _Writer:
    """Adds files under the bag folder and remembers each payload file's SHA-256."""

    def __init__(self, zf: zipfile.ZipFile, root: str, when: datetime) -> None:
        self.zf, self.root = zf, root
        self.date_time = when.astimezone(UTC).timetuple()[:6]
        self.payload: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        self.tags: dict[str, str] = {}

    def _info(self, rel: str, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(f"{self.root}/{rel}", date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    def add(self, rel: str, chunks: Iterable[bytes], *, compress: bool = False, tag: bool = False) -> str:
        digest, size = hashlib.sha256(), 0
        with self.zf.open(self._info(rel, compress), "w", force_zip64=True) as fh:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
        (self.tags if tag else self.payload)[rel] = digest.hexdigest()
        self.sizes[rel] = size
        return digest.hexdigest()

    def add_bytes(self, rel: str, data: bytes, *, compress: bool = True, tag: bool = False) -> str:
        return self.add(rel, [data], compress=compress, tag=tag)


def _message_json(m: Message, exhibit: str) -> dict[str, Any]:
    d = m.to_dict()
    d["exhibit"] = exhibit
    return d


def _jsonl(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    batch: list[str] = []
    for row in rows:
        batch.append(json.dumps(row, ensure_ascii=False))
        if len(batch) >= 1000:
            yield ("\n".join(batch) + "\n").encode("utf-8")
            batch.clear()
    if batch:
        yield ("\n".join(batch) + "\n").encode("utf-8")


def _csv_rows(messages: list[Message], refs: dict[str, str]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    buf.write("\ufeff")  # so spreadsheet programs read UTF-8
    writer.writeheader()
    for i, m in enumerate(messages, 1):
        writer.writerow({
            "id": m.id, "exhibit": refs.get(m.source_sha256, ""), "platform": m.platform,
            "conversation": m.conversation, "time_utc": m.timestamp.iso(), "time_kind": m.timestamp.kind.value,
            "time_zone": m.timestamp.zone or "", "time_as_written": m.timestamp.as_written or "",
            "sender": m.sender_name, "sender_id": m.sender.platform_id if m.sender else "",
            "from_me": "" if m.from_me is None else ("yes" if m.from_me else "no"), "kind": m.kind.value,
            "text": _csv_safe(m.text), "attachments": "; ".join(a.name for a in m.attachments),
            "edited": "yes" if m.edited else "", "deleted": "yes" if m.deleted else "", "locator": m.locator,
            "source_sha256": m.source_sha256,
        })
        if i % 1000 == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def _csv_safe(text: str) -> str:
    # A cell starting with = + - @ runs as a formula in spreadsheet programs; a leading apostrophe shows the
    # text as written. The exact text is in messages.jsonl.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _attachment_name(sha: str, name: str, media_type: str | None) -> str:
    ext = Path(name).suffix.lower()
    if not ext or len(ext) > 8:
        ext = mimetypes.guess_extension(media_type or "") or ""
    return f"attachments/{bag.safe_name(sha[:16] + ext)}"


def write_pack(vault: Vault, out: Path, *, tz: ZoneInfo, title: str | None = None,
               now: datetime | None = None) -> PackResult:
    """Write ``out`` (a .zip) and the same report as a PDF beside it; return what was written."""
    if out.suffix.lower() != ".zip":
        out = out.with_suffix(".zip")
    when = now or datetime.now(UTC)
    sources = vault.sources()
    for src in sources:
        if not vault.recheck_blob(src.sha256):
            raise VaultCorrupt(f"the stored copy of {src.name} no longer matches its SHA-256; the pack was not written")
    vault.append_custody("pack-started", out.name, {"originals_rechecked": len(sources),
                                                    "tool": f"safetrail {__version__}"})
    messages = list(vault.messages())
    run, flags, findings = vault.latest_analysis()
    custody = vault.custody_log()
    warnings = vault.warnings()
    refs = exhibit_refs(vault.case_info()["exhibit_prefix"], sources)
    bag_root = bag.safe_name(out.stem)
    tmp = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            w = _Writer(zf, bag_root, when)
            exhibits = _write_originals(w, vault, sources, refs)
            _write_attachments(w, vault, messages)
            w.add("data/messages.jsonl", _jsonl(_message_json(m, refs.get(m.source_sha256, "")) for m in messages),
                  compress=True)
            w.add("data/messages.csv", _csv_rows(messages, refs), compress=True)
            if run is not None:
                w.add_bytes("data/analysis.json", json.dumps(
                    _analysis_json(run, flags, findings), ensure_ascii=False, indent=1).encode("utf-8"))
            root = merkle_root(custody)
            report = {
                "title": title or "Record of unwanted contact", "generated_at": when,
                "tz": tz, "sources": sources, "exhibits": exhibits, "messages": messages, "refs": refs,
                "warnings": warnings, "custody": custody, "merkle_root": root, "bag": bag_root,
                "run": run, "flags": flags, "findings": findings,
            }
            pdf = render_pdf(report)
            w.add_bytes("data/report.pdf", pdf, compress=False)
            _write_tag_files(w, when, exhibits, custody, root, messages, warnings, vault, run)
            files = len(w.payload) + len(w.tags)
        zip_sha = sha256_file(tmp)[0]
        pdf_path = out.with_suffix(".pdf")
        pdf_tmp = pdf_path.with_name(pdf_path.name + ".partial")
        pdf_tmp.write_bytes(pdf)
        os.replace(tmp, out)
        os.replace(pdf_tmp, pdf_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PackError(f"the pack could not be written to {out} ({exc.strerror})",
                        hint="Check that the folder exists, is writable and has free space.") from exc
    vault.append_custody("pack-written", out.name, {"sha256": zip_sha, "merkle_root": root,
                                                    "messages": len(messages), "files": files})
    return PackResult(out, pdf_path, files, len(messages), root, zip_sha)


def _write_originals(w: _Writer, vault: Vault, sources: list[StoredSource],
                     refs: dict[str, str]) -> list[dict[str, Any]]:
    exhibits = []
    for src in sources:
        ref = refs[src.sha256]
        rel = f"data/originals/{bag.safe_name(ref.replace('/', '-') + '_' + src.name)}"
        digest = w.add(rel, vault.read_blob(src.sha256))
        if digest != src.sha256:
            raise VaultCorrupt(f"the stored copy of {src.name} changed while the pack was written")
        exhibits.append({"ref": ref, "name": src.name, "path": rel, "sha256": src.sha256, "size": src.size,
                         "importer": src.importer, "importer_version": src.importer_version,
                         "importer_origin": src.importer_origin, "imported_at": src.imported_at,
                         "messages": src.message_count, "warnings": src.warning_count})
    return exhibits


def _write_attachments(w: _Writer, vault: Vault, messages: list[Message]) -> None:
    seen: set[str] = set()
    for m in messages:
        for a in m.attachments:
            if a.sha256 and not a.omitted and a.sha256 not in seen:
                seen.add(a.sha256)
                w.add(f"data/{_attachment_name(a.sha256, a.name, a.media_type)}", vault.read_blob(a.sha256))


def _analysis_json(run: dict[str, Any], flags: list[Flag], findings: list[Finding]) -> dict[str, Any]:
    return {
        "run": {k: run[k] for k in ("at", "model_version", "settings", "message_count")},
        "flags": [{"message_id": f.message_id, "category": f.category, "score": round(f.score, 4),
                   "evidence": f.evidence} for f in flags],
        "findings": [{"kind": f.kind, "conversation": f.conversation, "summary": f.summary,
                      "message_ids": list(f.message_ids), "first": f.first.isoformat() if f.first else None,
                      "last": f.last.isoformat() if f.last else None, "counts": dict(f.counts)} for f in findings],
    }


def _write_tag_files(w: _Writer, when: datetime, exhibits: list[dict[str, Any]], custody: list[Any], root: str,
                     messages: list[Message], warnings: list[tuple[str, str, str]], vault: Vault,
                     run: dict[str, Any] | None) -> None:
    case = vault.case_info()
    manifest = {
        "format": "safetrail-pack", "format_version": 1, "tool": f"safetrail {__version__}",
        "created_at": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "case": {"reference": case["reference"], "exhibit_prefix": case["exhibit_prefix"]},
        "files": {rel: {"sha256": digest, "size": w.sizes[rel]} for rel, digest in sorted(w.payload.items())},
        "exhibits": exhibits,
        "messages": len(messages),
        "warnings": [{"source": s, "locator": loc, "reason": r} for s, loc, r in warnings],
        "custody": {"entries": len(custody), "head": custody[-1].entry_hash if custody else None,
                    "merkle_root": root, "hashing": "RFC 6962 (leaf 0x00, node 0x01), SHA-256"},
        "analysis": {"model_version": run["model_version"], "at": run["at"]} if run else None,
        "statement": "Copies of exports the account holder made themselves; not a forensic extraction.",
    }
    oxum = f"{sum(w.sizes[r] for r in w.payload)}.{len(w.payload)}"
    w.add_bytes(bag.PAYLOAD_MANIFEST, bag.format_manifest(w.payload).encode("utf-8"), tag=True)
    w.add_bytes("bagit.txt", bag.BAGIT_TXT.encode("utf-8"), tag=True)
    info = (f"Source-Organization: safetrail {__version__}\nBagging-Date: {when.astimezone(UTC).date().isoformat()}\n"
            f"Payload-Oxum: {oxum}\nExternal-Description: Evidence pack of messages the account holder exported"
            " themselves; not a forensic extraction.\n")
    w.add_bytes("bag-info.txt", info.encode("utf-8"), tag=True)
    w.add_bytes(bag.MANIFEST_JSON, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), tag=True)
    w.add(bag.CUSTODY_NAME, _jsonl(e.to_dict() for e in custody), compress=True, tag=True)
    w.add_bytes(bag.TAG_MANIFEST, bag.format_manifest(w.tags).encode("utf-8"))

