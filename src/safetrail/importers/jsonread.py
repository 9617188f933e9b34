"""Bounded JSON reading for the Telegram and Meta (Instagram / Messenger) importers.

Two ways to read, both strict and bounded by ``Limits``:

- ``load_document`` reads a whole document of at most ``max_json_bytes`` (a Meta ``message_N.json`` is capped by
  Meta at 10,000 messages, so it is small).
- ``JsonStream`` walks a document without holding it: containers along the path the caller chooses are entered
  one token at a time, and everything else (one Telegram message, one chat's name) is decoded whole with the
  standard library's C decoder. Memory is bounded by the largest single value, which may not exceed
  ``max_json_bytes``; a Telegram account export of several GB streams in a few MB.

Both refuse what a hostile or damaged file could use against us: invalid UTF-8, anything that is not JSON,
duplicate keys in one object (the meaning would be ambiguous), ``NaN``/``Infinity``, numbers too long to convert,
nesting deeper than ``max_json_depth`` (``HostileInput``) and documents or values above ``max_json_bytes``.
Every failure is a ``ParseError`` or ``HostileInput`` naming the file and, where known, the line and column.
Strings holding lone UTF-16 surrogates (from ``\\ud800``-style escapes, which UTF-8 cannot store) are repaired to
U+FFFD and counted in ``replaced_chars`` so the importer can warn.

This module must never open paths, write anything, or let a ``json``, ``UnicodeError`` or ``RecursionError``
escape untranslated.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

from safetrail.errors import HostileInput, ParseError
from safetrail.importers.base import Limits

__all__ = ["JsonStream", "load_document", "value_depth"]

# Small enough that a buffer of text with emoji (4 bytes a character in memory) stays a few MB.
_CHUNK: Final = 1 << 18
_WS = re.compile(r"[ \t\n\r]*")
# A surrogate escape in the source text is the only way a decoded string can hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER_CHARS = "0123456789.eE+-"
_NOT_JSON_HINT = "Check that this is the export file itself and that it was copied completely."


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _BadConstant(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _refuse_constant(name: str) -> Any:
    raise _BadConstant(name)


def _decoder() -> json.JSONDecoder:
    return json.JSONDecoder(object_pairs_hook=_pairs_without_duplicates, parse_constant=_refuse_constant)


def value_depth(value: Any) -> int:
    """How deeply containers nest in a decoded value: a scalar is 0, ``[]`` is 1, ``[{}]`` is 2."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _fix_surrogates(value: Any) -> tuple[Any, int]:
    """The value with every lone surrogate replaced by U+FFFD, and how many were replaced."""
    count = 0

    def fix(text: str) -> str:
        nonlocal count
        fixed, n = _LONE_SURROGATE.subn("\ufffd", text)
        count += n
        return fixed

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return fix(node)
        if isinstance(node, list):
            return [walk(child) for child in node]
        if isinstance(node, dict):
            return {fix(k): walk(v) for k, v in node.items()}
        return node

    # Recursion is safe: depth was checked before this is called.
    return walk(value), count


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - text.rfind("\n", 0, pos)


def _utf8_error(name: str, data: bytes, offset: int) -> ParseError:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - data.rfind(b"\n", 0, offset)
    return ParseError(f"the file is not valid UTF-8 text (a byte that cannot be read at line {line}, column {col})",
                      path=name, hint=_NOT_JSON_HINT)


def load_document(stream: BinaryIO, name: str, limits: Limits) -> tuple[Any, int]:
    """Read and decode a whole JSON document; returns it and the number of lone surrogates replaced."""
    data = stream.read(limits.max_json_bytes + 1)
    if len(data) > limits.max_json_bytes:
        raise HostileInput(f"the file is larger than the {limits.max_json_bytes >> 20} MiB safetrail reads as one "
                           "JSON document", path=name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _utf8_error(name, data, exc.start) from exc
    start = 1 if text.startswith("\ufeff") else 0
    start = _WS.match(text, start).end()  # type: ignore[union-attr]
    try:
        value, end = _decoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise ParseError(f"this is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                         path=name, hint=_NOT_JSON_HINT) from exc
    except _DuplicateKey as exc:
        raise ParseError(f"the key {exc.key!r} appears twice in one object, so its meaning is ambiguous",
                         path=name, hint=_NOT_JSON_HINT) from exc
    except _BadConstant as exc:
        raise ParseError(f"the file holds {exc.name}, which is not valid JSON", path=name, hint=_NOT_JSON_HINT) from exc
    except RecursionError as exc:
        raise HostileInput(f"the JSON is nested more than {limits.max_json_depth} levels deep", path=name) from exc
    except ValueError as exc:  # int() refuses numbers with thousands of digits
        raise ParseError("a number in the file is too long to read", path=name, hint=_NOT_JSON_HINT) from exc
    end = _WS.match(text, end).end()  # type: ignore[union-attr]
    if end != len(text):
        line, col = _line_col(text, end)
        raise ParseError(f"there is more data after the JSON document ends (line {line}, column {col})",
                         path=name, hint=_NOT_JSON_HINT)
    if text.count("{") + text.count("[") > limits.max_json_depth and value_depth(value) > limits.max_json_depth:
        raise HostileInput(f"the JSON is nested more than {limits.max_json_depth} levels deep", path=name)
    replaced = 0
    if _SURROGATE_ESCAPE.search(text):
        value, replaced = _fix_surrogates(value)
    return value, replaced


class JsonStream:
    """A pull reader over one JSON document: enter the containers you want, decode the rest whole.

    Use ``peek_kind`` to see what comes next, then exactly one of ``read_value``, ``iter_object`` (yields each key;
    read its value before the next) or ``iter_array`` (yields each index). A value the caller leaves unread is
    skipped. Exhaust every iterator you start. ``replaced_chars`` tells how many lone surrogates the last
    ``read_value`` repaired.
    """

    def __init__(self, stream: BinaryIO, name: str, limits: Limits, chunk: int = _CHUNK) -> None:
        self._stream = stream
        self._name = name
        self._limits = limits
        self._chunk = chunk
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._decoder = _decoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._started = False
        self._bytes_read = 0
        self._line_base = 0  # newlines in text already dropped from the buffer
        self._col_base = 0  # characters since the last dropped newline
        self._depth = 0
        self._done = 0  # values fully consumed, so an iterator can tell whether the caller read one
        self.replaced_chars = 0

    # ----- buffer -----

    def _compact(self) -> None:
        dropped = self._buf[: self._pos]
        newlines = dropped.count("\n")
        if newlines:
            self._line_base += newlines
            self._col_base = len(dropped) - dropped.rfind("\n") - 1
        else:
            self._col_base += len(dropped)
        self._buf = self._buf[self._pos:]
        self._pos = 0

    def _fill(self, want: int) -> None:
        """Read until ``want`` more characters are buffered or the stream ends."""
        if self._pos and self._pos >= len(self._buf) // 2:
            self._compact()
        target = len(self._buf) + want
        parts = [self._buf]
        have = len(self._buf)
        while have < target and not self._eof:
            pending = len(self._utf8.getstate()[0])
            chunk = self._stream.read(max(self._chunk, target - have))
            try:
                text = self._utf8.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                bad = self._bytes_read - pending + exc.start
                raise ParseError(f"the file is not valid UTF-8 text (a byte that cannot be read at byte offset "
                                 f"{bad:,}, near line {self._line_base + sum(p.count(chr(10)) for p in parts) + 1})",
                                 path=self._name, hint=_NOT_JSON_HINT) from exc
            if not chunk:
                self._eof = True
            self._bytes_read += len(chunk)
            if not self._started and text:
                self._started = True
                if text.startswith("\ufeff"):
                    text = text[1:]
            parts.append(text)
            have += len(text)
            if have - self._pos > self._limits.max_json_bytes:
                raise HostileInput(f"one value in this JSON file is larger than the "
                                   f"{self._limits.max_json_bytes >> 20} MiB safetrail reads at once",
                                   path=self._name, locator=self.where())
        self._buf = "".join(parts)

    def _peek(self) -> str:
        while True:
            end = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            self._pos = end
            if end < len(self._buf):
                return self._buf[end]
            if self._eof:
                return ""
            self._fill(self._chunk)

    # ----- positions and errors -----

    def _line_col(self, pos: int) -> tuple[int, int]:
        newlines = self._buf.count("\n", 0, pos)
        if newlines:
            return self._line_base + newlines + 1, pos - self._buf.rfind("\n", 0, pos)
        return self._line_base + 1, self._col_base + pos + 1

    def where(self, pos: int | None = None) -> str:
        line, col = self._line_col(self._pos if pos is None else pos)
        return f"line {line}, column {col}"

    def _syntax(self, what: str, pos: int | None = None) -> ParseError:
        return ParseError(f"this is not valid JSON ({what} at {self.where(pos)})", path=self._name,
                          hint=_NOT_JSON_HINT)

    def _too_deep(self) -> HostileInput:
        return HostileInput(f"the JSON is nested more than {self._limits.max_json_depth} levels deep",
                            path=self._name, locator=self.where())

    # ----- reading -----

    def peek_kind(self) -> str:
        """``object``, ``array``, ``string``, ``number``, ``literal`` or ``end`` (nothing left)."""
        ch = self._peek()
        if ch == "{":
            return "object"
        if ch == "[":
            return "array"
        if ch == '"':
            return "string"
        if ch == "":
            return "end"
        if ch in "-0123456789":
            return "number"
        return "literal"

    def read_value(self) -> Any:
        """Decode the next value whole (bounded by ``max_json_bytes`` and the depth limit)."""
        self.replaced_chars = 0
        if self._peek() == "":
            raise self._syntax("the file ends where a value should be")
        while True:
            start = self._pos
            try:
                value, end = self._decoder.raw_decode(self._buf, start)
                if self._eof or (end < len(self._buf) and not self._number_may_go_on(value, end)):
                    break
            except json.JSONDecodeError as exc:
                # A value cut off by the buffer's end fails too: only a failure well before the end, or at the
                # end of the file, is the file's fault.
                near_end = exc.pos + 64 >= len(self._buf) or exc.msg.startswith("Unterminated string")
                if self._eof or not near_end:
                    raise self._syntax(exc.msg, exc.pos) from exc
            except _DuplicateKey as exc:
                raise ParseError(f"the key {exc.key!r} appears twice in one object, so its meaning is ambiguous "
                                 f"(in the value starting at {self.where(start)})", path=self._name,
                                 hint=_NOT_JSON_HINT) from exc
            except _BadConstant as exc:
                raise ParseError(f"the file holds {exc.name}, which is not valid JSON (in the value starting at "
                                 f"{self.where(start)})", path=self._name, hint=_NOT_JSON_HINT) from exc
            except RecursionError as exc:
                raise self._too_deep() from exc
            except ValueError as exc:  # int() refuses numbers with thousands of digits
                raise ParseError(f"a number is too long to read (in the value starting at {self.where(start)})",
                                 path=self._name, hint=_NOT_JSON_HINT) from exc
            self._fill(max(len(self._buf) - start, self._chunk))
        if self._could_be_too_deep(start, end) and self._depth + value_depth(value) > self._limits.max_json_depth:
            raise self._too_deep()
        if _SURROGATE_ESCAPE.search(self._buf, start, end):
            value, self.replaced_chars = _fix_surrogates(value)
        self._pos = end
        self._done += 1
        return value

    def _number_may_go_on(self, value: Any, end: int) -> bool:
        # "1" may be the start of "1.5" or "1e9" cut off by the buffer's end; other values end with their text.
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        rest = self._buf[end:]
        return len(rest) < 64 and not rest.strip(_NUMBER_CHARS)

    def _could_be_too_deep(self, start: int, end: int) -> bool:
        # Counting brackets is C-speed; a value with fewer openers than the depth left cannot be too deep.
        openers = self._buf.count("{", start, end) + self._buf.count("[", start, end)
        return self._depth + openers > self._limits.max_json_depth

    def _enter(self, opener: str) -> None:
        if self._peek() != opener:
            raise self._syntax(f"expected {opener!r}")
        self._pos += 1
        self._depth += 1
        if self._depth > self._limits.max_json_depth:
            raise self._too_deep()

    def _after_item(self, closer: str) -> bool:
        """Consume ``,`` (True: another item follows) or the closer (False)."""
        ch = self._peek()
        if ch == ",":
            self._pos += 1
            return True
        if ch == closer:
            self._pos += 1
            return False
        raise self._syntax(f"expected ',' or {closer!r}")

    def iter_object(self) -> Iterator[str]:
        """Enter an object and yield its keys in order; the caller reads (or skips) each value."""
        self._enter("{")
        seen: set[str] = set()
        if self._peek() == "}":
            self._pos += 1
        else:
            while True:
                if self._peek() != '"':
                    raise self._syntax("expected a key in double quotes")
                key_at = self._pos
                key = self.read_value()
                self._done -= 1
                if not isinstance(key, str):  # pragma: no cover - a '"' always starts a string
                    raise self._syntax("expected a key", key_at)
                if key in seen:
                    raise ParseError(f"the key {key!r} appears twice in one object, so its meaning is ambiguous "
                                     f"({self.where(key_at)})", path=self._name, hint=_NOT_JSON_HINT)
                seen.add(key)
                if self._peek() != ":":
                    raise self._syntax("expected ':'")
                self._pos += 1
                done = self._done
                yield key
                if self._done == done:
                    self.read_value()
                if not self._after_item("}"):
                    break
        self._depth -= 1
        self._done += 1

    def iter_array(self) -> Iterator[int]:
        """Enter an array and yield each index; the caller reads (or skips) each item."""
        self._enter("[")
        if self._peek() == "]":
            self._pos += 1
        else:
            index = 0
            while True:
                done = self._done
                yield index
                if self._done == done:
                    self.read_value()
                index += 1
                if not self._after_item("]"):
                    break
        self._depth -= 1
        self._done += 1

    def finish(self) -> None:
        """Check that nothing but whitespace follows the document."""
        if self._peek() != "":
            raise self._syntax("there is more data after the JSON document ends")
