"""The one error hierarchy. Every failure a user can meet is a ``SafetrailError`` with a plain sentence and a hint.

    SafetrailError
    ├── InputError                 the file the user gave cannot be used as it is (names the file and place)
    │   ├── UnknownFormat          no importer recognises it (lists the supported formats and best guesses)
    │   ├── AmbiguousFormat        two importers claim it equally (names both; --format decides)
    │   ├── ParseError             the format is known but this place in the file cannot be read
    │   ├── AmbiguousDateOrder     day/month order cannot be decided from the file (--date-order decides)
    │   └── HostileInput           zip bomb, path traversal, XML entities, absurd nesting or sizes
    ├── VaultError                 the vault cannot be opened or written
    │   ├── VaultMissing, VaultExists
    │   ├── WrongPassphrase        never a partial open
    │   └── VaultCorrupt           the database or a stored original fails its own checks
    ├── PackError                  an evidence pack cannot be written
    ├── PackUnreadable             a pack cannot be read at all (verify exits 2)
    ├── ModelUnavailable           an analysis model package is missing or damaged
    └── UsageError                 an option or argument is wrong

Library errors (sqlite, zipfile, xml, json, OSError) are translated at the edge with ``raise ... from exc``.
The CLI prints ``str(error)`` and ``error.hint`` and exits with ``error.exit_code``; never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AmbiguousDateOrder",
    "AmbiguousFormat",
    "HostileInput",
    "InputError",
    "ModelUnavailable",
    "PackError",
    "PackUnreadable",
    "ParseError",
    "SafetrailError",
    "UnknownFormat",
    "UsageError",
    "VaultCorrupt",
    "VaultError",
    "VaultExists",
    "VaultMissing",
    "WrongPassphrase",
]


class SafetrailError(Exception):
    """Root of every error safetrail raises on purpose."""

    exit_code = 1
    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class InputError(SafetrailError):
    """A file the user gave cannot be used as it is. Names the file and, when known, the place in it."""

    def __init__(self, message: str, *, path: str | None = None, locator: str | None = None,
                 hint: str | None = None) -> None:
        where = ""
        if path:
            where = f"{path}"
            if locator:
                where += f" (at {locator})"
            where += ": "
        super().__init__(where + message, hint=hint)
        self.path = path
        self.locator = locator


class UnknownFormat(InputError):
    def __init__(self, path: str, supported: Sequence[str], guesses: Sequence[tuple[str, float]] = ()) -> None:
        guess_text = ", ".join(f"{n} ({s:.0%})" for n, s in guesses if s > 0)
        hint = "Supported formats: " + ", ".join(supported) + "."
        if guess_text:
            hint += f" Closest matches: {guess_text}. If one is right, pass --format NAME."
        else:
            hint += " Run `safetrail formats` to see which exports each one reads."
        super().__init__("this file is not an export safetrail recognises", path=path, hint=hint)
        self.guesses = tuple(guesses)


class AmbiguousFormat(InputError):
    def __init__(self, path: str, names: Sequence[str]) -> None:
        super().__init__("this file looks equally like " + " and ".join(names), path=path,
                         hint=f"Pass --format {names[0]} (or another) to say which it is.")
        self.names = tuple(names)


class ParseError(InputError):
    pass


class AmbiguousDateOrder(InputError):
    def __init__(self, path: str, example: str) -> None:
        super().__init__(
            f"no date in this file has a day above 12 (for example {example!r}), so day/month order cannot be told",
            path=path,
            hint="Pass --date-order dmy (day first, as in the UK) or --date-order mdy (month first, as in the US).")


class HostileInput(InputError):
    default_hint = "The file may be damaged or crafted to cause harm. Nothing was stored from it."


class VaultError(SafetrailError):
    pass


class VaultMissing(VaultError):
    default_hint = "Create one with `safetrail init`, or point SAFETRAIL_VAULT / --vault at an existing vault."


class VaultExists(VaultError):
    default_hint = "Choose another folder with --vault, or use the vault that is already there."


class WrongPassphrase(VaultError):
    default_hint = "Check the passphrase and try again. Nothing was opened or changed."


class VaultCorrupt(VaultError):
    default_hint = "Restore the vault from a backup; keep the damaged copy for inspection."


class PackError(SafetrailError):
    pass


class PackUnreadable(SafetrailError):
    exit_code = 2


class ModelUnavailable(SafetrailError):
    default_hint = "Reinstall safetrail with its analysis dependencies: `make install` or `pip install -e .`."


class UsageError(SafetrailError):
    exit_code = 2
