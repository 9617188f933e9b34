"""Expand what the user named (files and folders) into the export files safetrail should import.

A folder is walked in name order; a file is taken when some importer claims it (``sniff`` ≥ the registry's
minimum). Everything else in a folder (photos beside a Telegram export, a Takeout's HTML) is counted, not
imported on its own: importers reach such files through ``ParseContext.related`` when a message points at them.
Links are never followed out of the folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from safetrail.errors import InputError
from safetrail.importers.registry import MIN_SCORE, Registered, probe_file

__all__ = ["Discovered", "discover"]


@dataclass(slots=True)
class Discovered:
    files: list[Path] = field(default_factory=list)
    others: list[Path] = field(default_factory=list)  # present in a named folder but claimed by no importer


def _claimed(path: Path, regs: Sequence[Registered]) -> bool:
    try:
        probe = probe_file(path)
    except OSError:
        return False
    for reg in regs:
        try:
            if reg.importer.sniff(probe) >= MIN_SCORE:
                return True
        except Exception:  # a sniff that fails on odd bytes is a 'no'
            continue
    return False


def discover(paths: Sequence[Path], regs: Sequence[Registered]) -> Discovered:
    found = Discovered()
    for path in paths:
        if path.is_symlink() and path.is_dir():
            raise InputError("this folder is a link; name the folder it points to", path=str(path))
        if not path.exists():
            raise InputError("there is no such file or folder", path=str(path),
                             hint="Check the name; put quotes around names that contain spaces.")
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                (found.files if _claimed(child, regs) else found.others).append(child)
        else:
            found.files.append(path)  # named explicitly: let the import say what is wrong with it
    return found
