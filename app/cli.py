"""The ``factloom`` command line (typer). Every command reads :class:`app.settings.Settings`.

Commands whose exact form other tools rely on: ``ingest PATH...``, ``stats --json``,
``facts [--entity] [--relation] [--limit] [--json]``, ``delete --document ID``, ``store start|stop|status``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from app import context
from app.cli_extract import extract_cli
from app.cli_lp import lp_cli
from app.context import CommandContext
from app.ingest_job import ingest_paths
from app.settings import Settings
from ingest.errors import FactloomError
from ingest.walk import iter_files
from kg import EmbeddedServer, open_store
from kg.types import StoredFact


def _settings_help() -> str:
    lines = [
        f"{'FACTLOOM_' + name.upper()}: {field.description} (default: {field.default})"
        for name, field in Settings.model_fields.items()
    ]
    return "\n\n".join(lines)


ENV_HELP = (
    "Configuration: FACTLOOM_* environment variables or factloom.toml (FACTLOOM_CONFIG names another "
    "file). Store: FACTLOOM_NEO4J_URI / FACTLOOM_NEO4J_USER / FACTLOOM_NEO4J_PASSWORD select a Neo4j 5 "
    "server; unset, an embedded ArcadeDB server is started under FACTLOOM_DATA_DIR (default ./.factloom) "
    "on 127.0.0.1:FACTLOOM_BOLT_PORT (17687)."
)

cli = typer.Typer(
    help="Factloom: knowledge graphs of facts extracted by trained models, with provenance.\n\n" + ENV_HELP,
    epilog="Settings (environment variable, or the lower-case name without prefix in factloom.toml):\n\n"
    + _settings_help(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
store_cli = typer.Typer(
    help="Run the embedded store server (ignored when FACTLOOM_NEO4J_URI is set).", no_args_is_help=True
)
cli.add_typer(store_cli, name="store")

cli.add_typer(lp_cli, name="lp")
cli.add_typer(extract_cli, name="extract")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@cli.callback()
def _main(
    data_dir: Annotated[
        Path | None, typer.Option(help="embedded store data directory (overrides FACTLOOM_DATA_DIR)")
    ] = None,
) -> None:
    CommandContext.data_dir = data_dir


@cli.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or directories (walked recursively)")],
    text_field: Annotated[
        str | None, typer.Option(help="text field of .jsonl records (default: text)")
    ] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Parse documents (.txt .md .jsonl .log, USPTO patent XML) and store their sentences.

    A bad file gets one line naming it and the reason; the rest are still ingested. Exit code 1 when any
    file or record failed.
    """
    settings = context.settings()
    files = list(iter_files(paths))
    with open_store(settings.store_config()) as store:
        bar = Progress(
            TextColumn("ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[name]}"),
            console=err,
            disable=not progress,
            transient=True,
        )
        with bar:
            task = bar.add_task("ingest", total=len(files), name="")
            summary = ingest_paths(
                store,
                files,
                jsonl_text_field=text_field or settings.jsonl_text_field,
                on_file=lambda p: bar.update(task, advance=1, name=p.name),
                on_error=lambda e: err.print(f"[red]failed[/red] {e}", markup=True, highlight=False),
            )
    out.print(
        f"documents: {summary.new} new, {summary.replaced} replaced, {summary.unchanged} unchanged, "
        f"{summary.failed} failed; sentences written: {summary.sentences} (files: {summary.files})",
        highlight=False,
    )
    if summary.failed:
        raise typer.Exit(1)


@cli.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False) -> None:
    """Count documents, sentences, entities and facts in the store."""
    with context.store() as store:
        counts = store.stats().as_dict()
    if as_json:
        print(json.dumps(counts))
        return
    table = Table("", "count")
    for name, value in counts.items():
        table.add_row(name, str(value))
    out.print(table)


@cli.command()
def facts(
    entity: Annotated[str | None, typer.Option(help="facts whose head or tail contains this text")] = None,
    relation: Annotated[str | None, typer.Option(help="facts with this relation (normalised)")] = None,
    document: Annotated[str | None, typer.Option(help="facts from this document id")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many facts")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, with provenance")] = False,
) -> None:
    """List facts (highest confidence first) with their sentence and document."""
    with context.store() as store:
        found = store.facts(entity=entity, relation=relation, document_id=document, limit=limit)
    if as_json:
        for fact in found:
            print(json.dumps(fact.as_json(), ensure_ascii=False))
        return
    if not found:
        out.print("no facts match")
        return
    for fact in found:
        out.print(
            f"[bold]{escape(fact.head)}[/bold] :: {escape(fact.relation)} :: "
            f"[bold]{escape(fact.tail)}[/bold]  "
            f"[dim]({fact.confidence:.2f}; {escape(fact.source or '')} / {fact.sentence_id})[/dim]",
            highlight=False,
        )
        if fact.sentence:
            out.print(Text("    ").append_text(_marked(fact)), highlight=False)


def _marked(fact: StoredFact) -> Text:
    """The fact's sentence with head/tail underlined-bold and relation pieces in colour (char provenance)."""
    text = Text(fact.sentence or "")
    for start, end in (fact.head_span, fact.tail_span):
        text.stylize("bold underline", start, end)
    for start, end in fact.relation_spans:
        text.stylize("cyan", start, end)
    return text


@cli.command()
def delete(document: Annotated[str, typer.Option(help="the document id to delete")]) -> None:
    """Delete a document with its sentences, its facts and entities left without facts."""
    with context.store() as store:
        summary = store.delete_document(document)
    out.print(
        f"deleted document {summary.document_id}: {summary.sentences} sentences, {summary.facts} facts, "
        f"{summary.entities} entities",
        highlight=False,
    )


@cli.command()
def documents(
    source: Annotated[str | None, typer.Option(help="only sources containing this text")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many documents")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
) -> None:
    """List stored documents: id (for `delete` and `sentences`), source, title, sentence count."""
    with context.store() as store:
        found = store.documents(source=source, limit=limit)
    if as_json:
        for info in found:
            print(json.dumps(info.as_json(), ensure_ascii=False))
        return
    table = Table("id", "source", "title", "sentences")
    for info in found:
        table.add_row(info.id, info.source, info.title[:60], str(info.sentences))
    out.print(table)


@cli.command(name="sentences")
def list_sentences(
    document: Annotated[str, typer.Option(help="document id (see `factloom documents`)")],
    limit: Annotated[int | None, typer.Option(min=1, help="only the first N sentences")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the sentences of a document with their sections and [start, end) offsets in the document."""
    with context.store() as store:
        found = store.sentences(document)[:limit]
    for s in found:
        if as_json:
            row = {"id": s.id, "section": s.section, "start": s.start, "end": s.end, "text": s.text}
            print(json.dumps(row, ensure_ascii=False))
        else:
            out.print(f"[dim]{s.id} {s.section} [{s.start},{s.end})[/dim] {s.text}", highlight=False)


def _server() -> EmbeddedServer:
    config = context.settings().store_config()
    if not config.embedded:
        raise FactloomError(
            "FACTLOOM_NEO4J_URI is set: the store is an external Neo4j; nothing to start here"
        )
    return EmbeddedServer(config)


@store_cli.command("start")
def store_start() -> None:
    """Start the embedded store server in the background (it keeps running until `store stop`)."""
    server = _server()
    info = server.status()
    if info is None:
        info = server.start()
        out.print(f"started: {info.uri} (pid {info.pid}, data {server.data_dir})", highlight=False)
    else:
        out.print(f"already running: {info.uri} (pid {info.pid}, data {server.data_dir})", highlight=False)


@store_cli.command("stop")
def store_stop() -> None:
    """Stop the embedded store server cleanly."""
    server = _server()
    out.print("stopped" if server.stop() else f"not running (data {server.data_dir})", highlight=False)


@store_cli.command("status")
def store_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Say whether the embedded store server runs, and where. Exit code 3 when it does not."""
    server = _server()
    info = server.status()
    if as_json:
        print(
            json.dumps(
                {
                    "running": info is not None,
                    "data_dir": str(server.data_dir),
                    **({"uri": info.uri, "pid": info.pid} if info else {}),
                }
            )
        )
    elif info:
        out.print(f"running: {info.uri} (pid {info.pid}, data {server.data_dir})", highlight=False)
    else:
        out.print(f"not running (data {server.data_dir})", highlight=False)
    if info is None:
        raise typer.Exit(3)


def main() -> None:
    """Console-script entry point: one clear line on stderr for every expected failure, exit code 2."""
    try:
        cli()
    except FactloomError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)
