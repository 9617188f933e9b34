"""Word lists and phrase patterns, turned into features (and quotable hits) for the harm classifier.

Three public profanity lists ship in ``data/lexicons`` (Surge AI's obscenity list with its categories and severity,
LDNOOBW English, better_profanity's word list; licences beside them and in NOTICE) together with safetrail's own
phrase patterns in ``data/phrases.txt`` (threats, watching, control, blackmail, doxxing, urging self-harm,
saying no, and the harmless contexts that look like them). Everything is matched against the *normalised* copy of a
message (see ``normalise``), so "f.u.c.k" and "k1ll urs3lf" hit like the plain words.

Must never: decide a label on its own (a hit is one feature among many; the lists flag medical and reclaimed words
too), read anything but the package's own data files, or keep state between calls.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from safetrail.analysis.normalise import normalise

try:  # the regex parser is private to the standard library; without it phrases are simply not pre-filtered
    import re._constants as _C
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover
    _sre_parse = None

__all__ = ["WORDLIST_GROUPS", "Lexicon", "LexiconHit", "load_lexicon"]

WORDLIST_GROUPS = ("lex_identity", "lex_insult", "lex_sexual", "lex_profane")
_IDENTITY, _INSULT, _SEXUAL, _PROFANE = 1, 2, 4, 8
_SURGE_CATEGORY_BITS = {
    "racial / ethnic slurs": _IDENTITY, "sexual orientation / gender": _IDENTITY, "religious offense": _IDENTITY,
    "mental disability": _IDENTITY, "physical disability": _IDENTITY,
    "other / general insult": _INSULT, "animal references": _INSULT, "physical attributes": _INSULT,
    "political": _INSULT, "sexual anatomy / sexual acts": _SEXUAL, "bodily fluids / excrement": _PROFANE,
}
_MAX_TERM_WORDS = 4
_TOKEN = re.compile(r"[^\W_](?:[\w*'$@]*[^\W_*'])?", re.UNICODE)
_MACRO_DEF = re.compile(r"^([A-Z_]+) = (.+)$")
_MACRO_USE = re.compile(r"\{([A-Z_]+)\}")


@dataclass(frozen=True, slots=True)
class LexiconHit:
    """One matched term or phrase: its feature group and where it sits in the normalised text."""

    group: str
    start: int
    end: int
    term: str


@dataclass(frozen=True, slots=True)
class _Term:
    bits: int
    severity: float


@dataclass(frozen=True, slots=True)
class _Phrase:
    """One pattern line plus strings one of which every match must contain (empty: no such guarantee)."""

    pattern: re.Pattern[str]
    needs: frozenset[str]


def _necessary(items: Any) -> frozenset[str] | None:
    """Strings of which every match of the parsed regex ``items`` contains at least one (None if unknown).

    Checking these with ``in`` before running a pattern skips most of the ~200 patterns for most messages; it
    is exact by construction (a literal run that the pattern must match is a substring of every match)."""
    best: frozenset[str] | None = None

    def consider(candidate: frozenset[str] | None) -> None:
        nonlocal best
        if candidate and (best is None or min(map(len, candidate)) > min(map(len, best))):
            best = candidate

    run: list[str] = []
    for op, arg in items:
        if op is _C.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            consider(frozenset({"".join(run)}))
            run = []
        if op is _C.SUBPATTERN:
            consider(_necessary(arg[-1]))
        elif op is _C.BRANCH:
            branches = [_necessary(b) for b in arg[1]]
            if all(b is not None for b in branches):
                consider(frozenset().union(*[b for b in branches if b is not None]))
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and arg[0] >= 1:
            consider(_necessary(arg[2]))
    if run:
        consider(frozenset({"".join(run)}))
    return best


def _phrase(source: str) -> _Phrase:
    try:
        needs = _necessary(_sre_parse.parse(source)) if _sre_parse is not None else None
    except Exception:  # an unexpected parse tree only costs speed: the pattern then always runs
        needs = None
    return _Phrase(re.compile(source), needs or frozenset())


class Lexicon:
    """Word lists plus phrase patterns; ``features`` gives one row of numbers per normalised text."""

    def __init__(self, terms: dict[str, _Term], phrases: dict[str, list[_Phrase]]) -> None:
        self._terms = terms
        self._phrases = phrases
        needles = sorted({n for lines in phrases.values() for p in lines for n in p.needs})
        # Indexed by their first two characters, so a message only tests the needles that could occur in it.
        self._short_needles = tuple(n for n in needles if len(n) < 2)
        self._needles_by_bigram: dict[str, tuple[str, ...]] = {}
        for needle in needles:
            if len(needle) >= 2:
                self._needles_by_bigram[needle[:2]] = (*self._needles_by_bigram.get(needle[:2], ()), needle)
        self._prefixes = {" ".join(t.split()[:k]) for t in terms for k in range(1, len(t.split()))}
        by_length: dict[int, list[str]] = {}
        for term in terms:
            if " " not in term:
                by_length.setdefault(len(term), []).append(term)
        self._by_length = {n: tuple(sorted(ts)) for n, ts in by_length.items()}
        self.phrase_groups: tuple[str, ...] = tuple(phrases)
        self.feature_names: tuple[str, ...] = (
            *WORDLIST_GROUPS, "lex_severity", *(f"phrase_{g}" for g in self.phrase_groups))

    def _lookup(self, word: str) -> _Term | None:
        found = self._terms.get(word)
        if found is None and "*" in word and len(word) > 2 and word.strip("*"):
            # "f*ck", "c**t": masked letters stand for any letter of a listed word of the same length.
            pattern = re.compile(re.escape(word).replace(r"\*", "[a-z]"))
            for candidate in self._by_length.get(len(word), ()):
                if pattern.fullmatch(candidate):
                    return self._terms[candidate]
        return found

    def _word_hits(self, text: str) -> list[tuple[int, int, str, _Term]]:
        spans = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
        words = [s[2] for s in spans]
        found: list[tuple[int, int, str, _Term]] = []
        for i, word in enumerate(words):
            term = self._lookup(word)
            if term is not None:
                found.append((spans[i][0], spans[i][1], word, term))
            phrase = word
            for j in range(i + 1, min(i + _MAX_TERM_WORDS, len(words))):
                if phrase not in self._prefixes:
                    break
                phrase = phrase + " " + words[j]
                term = self._terms.get(phrase)
                if term is not None:
                    found.append((spans[i][0], spans[j][1], phrase, term))
        return found

    def _present_needles(self, text: str) -> set[str]:
        index = self._needles_by_bigram
        present = {n for n in self._short_needles if n in text}
        for bigram in {text[i : i + 2] for i in range(len(text) - 1)}:
            for needle in index.get(bigram, ()):
                if needle in text:
                    present.add(needle)
        return present

    def features(self, normalised: Sequence[str]) -> np.ndarray:
        """``[len(normalised), len(feature_names)]`` float32: counts (capped) of word-list hits, the worst
        severity (0..1) and one 0/1 column per phrase group."""
        n_word = len(WORDLIST_GROUPS)
        out = np.zeros((len(normalised), len(self.feature_names)), dtype=np.float32)
        groups = list(self._phrases.values())
        for row, text in enumerate(normalised):
            if not text:
                continue
            counts = [0, 0, 0, 0]
            severity = 0.0
            for _, _, _, term in self._word_hits(text):
                for k in range(n_word):
                    if term.bits & (1 << k):
                        counts[k] += 1
                severity = max(severity, term.severity)
            for k in range(n_word):
                out[row, k] = min(counts[k], 3)
            out[row, n_word] = severity / 3.0
            present = self._present_needles(text)
            for k, lines in enumerate(groups):
                for phrase in lines:
                    if (not phrase.needs or not phrase.needs.isdisjoint(present)) and phrase.pattern.search(text):
                        out[row, n_word + 1 + k] = 1.0
                        break
        return out

    def hits(self, normalised: str) -> list[LexiconHit]:
        """Every word-list and phrase match in one normalised text, in text order."""
        found = []
        for start, end, word, term in self._word_hits(normalised):
            for k, group in enumerate(WORDLIST_GROUPS):
                if term.bits & (1 << k):
                    found.append(LexiconHit(group, start, end, word))
        for group, lines in self._phrases.items():
            for phrase in lines:
                for m in phrase.pattern.finditer(normalised):
                    if m.end() > m.start():
                        found.append(LexiconHit(f"phrase_{group}", m.start(), m.end(), m.group(0)))
        return sorted(found, key=lambda h: (h.start, h.end, h.group))


def _read(name: str) -> str:
    return (resources.files("safetrail.analysis") / "data" / name).read_text(encoding="utf-8")


def _add(terms: dict[str, _Term], raw: str, bits: int, severity: float) -> None:
    key = " ".join(normalise(raw).split())
    if not key:
        return
    old = terms.get(key)
    if old is None:
        terms[key] = _Term(bits, severity)
    else:
        terms[key] = _Term(old.bits | bits, max(old.severity, severity))


def _load_terms() -> dict[str, _Term]:
    terms: dict[str, _Term] = {}
    for row in csv.DictReader(io.StringIO(_read("lexicons/surge_profanity_en.csv"))):
        bits = _PROFANE
        for key in ("category_1", "category_2", "category_3"):
            bits |= _SURGE_CATEGORY_BITS.get(row.get(key) or "", 0)
        try:
            severity = float(row.get("severity_rating") or 1.0)
        except ValueError:
            severity = 1.0
        _add(terms, row["text"], bits, severity)
    for name in ("lexicons/ldnoobw_en.txt", "lexicons/better_profanity_wordlist.txt"):
        for line in _read(name).splitlines():
            if line.strip():
                _add(terms, line.strip(), _PROFANE, 1.0)
    return terms


def _load_phrases() -> dict[str, list[_Phrase]]:
    macros: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(_read("phrases.txt").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("[") and line.rstrip().endswith("]"):
            current = sections.setdefault(line.strip()[1:-1], [])
            continue
        definition = _MACRO_DEF.match(line)
        if definition and current is None:
            macros[definition.group(1)] = definition.group(2).strip()
            continue
        if current is None:
            raise ValueError(f"phrases.txt line {number}: a pattern outside any [section]")
        current.append(_MACRO_USE.sub(lambda m: macros[m.group(1)], line.strip()))
    return {name: [_phrase(p) for p in patterns] for name, patterns in sections.items()}


def load_lexicon() -> Lexicon:
    """Read the shipped word lists and phrase patterns."""
    return Lexicon(_load_terms(), _load_phrases())
