"""The ``classify`` and ``eval`` commands: per-message harm scores from the command line, and the measured report.

``register(app)`` adds both commands to a Typer app (the main CLI calls it). ``classify`` reads JSON Lines objects
with a ``text`` field, or plain lines, from a file or standard input and writes one JSON object per input line:
``{"text": ..., "scores": {category: probability}, "labels": [categories at or over their threshold]}``. Blank
lines are not inputs. This output shape is a stable contract.

Must never: print a traceback for bad input (the error names the line), or call a score a verdict.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer

from safetrail.errors import InputError, SafetrailError

__all__ = ["read_inputs", "register"]

_BATCH = 512


def read_inputs(stream: TextIO, name: str) -> Iterator[str]:
    """Texts from JSON Lines (objects with a string ``text``) or plain lines; a line starting with ``{`` must be
    such an object. Raises ``InputError`` naming the line otherwise."""
    for number, line in enumerate(stream, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("{"):
            try:
                record = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise InputError(f"this line starts like JSON but is not valid JSON ({exc.msg})", path=name,
                                 locator=f"line {number}",
                                 hint='Give one JSON object per line, such as {"text": "..."}, or plain text '
                                      "lines that do not start with {.") from exc
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise InputError('this line is a JSON object without a "text" string', path=name,
                                 locator=f"line {number}", hint='Each JSON line needs a "text" field holding a string.')
            yield record["text"]
        else:
            yield line.rstrip("\r\n")


def _fail(exc: SafetrailError) -> typer.Exit:
    typer.echo(f"Could not continue: {exc}", err=True)
    if exc.hint:
        typer.echo(exc.hint, err=True)
    return typer.Exit(exc.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``classify`` and ``eval`` to ``app``."""

    @app.command("classify")
    def classify(
        file: Annotated[Path | None, typer.Argument(help="JSON Lines or plain text file; standard input if left out.",
                                                    show_default=False)] = None,
        threads: Annotated[int, typer.Option(help="CPU threads for the embedding model.")] = 2,
    ) -> None:
        """Score each message for ten kinds of possibly harmful content (and for saying no).

        Writes one JSON line per input with the probability for every category and the categories at or over
        their threshold. A score is a pointer to text worth reading, not a judgement.
        """
        from safetrail.analysis.classifier import load

        try:
            clf = load(threads=threads)
            if file is None:
                _classify_stream(clf, sys.stdin, "standard input")
            else:
                try:
                    with file.open(encoding="utf-8") as stream:
                        _classify_stream(clf, stream, file.name)
                except FileNotFoundError as exc:
                    raise InputError("the file does not exist", path=str(file),
                                     hint="Check the path and try again.") from exc
                except UnicodeDecodeError as exc:
                    raise InputError("the file is not UTF-8 text", path=str(file),
                                     hint="Save it as UTF-8 (JSON Lines or one message per line).") from exc
        except SafetrailError as exc:
            raise _fail(exc) from None

    @app.command("eval")
    def evaluate(
        data: Annotated[Path | None, typer.Option(help="Folder of the shared datasets (default: ../shared/data "
                                                       "beside the repository).")] = None,
        suite: Annotated[Path | None, typer.Option(help="Functional suite JSONL (default: eval/functional_suite.jsonl)."
                                                   )] = None,
        suite_b: Annotated[Path | None, typer.Option(help="Second functional suite, read only in aggregate (default: "
                                                     "eval/functional_suite_b.jsonl).")] = None,
        out: Annotated[Path | None, typer.Option(help="Where to write the JSON report (default: "
                                                      "bench/results/eval.json).")] = None,
        threads: Annotated[int, typer.Option(help="CPU threads for the embedding model.")] = 2,
    ) -> None:
        """Measure the classifier on held-out data beside the alt-profanity-check baseline (developers)."""
        from safetrail.analysis.classifier import load
        from safetrail.analysis.evaluate import SUITES, format_summary, run_evaluation, write_report
        from safetrail.errors import UsageError

        try:
            try:
                import training
            except ImportError as exc:
                raise UsageError("the evaluation needs the repository checkout (its training/ folder)",
                                 hint="Run `make eval` from the repository root.") from exc
            root = Path(training.__file__).resolve().parent.parent
            data_root = data or root.parent / "shared" / "data"
            if not data_root.is_dir():
                raise UsageError(f"the datasets folder {data_root} does not exist", hint="Pass --data FOLDER.")
            given = {"functional_suite": suite, "functional_suite_b": suite_b}
            suites = {name: given[name] or root / "eval" / f"{name}.jsonl" for name in SUITES}
            report = run_evaluation(load(threads=threads), data_root, suites,
                                    progress=lambda m: typer.echo(m, err=True))
            target = out or root / "bench" / "results" / "eval.json"
            write_report(report, target)
            typer.echo(format_summary(report))
            typer.echo(f"\nFull report: {target}")
        except SafetrailError as exc:
            raise _fail(exc) from None


def _classify_stream(clf: object, stream: TextIO, name: str) -> None:
    from safetrail.analysis.classifier import Classifier

    assert isinstance(clf, Classifier)
    batch: list[str] = []

    def flush(texts: list[str]) -> None:
        scores = clf.score(texts)
        for text, row in zip(texts, scores, strict=True):
            probs = {c: round(float(p), 4) for c, p in zip(clf.categories, row, strict=True)}
            labels = [c for c, p in zip(clf.categories, row, strict=True) if float(p) >= clf.thresholds[c]]
            sys.stdout.write(json.dumps({"text": text, "scores": probs, "labels": labels}, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    for text in read_inputs(stream, name):
        batch.append(text)
        if len(batch) >= _BATCH:
            flush(batch)
            batch = []
    if batch:
        flush(batch)
