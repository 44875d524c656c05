"""``loopml data schema``: infer schemas, and save, list and show a dataset's saved schemas."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from loopml.cli._helpers import console, err_console, print_json, workspace_for
from loopml.cli._text import esc

if TYPE_CHECKING:
    from loopml.data import DataRepo
    from loopml.entities import DatasetSchema

app = typer.Typer(help="Infer, save, list and show schemas.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def repo_for(ctx: typer.Context, *, read_only: bool = False) -> DataRepo:
    """The DataRepo of this invocation's workspace."""
    from loopml.data import repo_for as workspace_repo

    return workspace_repo(workspace_for(ctx, read_only=read_only))


def _record(repo: DataRepo, name: str, saved: DatasetSchema) -> dict[str, Any]:
    version = None if saved.version_id is None else repo.store.get_version(saved.version_id)
    return {
        "dataset": name,
        "seq": saved.seq,
        "ref": f"{name}@{saved.seq}",
        "digest": saved.digest,
        "created_at_ms": saved.created_at_ms,
        "version_id": saved.version_id,
        "version_seq": None if version is None else version.seq,
    }


@app.command("infer")
def schema_infer(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version NAME@REF, or a local table file.")],
    path: Annotated[
        str | None, typer.Option("--path", help="Table file inside the version.")
    ] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Also save it as the dataset's next schema.")
    ] = False,
) -> None:
    """Infer a schema and print it as YAML (redirect to schema.yaml and edit)."""
    from loopml.data import infer_schema, save_schema

    repo = repo_for(ctx, read_only=not save and not Path(ref).exists())
    schema = infer_schema(ref, path=path, repo=repo)
    sys.stdout.write(schema.to_yaml())
    if save:
        saved = save_schema(ref, schema, repo=repo)
        err_console.print(f"# saved as schema {ref.partition('@')[0]}@{saved.seq}")


@app.command("save")
def schema_save(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME, or NAME@REF to tie it to that version.")],
    file: Annotated[Path, typer.Argument(help="Schema YAML file (e.g. edited by hand).")],
    as_json: JsonOpt = False,
) -> None:
    """Save a schema file as the dataset's next schema version (checked first)."""
    from loopml.data import Schema, save_schema

    repo = repo_for(ctx)
    schema = Schema.load(file)
    name = ref.partition("@")[0]
    saved = save_schema(ref, schema, repo=repo)
    if as_json:
        print_json(_record(repo, name, saved))
        return
    console.print(f"saved {esc(file)} as schema {name}@{saved.seq}")


@app.command("list")
def schema_list(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    as_json: JsonOpt = False,
) -> None:
    """List a dataset's saved schemas, oldest first."""
    from loopml.data import list_schemas

    repo = repo_for(ctx, read_only=True)
    records = [_record(repo, name, s) for s in list_schemas(name, repo=repo)]
    if as_json:
        print_json(records)
        return
    if not records:
        console.print(f"{name} has no saved schema (save one with `schema infer --save`)")
        return
    table = Table("schema", "saved", "for version", "digest", title=f"schemas of {name}")
    for r in records:
        when = dt.datetime.fromtimestamp(r["created_at_ms"] / 1000, tz=dt.UTC)
        version = "-" if r["version_id"] is None else f"v{r['version_seq']} {r['version_id'][:12]}"
        table.add_row(r["ref"], when.strftime("%Y-%m-%d %H:%M:%S"), version, r["digest"][:12])
    console.print(table)


@app.command("show")
def schema_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME (the newest saved schema) or NAME@N.")],
    as_json: JsonOpt = False,
    as_yaml: Annotated[
        bool, typer.Option("--yaml", help="Print the schema as YAML (the default).")
    ] = False,
) -> None:
    """Print a saved schema: YAML by default, or JSON with its record (``--json``)."""
    from loopml.data import get_schema, list_schemas
    from loopml.errors import InvalidInput

    if as_json and as_yaml:
        raise InvalidInput("--json and --yaml exclude each other", hint="Pick one.")
    repo = repo_for(ctx, read_only=True)
    schema = get_schema(ref, repo=repo)  # checks the reference
    if as_json:
        name, _, seq = ref.partition("@")
        records = list_schemas(name, repo=repo)
        saved = next(r for r in records if r.seq == int(seq)) if seq else records[-1]
        print_json({**_record(repo, name, saved), "schema": schema.model_dump(mode="json")})
        return
    sys.stdout.write(schema.to_yaml())
