"""Undo spelling tricks ("k1ll urs3lf", "f.u.c.k", "ѕlut" with a Cyrillic s) in a *copy* of a message for matching.

The classifier reads messages through this normaliser so that disguised words land on the same features as plain
ones. The output is for matching and scoring only: it is never shown as the message, never stored in place of
``Message.text`` or ``Message.raw``, and evidence is always quoted from the original text.

Must never: change its input, touch the network, or depend on anything outside the standard library.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["match_tokens", "normalise", "squeeze_repeats"]

# Letters from other scripts that look like Latin ones; applied only inside a word that already has a Latin
# letter, because mixed-script words are the trick, whereas a whole Greek or Cyrillic sentence is just a language.
_HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ɡ": "g", "ո": "n",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss",
})
_NON_LATIN_LOOKALIKE = re.compile("[" + "".join(k for k in "авеёкмнорстухѕіїјԁɡոαβεηικνορτυχωıłøđß") + "]")

# Digits and symbols standing in for letters. Only applied to a word that also has a letter, so "2024", "£500",
# "07700 900123" and "10pm" are left alone.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a", "!": "i",
                       "|": "l", "€": "e"})
_LEET_WORD = re.compile(r"(?<![\w@$!|€])[\w@$!|€]*[a-z][\w@$!|€]*")
_HAS_LEET = re.compile(r"[0134579$@!|€]")
# Ordinals, times, sizes and codes keep their digits.
_KEEP_DIGITS = re.compile(r"^(?:\d+(?:st|nd|rd|th|am|pm|k|m|kg|km|mb|gb|s|x|p|h|hr|hrs|min|mins|yo|yr|yrs)"
                          r"|\d+[a-z]+\d+.*|.*\d{3,}.*)$")
# "f.u.c.k", "k-y-s", "s l u t": single letters joined by one kind of separator.
_SPACED = re.compile(r"(?<![a-z])([a-z])((?:[.\-_*]\s?[a-z]){2,}|(?:\s[a-z]){3,})(?![a-z])")
_RUN3 = re.compile(r"([a-z])\1{2,}")
_SYMBOL_RUN = re.compile(r"([^\w\s])\1{3,}")
_SPACES = re.compile(r"\s+")
# Invisible characters used to split words ("ki\u200bll") and variation selectors that only pick a glyph style.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
                        "\u3164\ufe00-\ufe0f\ufeff\uffa0\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "“": '"', "”": '"'})
# Weapons and death emoji carry meaning a word model cannot see; give it the word beside the emoji.
_EMOJI_WORDS = {"🔪": " knife ", "🗡": " knife ", "🔫": " gun ", "💣": " bomb ", "🪓": " axe ", "⚰": " coffin ",
                "🪦": " grave ", "🩸": " blood ", "☠": " skull ", "💀": " skull "}
_EMOJI_RE = re.compile("|".join(map(re.escape, _EMOJI_WORDS)))
# Chat shorthand spelled out, so "u r a liar" and "you are a liar" meet the same phrases.
_SHORTHAND = {"u": "you", "ur": "your", "urs": "yours", "urself": "yourself", "ure": "you're", "youre": "you're",
              "r": "are", "ya": "you", "yu": "you", "ppl": "people", "pls": "please", "plz": "please",
              "cuz": "because", "coz": "because", "bc": "because", "im": "i'm", "ive": "i've", "dont": "don't",
              "cant": "can't", "wont": "won't", "didnt": "didn't", "doesnt": "doesn't", "isnt": "isn't",
              "ull": "you'll", "youll": "you'll", "ill": "i'll", "gonna": "going to", "wanna": "want to",
              "gotta": "got to", "abt": "about", "thru": "through", "tho": "though", "rn": "right now",
              "nd": "and", "n": "and", "wat": "what", "wot": "what", "wen": "when", "sum1": "someone",
              "som1": "someone", "every1": "everyone", "any1": "anyone", "no1": "no one", "2day": "today",
              "2nite": "tonight", "tonite": "tonight", "2moro": "tomorrow", "b4": "before", "l8r": "later",
              "gr8": "great", "h8": "hate", "m8": "mate", "str8": "straight", "w8": "wait"}
_SHORTHAND_RE = re.compile(r"(?<![\w'])(" + "|".join(sorted(map(re.escape, _SHORTHAND), key=len, reverse=True))
                           + r")(?![\w'])")
_TOKEN = re.compile(r"[^\W_](?:[\w*'$@]*[^\W_*'])?|[^\w\s]", re.UNICODE)


def _fold_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if _NON_LATIN_LOOKALIKE.search(word):
        word = word.translate(_HOMOGLYPHS)
    if not _HAS_LEET.search(word) or _KEEP_DIGITS.match(word):
        return word
    if "@" in word and match.string[match.end():match.end() + 1] == ".":
        return word  # an email address keeps its "@"
    # A leading "@" is a handle and "!" at either end is punctuation ("@sam", "hello!!"), not a letter.
    core = word.lstrip("@!|")
    head = word[:len(word) - len(core)]
    stripped = core.rstrip("!|")
    tail = core[len(stripped):]
    return head + stripped.translate(_LEET) + tail


def _join_spaced(match: re.Match[str]) -> str:
    return re.sub(r"[.\-_*\s]", "", match.group(0))


def squeeze_repeats(word: str) -> str:
    """``"stoooop"`` → ``"stop"``: every run of one letter shortened to a single letter (for lexicon look-ups)."""
    return re.sub(r"([a-z])\1+", r"\1", word)


def normalise(text: str) -> str:
    """A lower-case copy of ``text`` with spelling tricks undone, for matching and scoring only.

    The steps, in order: compatibility forms (full-width, ligatures) folded; invisible characters removed;
    accents dropped; look-alike letters from other scripts and leetspeak digits turned into letters inside
    words that have Latin letters; spaced-out letters joined; letters repeated three or more times shortened to
    one; common chat shorthand spelled out; weapon emoji given their word; whitespace collapsed.
    """
    if not text:
        return ""
    if text.isascii():
        out = text.lower()
        out = _INVISIBLE.sub("", out)
    else:
        out = unicodedata.normalize("NFKC", text)
        out = _INVISIBLE.sub("", out)
        out = out.translate(_APOSTROPHES)
        if not out.isascii():
            decomposed = unicodedata.normalize("NFD", out)
            out = unicodedata.normalize(
                "NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn"))
        out = out.lower()
        out = _EMOJI_RE.sub(lambda m: m.group(0) + _EMOJI_WORDS[m.group(0)], out)
    out = _LEET_WORD.sub(_fold_word, out)
    out = _SPACED.sub(_join_spaced, out)
    out = _RUN3.sub(r"\1", out)
    out = _SYMBOL_RUN.sub(r"\1\1\1", out)
    out = _SHORTHAND_RE.sub(lambda m: _SHORTHAND[m.group(1)], out)
    return _SPACES.sub(" ", out).strip()


def match_tokens(normalised: str) -> list[str]:
    """Words (and single symbols or emoji) of an already normalised text, apostrophes kept inside words."""
    return _TOKEN.findall(normalised)
