"""Fuzzing the Telegram and Meta JSON importers: whatever the bytes, only SafetrailError, never a hang or a crash,
and everything yielded can be stored (UTF-8-encodable text, aware timestamps)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetrail.errors import SafetrailError
from safetrail.importers.base import Limits, ParseContext
from safetrail.importers.jsonread import JsonStream
from safetrail.importers.meta import MetaImporter
from safetrail.importers.telegram import TelegramImporter
from safetrail.model import Message, ParseWarning, Source

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
SAMPLES = ROOT / "src" / "safetrail" / "samples" / "case"

TELEGRAM_FILES = [*sorted(GOLDEN.glob("telegram/*.dir/result.json")), SAMPLES / "telegram" / "result.json"]
META_FILES = sorted(p for p in GOLDEN.glob("meta/**/*.json")
                    if not p.name.endswith((".golden.json", ".options.json"))) \
    + sorted(SAMPLES.glob("instagram/**/message_*.json"))
FIXTURES = [(TelegramImporter(), p.read_bytes()) for p in TELEGRAM_FILES] \
    + [(MetaImporter(), p.read_bytes()) for p in META_FILES]
IMPORTERS = (TelegramImporter(), MetaImporter())
LIMITS = Limits(max_json_bytes=1 << 20)
# SAFETRAIL_FUZZ_EXAMPLES raises the budget for a longer campaign; the default keeps each test to a few seconds.
FUZZ = settings(max_examples=int(os.environ.get("SAFETRAIL_FUZZ_EXAMPLES", "120")), deadline=2000,
                suppress_health_check=[HealthCheck.too_slow])


class Files:
    """A few media files beside the export, so the media paths get exercised too."""

    def read(self, relpath: str) -> bytes | None:
        return {"photos/photo_1@05-03-2026_22-14-03.jpg": b"\xff\xd8\xff\xe0", "media/1.jpg": b"GIF89a"}.get(relpath)


def context(name: str) -> ParseContext:
    return ParseContext(source=Source(sha256="ee" * 32, size=0, name=name), tz=ZoneInfo("Europe/London"),
                        related=Files(), limits=LIMITS)


def run(importer: TelegramImporter | MetaImporter, data: bytes, name: str = "result.json") -> None:
    """Parse fully; any SafetrailError is an acceptable answer, anything else fails the test."""
    try:
        for record in importer.parse(io.BytesIO(data), context(name)):
            if isinstance(record, Message):
                json.dumps(record.to_dict(), ensure_ascii=False).encode("utf-8")
                assert record.timestamp.utc.tzinfo is not None
            else:
                assert isinstance(record, ParseWarning)
                record.reason.encode("utf-8")
                record.locator.encode("utf-8")
    except SafetrailError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replaced(doc: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not path:
        return new
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return doc


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash(data: bytes) -> None:
    """GIVEN arbitrary bytes WHEN either importer parses them THEN only SafetrailError can come out."""
    for importer in IMPORTERS:
        run(importer, data)


@FUZZ
@given(st.sampled_from(FIXTURES), st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255),
                                                     st.sampled_from(["flip", "insert", "delete"])),
                                           min_size=1, max_size=6))
def test_mutated_fixtures_never_crash(fixture: tuple[Any, bytes], edits: list[tuple[int, int, str]]) -> None:
    """GIVEN a real fixture with a few bytes flipped, inserted or deleted WHEN parsed THEN no crash."""
    importer, original = fixture
    data = bytearray(original)
    for position, byte, how in edits:
        at = position % (len(data) + 1)
        if how == "insert":
            data[at:at] = bytes([byte])
        elif data and at < len(data):
            if how == "flip":
                data[at] = byte
            else:
                del data[at]
    run(importer, bytes(data), "message_1.json")


@FUZZ
@given(st.sampled_from(FIXTURES), st.integers(min_value=0), json_values, st.booleans())
def test_structurally_mutated_fixtures_never_crash(fixture: tuple[Any, bytes], pick: int, new: Any,
                                                    delete: bool) -> None:
    """GIVEN a real fixture with one value replaced by arbitrary JSON (or removed) WHEN parsed THEN no crash:
    every field of the wrong type is handled."""
    importer, original = fixture
    doc = json.loads(original)
    candidates = paths(doc)
    path = candidates[pick % len(candidates)]
    mutated = replaced(doc, path, new, delete and bool(path))
    run(importer, json.dumps(mutated, ensure_ascii=False).encode("utf-8"))


@FUZZ
@given(json_values, st.integers(min_value=1, max_value=64), st.integers(min_value=0, max_value=3))
def test_stream_reader_reads_any_document_like_json_loads(value: Any, chunk: int, indent: int) -> None:
    """GIVEN any JSON document, any chunk size WHEN read whole by JsonStream THEN it equals json.loads."""
    data = json.dumps(value, indent=indent or None, ensure_ascii=bool(indent % 2)).encode("utf-8")
    reader = JsonStream(io.BytesIO(data), "doc.json", Limits(), chunk=chunk)
    if isinstance(value, list):
        result: Any = [reader.read_value() for _ in reader.iter_array()]
    elif isinstance(value, dict):
        result = {key: reader.read_value() for key in reader.iter_object()}
    else:
        result = reader.read_value()
    reader.finish()
    assert result == json.loads(data)
