"""``loopml data``: version, inspect and validate datasets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json
from loopml.cli._text import clip, esc
from loopml.cli.data_schema import app as schema_app
from loopml.cli.data_schema import repo_for
from loopml.errors import CheckFailed

if TYPE_CHECKING:
    from loopml.data import ValidationReport

app = typer.Typer(help="Version, profile and validate datasets.", no_args_is_help=True)
branch_app = typer.Typer(help="Branches of a dataset (zero-copy).", no_args_is_help=True)
app.add_typer(branch_app, name="branch")
app.add_typer(schema_app, name="schema")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _repo(ctx: typer.Context, *, read_only: bool = False) -> Any:
    return repo_for(ctx, read_only=read_only)


def _names_versions(*items: str | None) -> bool:
    """True when any item is a dataset reference rather than a local file (reads a home)."""
    return any(item is not None and not Path(item).exists() for item in items)


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command("commit")
def commit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to commit.")],
    message: Annotated[str, typer.Option("--message", "-m", help="Commit message.")] = "",
    branch: Annotated[str, typer.Option("--branch", "-b", help="Branch to commit to.")] = "main",
    pii_policy: Annotated[
        str | None, typer.Option("--pii-policy", help="warn, block or redact (saved).")
    ] = None,
    no_profile: Annotated[bool, typer.Option("--no-profile", help="Skip profiling.")] = False,
    project: Annotated[
        str | None,
        typer.Option("--project", help="Project of a dataset this creates (fixed after)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Commit files and folders as a new version (unchanged content costs nothing)."""
    from loopml.entities import PiiPolicy
    from loopml.errors import InvalidInput

    if pii_policy is not None and pii_policy not in {p.value for p in PiiPolicy}:
        raise InvalidInput(f"unknown PII policy {pii_policy!r}", hint="Use warn, block or redact.")
    repo = _repo(ctx)
    with console.status(f"committing to {esc(name)}@{esc(branch)}...", spinner="dots"):
        version, changed = repo.commit_detailed(
            name,
            [str(p) for p in paths],
            message=message,
            branch=branch,
            author=None,
            pii_policy=pii_policy,
            expect=None,
            profile=not no_profile,
            project=project,
        )
    flagged = {
        path: [f for f in found if f["flagged"]]
        for path, found in dict(version.meta.get("pii", {})).items()
    }
    flagged = {p: f for p, f in flagged.items() if f}
    if as_json:
        print_json(
            {
                "id": version.id,
                "seq": version.seq,
                "changed": changed,
                "files": version.file_count,
                "bytes": version.total_bytes,
                "pii": flagged,
                "redacted": version.meta.get("redacted", {}),
            }
        )
        return
    if not changed:
        console.print(
            f"nothing changed: {esc(name)}@{esc(branch)} is v{version.seq} ({version.id[:12]})"
        )
        return
    console.print(
        f"committed {esc(name)}@{esc(branch)} v{version.seq} [bold]{version.id[:12]}[/] "
        f"({version.file_count} files, {version.total_bytes:,} bytes)"
    )
    for path, found in flagged.items():
        for f in found:
            console.print(
                f"[yellow]pii:[/] {esc(path)}: column {esc(repr(f['column']))} looks like "
                f"{f['kind']} "
                f"(confidence {f['confidence']:.2f})"
            )
    for path, columns in dict(version.meta.get("redacted", {})).items():
        console.print(f"[yellow]redacted:[/] {esc(path)}: {esc(', '.join(columns))} stored hashed")


@app.command("log")
def log(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME (all versions) or NAME@REF (its ancestry).")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Most versions.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """History with refs, and the runs and models that used each version (lineage)."""
    entries = _repo(ctx, read_only=True).log(ref, limit=limit)
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    for e in entries:
        v = e.version
        refs = f" [cyan]({esc(', '.join(e.refs))})[/]" if e.refs else ""
        console.print(
            f"[bold]v{v.seq}[/] [yellow]{v.id[:12]}[/]{refs} {_when(v.created_at_ms)} "
            f"{esc(v.author)}: {esc(v.message) if v.message else '[dim](no message)[/]'}"
        )
        console.print(f"    {v.file_count} files, {v.total_bytes:,} bytes")
        for path, columns in dict(v.meta.get("redacted", {})).items():
            console.print(
                f"    [yellow]redacted[/] {esc(path)}: {esc(', '.join(columns))} (stored hashed)"
            )
        for source, relation in e.made_from:
            console.print(f"    [dim]{esc(relation)} <-[/] {esc(source)}")
        for consumer, relation in e.used_by:
            console.print(f"    [dim]{esc(relation)} ->[/] {esc(consumer)}")


@app.command("diff")
def diff(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="Earlier version, NAME@REF.")],
    new: Annotated[str, typer.Argument(help="Later version, NAME@REF.")],
    key: Annotated[
        list[str] | None, typer.Option("--key", "-k", help="Key column(s) for a row diff.")
    ] = None,
    path: Annotated[str | None, typer.Option("--path", help="Table file to compare.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Files added/removed/changed; schema, statistics and row diffs of tables."""
    from loopml.data import diff as run_diff

    repo = _repo(ctx, read_only=_names_versions(old, new))
    result = run_diff(old, new, key=key, path=path, repo=repo)
    if as_json:
        print_json(result)
        return
    files = result["files"]
    console.print(
        f"files: +{len(files['added'])} -{len(files['removed'])} "
        f"~{len(files['changed'])} ={files['unchanged']}"
    )
    for sign, group in (("+", "added"), ("-", "removed"), ("~", "changed")):
        for p in files[group]:
            console.print(f"  {sign} {esc(p)}")
    for name, entry in result["tables"].items():
        console.print(f"[bold]{esc(name)}[/]")
        schema = entry["schema"]
        for c in schema["added"]:
            console.print(f"  column + {esc(c)}")
        for c in schema["removed"]:
            console.print(f"  column - {esc(c)}")
        for c in schema["retyped"]:
            console.print(f"  column ~ {esc(c['column'])}: {esc(c['from'])} -> {esc(c['to'])}")
        stats = entry["stats"]
        console.print(f"  rows: {stats['rows']['from']} -> {stats['rows']['to']}")
        table = Table("column", "statistic", "from", "to")
        for column, changes in stats["columns"].items():
            for stat, change in changes.items():
                table.add_row(esc(column), stat, _short(change["from"]), _short(change["to"]))
        if table.rows:
            console.print(table)
        if "rows" in entry:
            r = entry["rows"]
            console.print(
                f"  by {esc(', '.join(r['key']))}: +{r['added']} added, -{r['removed']} "
                f"removed, ~{r['changed']} changed, {r['unchanged']} unchanged"
            )
            for status, rows in r["samples"].items():
                console.print(f"    {status} e.g. {esc(rows)}")


def _short(value: Any) -> str:
    return clip(f"{value:.6g}" if isinstance(value, float) else value, 60)


@app.command("checkout")
def checkout(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version, NAME@REF.")],
    dest: Annotated[Path, typer.Argument(help="Folder to write the files into.")],
    copy: Annotated[bool, typer.Option("--copy", help="Copy, never hard-link.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Materialise a version's files (hard links from a local store, verified)."""
    result = _repo(ctx, read_only=True).checkout(ref, dest, link=not copy)
    if as_json:
        print_json(
            {
                "dest": str(result.dest),
                "files": result.files,
                "linked": result.linked,
                "copied": result.copied,
                "bytes": result.bytes,
            }
        )
        return
    console.print(
        f"checked out {esc(ref)} to {esc(result.dest)}: {result.files} files "
        f"({result.linked} linked, {result.copied} copied)"
    )


@branch_app.command("create")
def branch_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    branch: Annotated[str, typer.Argument(help="New branch name.")],
    from_ref: Annotated[str | None, typer.Option("--from", help="Start at NAME@REF.")] = None,
) -> None:
    """Create a branch (no data is copied)."""
    ref = _repo(ctx).branch(name, branch, from_ref=from_ref)
    console.print(f"branch {esc(name)}@{esc(ref.name)} -> {ref.version_id[:12]}")


@branch_app.command("list")
def branch_list(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    as_json: JsonOpt = False,
) -> None:
    """List branches and tags."""
    repo = _repo(ctx, read_only=True)
    refs = repo.store.list_refs(repo.store.get_dataset(name).id)
    if as_json:
        print_json([{"name": r.name, "kind": r.kind.value, "version": r.version_id} for r in refs])
        return
    for r in refs:
        console.print(f"{r.kind.value:6} {esc(r.name)} -> {r.version_id[:12]}")


@app.command("tag")
def tag(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version, NAME@REF.")],
    name: Annotated[str, typer.Argument(help="Tag name (tags never move).")],
) -> None:
    """Tag a version."""
    made = _repo(ctx).tag(ref, name)
    console.print(f"tag {esc(ref.partition('@')[0])}@{esc(made.name)} -> {made.version_id[:12]}")


@app.command("profile")
def profile(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version NAME@REF, or a local table file.")],
    path: Annotated[
        str | None, typer.Option("--path", help="Table file inside the version.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write an HTML report with plots.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the profile stored with a version (type, nulls, distinct, stats, top values)."""
    from loopml.data import profile as get_profile

    result = get_profile(ref, path, repo=_repo(ctx, read_only=_names_versions(ref)))
    if html is not None:
        from loopml.cli._data_html import render_html

        html.write_text(render_html(ref, result), encoding="utf-8")
    if as_json:
        print_json(result)
        return
    table = Table(
        "column",
        "type",
        "count",
        "nulls",
        "distinct",
        "min",
        "max",
        "mean",
        "top",
        title=f"{esc(ref)}: {result['rows']:,} rows",
    )
    for name, c in result["columns"].items():
        top = ", ".join(str(t["value"]) for t in c.get("top", [])[:3])
        table.add_row(
            esc(name),
            esc(c["type"]),
            str(c["count"]),
            str(c["nulls"]),
            str(c.get("distinct")),
            _short(c.get("first", c.get("min"))),
            _short(c.get("last", c.get("max"))),
            _short(c.get("mean")),
            clip(top),
        )
    console.print(table)
    if html is not None:
        console.print(f"wrote {esc(html)}")


@app.command("validate")
def validate(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Version NAME@REF, or a local table file.")],
    schema: Annotated[str, typer.Option("--schema", "-s", help="schema.yaml, or NAME@REF.")],
    reference: Annotated[
        str | None, typer.Option("--reference", "-r", help="Baseline NAME@REF for shift.")
    ] = None,
    path: Annotated[
        str | None, typer.Option("--path", help="Table file inside the version.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the report as an HTML page.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Report anomalies and the origin of each rule broken (inferred, user, builtin);
    exit 1 when any error-level anomaly is found."""
    from loopml.data import Schema
    from loopml.data import validate as run_validate

    # A schema file's mistakes (file:line) come before anything about the home.
    rules: Schema | str = Schema.load(schema) if Path(schema).is_file() else schema
    repo = _repo(ctx, read_only=_names_versions(target, schema, reference))
    report = run_validate(target, rules, reference=reference, path=path, repo=repo)
    if html is not None:
        from loopml.cli._data_html import render_validation_html

        html.write_text(render_validation_html(report), encoding="utf-8")
    if as_json:
        print_json(report.to_dict())
    else:
        table = Table(
            "severity",
            "kind",
            "column",
            "rule",
            "rows",
            "message",
            "examples",
            title=f"{esc(target)}: {report.rows:,} rows",
        )
        for a in report.anomalies:
            colour = "red" if a.severity == "error" else "yellow"
            examples = "; ".join(f"row {e['row']}: {e['value']!r}" for e in a.examples[:3])
            table.add_row(
                f"[{colour}]{a.severity}[/]",
                esc(a.kind),
                esc(a.column or ""),
                a.origin,
                str(a.count),
                esc(a.message),
                clip(examples, 200),
            )
        if report.anomalies:
            console.print(table)
        console.print(_verdict(report))
        if html is not None:
            console.print(f"wrote {html}")
    if not report.ok:
        raise typer.Exit(CheckFailed.exit_code)


def _verdict(report: ValidationReport) -> str:
    if report.ok:
        return "[green]valid[/]"
    inferred = report.errors_by_origin()["inferred"]
    line = f"[red]{len(report.errors)} error(s)[/]"
    if inferred:
        line += (
            f", {inferred} against inferred rules: if this data is right, edit those rules "
            "in the schema (docs/data.md#schemas-and-validation)"
        )
    return line
