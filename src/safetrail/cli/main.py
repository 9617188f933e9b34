"""The ``safetrail`` command line: thin wiring over the library, calm words, no tracebacks.

Every command opens what it needs, calls one library function and reports. Errors are ``SafetrailError``: one
sentence naming the file or thing, a hint, and a non-zero exit code; a traceback only with ``--debug``.
The vault is chosen by ``--vault`` or ``SAFETRAIL_VAULT``; the passphrase comes from ``SAFETRAIL_PASSPHRASE`` or a
prompt without echo.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from platformdirs import user_data_path
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from safetrail import __version__
from safetrail.cli import analysis_commands
from safetrail.errors import SafetrailError, UsageError
from safetrail.importers.base import DateOrder

__all__ = ["app", "main", "run"]

app = typer.Typer(name="safetrail", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Keep a safe, verifiable record of unwanted messages.")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass(slots=True)
class Settings:
    vault: Path
    debug: bool = False


def default_vault() -> Path:
    return user_data_path("safetrail", appauthor=False) / "vault"


@app.callback()
def _root(
    ctx: typer.Context,
    vault: Annotated[Path | None, typer.Option("--vault", envvar="SAFETRAIL_VAULT", show_envvar=True,
                                                help="Folder of the vault to use.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full error details (for reporting a bug).")] = False,
    version: Annotated[bool, typer.Option("--version", help="Show the version and stop.")] = False,
) -> None:
    if version:
        out.print(f"safetrail {__version__}")
        raise typer.Exit(0)
    ctx.obj = Settings(vault=vault or default_vault(), debug=debug)


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings)
    return obj


def passphrase(*, confirm: bool = False) -> str:
    value = os.environ.get("SAFETRAIL_PASSPHRASE")
    if value:
        return value
    if not sys.stdin.isatty():
        raise UsageError("no passphrase was given",
                         hint="Set SAFETRAIL_PASSPHRASE, or run the command in a terminal to be asked for it.")
    value = typer.prompt("Vault passphrase", hide_input=True, confirmation_prompt=confirm)
    return str(value)


def open_vault(ctx: typer.Context) -> Any:
    from safetrail.storage.vault import Vault

    return Vault.open(settings(ctx).vault, passphrase())


# -- init ------------------------------------------------------------------------------------------------------
@app.command()
def init(
    ctx: typer.Context,
    initials: Annotated[str, typer.Option(help="Your initials, used for exhibit references such as PS/1.")] = "ST",
    title: Annotated[str, typer.Option(help="A title for the case (shown in your packs).")] = "",
) -> None:
    """Create a new encrypted vault."""
    from safetrail.storage.vault import Vault

    prefix = "".join(ch for ch in initials.upper() if ch.isalnum())[:8]
    if not prefix:
        raise UsageError("initials must contain at least one letter or digit")
    folder = settings(ctx).vault
    Vault.create(folder, passphrase(confirm=True), exhibit_prefix=prefix, title=title).close()
    out.print(f"Created an encrypted vault in {folder}.")
    out.print("Keep your passphrase somewhere safe: without it the vault cannot be opened, by anyone.")


# -- import ----------------------------------------------------------------------------------------------------
@app.command("import")
def import_(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Export files or folders to import.")],
    format: Annotated[str | None, typer.Option("--format", help="Read the files as this format "
                                                                "(see `safetrail formats`).")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Time zone for exports whose times carry none "
                                                        "(default: this computer's).")] = None,
    date_order: Annotated[DateOrder | None, typer.Option("--date-order", help="Day/month order when a file "
                                                                              "cannot tell (dmy or mdy).")] = None,
) -> None:
    """Copy exports into the vault and read their messages."""
    from safetrail.importers.discover import discover
    from safetrail.importers.registry import available

    regs = available()
    if format is not None and format not in {r.name for r in regs}:
        raise UsageError(f"there is no format called {format!r}",
                         hint="Supported formats: " + ", ".join(r.name for r in regs) + ".")
    found = discover(paths, regs)
    if not found.files:
        raise UsageError("none of the files given is an export safetrail can read",
                         hint="Run `safetrail formats` to see what safetrail reads.")
    with open_vault(ctx) as vault:
        table = Table(title="Imported", title_justify="left")
        repeats: list[str] = []
        table.add_column("File", overflow="fold", ratio=1)
        for col in ("Format", "Messages", "Senders", "From", "To", "Warnings"):
            table.add_column(col, no_wrap=col in ("From", "To"), min_width=10 if col in ("From", "To") else None)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed:,} records"), TimeElapsedColumn(), console=err,
                      transient=True) as progress:
            for path in found.files:
                task = progress.add_task(f"Reading {path.name}", total=None)
                result = vault.import_file(path, format=format, tz=tz, date_order=date_order, regs=regs,
                                           on_progress=lambda n, task=task: progress.update(task, completed=n))
                progress.remove_task(task)
                src = result.source
                if result.already_present:
                    repeats.append(f"{src.name} was already in the vault (imported {src.imported_at[:10]}); "
                                   "nothing changed.")
                    continue
                table.add_row(src.name, src.importer, f"{result.messages:,}", str(len(result.senders)),
                              _day(result.first), _day(result.last), str(len(result.warnings)))
        if table.rows:
            out.print(table)
        for line in repeats:
            out.print(line)
        if found.others:
            out.print(f"{len(found.others)} other files in the folders given (media and the like) were kept "
                      "where messages point to them and not imported on their own.")
        warnings = vault.warnings()
        if warnings:
            out.print(f"{len(warnings)} places in the files could not be read as expected; "
                      "`safetrail log` and your pack list them.")


def _day(dt: datetime | None) -> str:
    return dt.date().isoformat() if dt else ""


# -- timeline --------------------------------------------------------------------------------------------------
def _date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    from datetime import UTC

    try:
        dt = datetime.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"{option} {value!r} is not a date", hint="Use YYYY-MM-DD or YYYY-MM-DDTHH:MM.") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@app.command()
def timeline(
    ctx: typer.Context,
    sender: Annotated[str | None, typer.Option(help="Only messages from senders whose name contains this.")] = None,
    since: Annotated[str | None, typer.Option(help="Only messages on or after this date (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Only messages on or before this date (UTC).")] = None,
    text: Annotated[str | None, typer.Option(help="Only messages whose text contains this.")] = None,
    conversation: Annotated[str | None, typer.Option(help="Only this conversation.")] = None,
    flagged: Annotated[bool, typer.Option("--flagged", help="Only messages marked by `safetrail analyse`.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per message.")] = False,
    limit: Annotated[int | None, typer.Option(help="At most this many messages.")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Show times in this zone (default: this computer's).")] = None,
) -> None:
    """List messages in time order."""
    from safetrail.importers.registry import resolve_zone
    from safetrail.reports.context import local_time_text
    from safetrail.storage.vault import MessageQuery

    zone = resolve_zone(tz)
    with open_vault(ctx) as vault:
        flags_by_id: dict[str, list[str]] = {}
        if flagged:
            run, flags, _ = vault.latest_analysis()
            if run is None:
                raise UsageError("the vault has not been analysed yet", hint="Run `safetrail analyse` first.")
            for f in flags:
                flags_by_id.setdefault(f.message_id, []).append(f.category)
        query = MessageQuery(sender=sender, since=_date(since, "--since"), until=_date(until, "--until"), text=text,
                             conversation=conversation,
                             message_ids=frozenset(flags_by_id) if flagged else None, limit=limit)
        rows = vault.messages(query)
        if as_json:
            for m in rows:
                obj = {"id": m.id, "platform": m.platform, "conversation": m.conversation, "sender": m.sender_name,
                       "timestamp": m.timestamp.iso(), "timestamp_kind": m.timestamp.kind.value, "text": m.text,
                       "source_sha256": m.source_sha256, "locator": m.locator, "kind": m.kind.value,
                       "timestamp_zone": m.timestamp.zone}
                if flagged:
                    obj["flags"] = flags_by_id.get(m.id, [])
                sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
            return
        table = Table(show_lines=False)
        for col in ("Time", "From", "Message", "Platform"):
            table.add_column(col, overflow="fold")
        count = 0
        for m in rows:
            count += 1
            body = m.text if m.kind.value == "message" else f"[{m.kind.value}] {m.text}"
            if flagged:
                body += f"  ({', '.join(flags_by_id.get(m.id, []))})"
            table.add_row(local_time_text(m.timestamp.utc, zone), m.sender_name or "—", body, m.platform)
        out.print(table)
        out.print(f"{count:,} messages.")


# -- pack and verify -------------------------------------------------------------------------------------------
@app.command()
def pack(
    ctx: typer.Context,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the pack (.zip); the PDF goes beside it.")],
    tz: Annotated[str | None, typer.Option("--tz", help="Zone for times in the report "
                                                        "(default: this computer's).")] = None,
    title: Annotated[str | None, typer.Option(help="Title on the report.")] = None,
) -> None:
    """Write an evidence pack (ZIP with originals, manifest and custody log, plus a PDF report)."""
    from safetrail.importers.registry import resolve_zone
    from safetrail.reports.pack import write_pack

    with open_vault(ctx) as vault:
        result = write_pack(vault, out_path, tz=resolve_zone(tz), title=title)
    out.print(f"Wrote the evidence pack {result.zip_path} ({result.files} files, {result.messages:,} messages).")
    out.print(f"The report is {result.pdf_path}.")
    out.print(f"Pack SHA-256: {result.sha256}")


@app.command()
def verify(pack_path: Annotated[Path, typer.Argument(metavar="PACK", help="The pack (.zip) to check.")]) -> None:
    """Check that an evidence pack is complete and unchanged. Exit 0 valid, 1 changed, 2 unreadable."""
    from safetrail.reports.verify import verify_pack

    report = verify_pack(pack_path)
    if report.ok:
        out.print(f"The pack {pack_path.name} is complete and unchanged: {report.checked} files checked "
                  f"({report.bytes_checked:,} bytes). Custody log Merkle root {report.merkle_root}.")
        return
    out.print(f"The pack {pack_path.name} does not match its own records:")
    for problem in report.problems:
        out.print(f"  - {problem}")
    raise typer.Exit(1)


# -- analysis -------------------------------------------------------------------------------------------------
@app.command()
def analyse(
    ctx: typer.Context,
    tz: Annotated[str | None, typer.Option("--tz", help="Your time zone, for days and nights "
                                                        "(default: this computer's).")] = None,
    me: Annotated[list[str] | None, typer.Option(
        "--me", help="Your name or number as the exports show it, when they do not say which side is you "
                     "(repeatable).")] = None,
) -> None:
    """Mark messages that may need attention and look for patterns across the case."""
    from safetrail.importers.registry import resolve_zone
    from safetrail.pipeline import analyse_vault

    with open_vault(ctx) as vault, Progress(SpinnerColumn(), TextColumn("Reading messages"), BarColumn(),
                                            TextColumn("{task.completed:,} messages"), console=err,
                                            transient=True) as progress:
        task = progress.add_task("analyse", total=None)
        summary = analyse_vault(vault, tz=resolve_zone(tz), me=me,
                                on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    marked = len({f.message_id for f in summary.flags if f.category != "refusal"})
    out.print(f"Read {summary.messages:,} messages with model {summary.model_version}.")
    out.print(f"{marked:,} messages may need attention; {len(summary.findings)} patterns were found.")
    kinds = Counter(f.kind.replace("_", " ") for f in summary.findings)
    for kind, n in kinds.most_common():
        out.print(f"  - {kind}: {n}")
    for platform, conversation in summary.unidentified:
        out.print(f"In the {platform} conversation {conversation!r} the export does not say which side is you; "
                  "run `safetrail analyse --me \"YOUR NAME\"` to include it.")
    out.print("See them with `safetrail timeline --flagged` and `safetrail findings`.")


@app.command()
def findings(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per finding.")] = False,
) -> None:
    """Show the patterns found by the last `safetrail analyse`."""
    from safetrail.analysis.patterns import finding_to_dict

    with open_vault(ctx) as vault:
        run, _, found = vault.latest_analysis()
    if run is None:
        raise UsageError("the vault has not been analysed yet", hint="Run `safetrail analyse` first.")
    if as_json:
        for f in found:
            sys.stdout.write(json.dumps(finding_to_dict(f), ensure_ascii=False) + "\n")
        return
    for f in found:
        out.print(f"[bold]{f.kind.replace('_', ' ')}[/bold] ({f.conversation}): {f.summary}")
    when = run["at"][:16].replace("T", " ")
    out.print(f"{len(found)} patterns (analysis of {when} UTC, model {run['model_version']}).")


# -- log and formats -------------------------------------------------------------------------------------------
@app.command()
def log(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per entry.")] = False,
) -> None:
    """Show the custody log (every action on the vault) and check its hash chain."""
    with open_vault(ctx) as vault:
        entries = vault.custody_log()
        problems = vault.custody_problems()
        root = vault.custody_root()
        warnings = vault.warnings()
    if as_json:
        for e in entries:
            sys.stdout.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
    else:
        table = Table()
        for col in ("#", "Time (UTC)", "Action", "Object", "Details"):
            table.add_column(col, overflow="fold")
        for e in entries:
            table.add_row(str(e.seq), e.at[:19].replace("T", " "), e.action, e.object[:16],
                          ", ".join(f"{k}={v}" for k, v in e.details.items() if not isinstance(v, dict)))
        out.print(table)
        out.print(f"Merkle root (RFC 6962): {root}")
        for source, locator, reason in warnings:
            out.print(f"Warning: {source} ({locator}): {reason}")
    if problems:
        for p in problems:
            err.print(f"The custody log is damaged: {p}")
        raise typer.Exit(1)
    if not as_json:
        out.print(f"The hash chain of all {len(entries)} entries is intact.")


@app.command()
def formats() -> None:
    """List the exports safetrail can read."""
    from safetrail.importers.registry import available

    for reg in available():
        imp = reg.importer
        origin = "" if reg.origin == "builtin" else f" ({reg.origin})"
        out.print(f"[bold]{imp.name}[/bold]{origin} — {imp.title}")
        for variant in imp.variants:
            out.print(f"    • {variant}")


# -- demo ------------------------------------------------------------------------------------------------------
DEMO_PASSPHRASE = "demo passphrase: sample data only"


@app.command()
def demo(
    ctx: typer.Context,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo vault and pack.")] = Path("demo-out"),
) -> None:
    """Import the built-in fictional sample case, pack it and verify the pack."""
    import shutil
    from importlib.resources import files

    from safetrail.importers.registry import resolve_zone
    from safetrail.reports.pack import write_pack
    from safetrail.reports.verify import verify_pack
    from safetrail.storage.vault import Vault

    marker = out_dir / ".safetrail-demo"
    if out_dir.exists() and any(out_dir.iterdir()) and not marker.exists():
        raise UsageError(f"{out_dir} already holds files that are not a safetrail demo",
                         hint="Choose an empty folder with --out.")
    if marker.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    marker.write_text("created by `safetrail demo`; safe to delete\n", encoding="utf-8")
    sample = Path(str(files("safetrail") / "samples" / "case"))
    out.print(f"Sample case: {sample}")
    ctx.find_root().obj = Settings(vault=out_dir / "vault", debug=settings(ctx).debug)
    os.environ["SAFETRAIL_PASSPHRASE"] = DEMO_PASSPHRASE
    Vault.create(out_dir / "vault", DEMO_PASSPHRASE, exhibit_prefix="PS", title="Sample case (fictional)").close()
    ctx.invoke(import_, ctx=ctx, paths=[sample], format=None, tz="Europe/London", date_order=None)
    ctx.invoke(analyse, ctx=ctx, tz="Europe/London", me=None)
    with Vault.open(out_dir / "vault", DEMO_PASSPHRASE) as vault:
        result = write_pack(vault, out_dir / "safetrail-demo-pack.zip", tz=resolve_zone("Europe/London"),
                            title="Record of unwanted contact (fictional sample)")
    report = verify_pack(result.zip_path)
    if not report.ok:
        raise SafetrailError("the demo pack did not verify: " + "; ".join(map(str, report.problems)))
    out.print(f"Pack: {result.zip_path} — verified ({report.checked} files).")
    out.print(f"PDF report: {result.pdf_path.resolve()}")


# -- entry point -----------------------------------------------------------------------------------------------
analysis_commands.register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code. Never lets a traceback reach the user unless --debug is given."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        rv = app(args=args, prog_name="safetrail", standalone_mode=False)
    except SafetrailError as exc:
        if debug:
            raise
        err.print(f"[bold]Could not continue:[/bold] {exc}")
        if exc.hint:
            err.print(exc.hint)
        return exc.exit_code
    except click.exceptions.Abort:
        err.print("Stopped.")
        return 130
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show(file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("Stopped. Anything half-done was not saved.")
        return 130
    except Exception as exc:  # the last line of defence: a bug must not show a traceback to a frightened user
        if debug:
            raise
        err.print(f"Something went wrong inside safetrail ({type(exc).__name__}). Nothing was changed by the "
                  "step that failed. Run the same command with --debug and report what it shows.")
        return 70
    return int(rv) if isinstance(rv, int) else 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
