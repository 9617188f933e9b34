"""A tiny importer for testing the vault, pack and CLI without depending on any real platform's parser.

Format (``.fake`` files): ``FAKE v1`` on the first line, then ``ISO-8601 time|sender|text`` per line; a line
``@attach name|text`` attaches ``text`` as a file to the previous message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import BinaryIO, ClassVar

from safetrail.errors import ParseError
from safetrail.importers.base import ParseContext, Probe, Record
from safetrail.importers.registry import Registered
from safetrail.model import Attachment, Message, ParseWarning, Participant, Precision, Timestamp, TimestampKind


class FakeImporter:
    name: ClassVar[str] = "fake"
    version: ClassVar[str] = "1"
    platform: ClassVar[str] = "fake"
    title: ClassVar[str] = "Test-only line format"
    variants: ClassVar[tuple[str, ...]] = ("FAKE v1",)

    def sniff(self, probe: Probe) -> float:
        return 1.0 if probe.head.startswith(b"FAKE v1") else 0.0

    def parse(self, stream: BinaryIO, ctx: ParseContext) -> Iterator[Record]:
        pending: Message | None = None
        for n, raw in enumerate(stream.read().decode("utf-8").splitlines(), 1):
            if n == 1:
                continue
            loc = f"{ctx.source.name}#L{n}"
            if raw.startswith("@attach "):
                if pending is None:
                    raise ParseError("attachment before any message", path=ctx.source.name, locator=loc)
                name, _, body = raw[8:].partition("|")
                data = body.encode()
                att = Attachment(name=name, locator=loc, media_type="text/plain",
                                 sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data)
                pending = replace(pending, attachments=(*pending.attachments, att))
                continue
            if pending is not None:
                yield pending
                pending = None
            parts = raw.split("|", 2)
            if len(parts) != 3:
                yield ParseWarning(ctx.source.sha256, loc, "line is not time|sender|text")
                continue
            when, sender, text = parts
            ts = Timestamp(datetime.fromisoformat(when), TimestampKind.ABSOLUTE, Precision.SECOND, as_written=when)
            pending = Message(source_sha256=ctx.source.sha256, locator=loc, platform="fake", conversation="chat",
                              timestamp=ts, text=text, raw=raw, sender=Participant(sender),
                              from_me=sender == "Me")
        if pending is not None:
            yield pending


def fake_regs() -> list[Registered]:
    return [Registered(FakeImporter(), "test")]


def write_fake(path, lines: list[str]):  # type: ignore[no-untyped-def]
    path.write_text("FAKE v1\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


class DictFiles:
    """``RelatedFiles`` over a dict, recording what was asked for."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.asked: list[str] = []

    def read(self, relpath: str) -> bytes | None:
        self.asked.append(relpath)
        return self.files.get(relpath)
