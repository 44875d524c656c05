"""``loopml audit``: verify the Merkle audit log, read it, export signed tree heads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json, store_for, workspace_for
from loopml.cli._text import clip, esc

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

app = typer.Typer(
    help="The audit log: verify it, read it, export signed checkpoints.", no_args_is_help=True
)

_KEY = typer.Option(
    "--key",
    envvar="LOOPML_AUDIT_KEY_FILE",
    help="Ed25519 signing key (PEM; default: audit-signing-key.pem in the home, made 0600).",
)
_FILTERS = ("actor", "action", "object_kind", "object_id", "outcome")


def _key(ctx: typer.Context, path: Path | None) -> Ed25519PrivateKey:
    from loopml.governance import KEY_FILE, signing_key

    return signing_key(path or workspace_for(ctx).home / KEY_FILE)


@app.command("verify")
def verify(
    ctx: typer.Context,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="A checkpoint file kept earlier.")
    ] = None,
    key: Annotated[Path | None, _KEY] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute the log from its entries; exit 1 naming the first bad entry."""
    from loopml.errors import CheckFailed, InvalidInput
    from loopml.governance import read_checkpoint, verify_log

    store = store_for(ctx, read_only=True)
    head = None
    if checkpoint is not None:
        try:
            note = checkpoint.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(
                f"cannot read the checkpoint {checkpoint}: {exc.strerror}",
                hint="Give a file written by `loopml audit checkpoint --output FILE`.",
            ) from exc
        head = read_checkpoint(note, _key(ctx, key).public_key())
    result = verify_log(store, checkpoint=head)
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "size": result.size,
                "root": result.root,
                "first_bad": result.first_bad,
                "problem": result.problem,
            }
        )
    if not result.ok:
        raise CheckFailed(
            f"audit log verification failed at entry {result.first_bad}: {result.problem}",
            hint="Restore the database from a backup; compare with a kept checkpoint.",
            first_bad=result.first_bad,
        )
    if not as_json:
        extra = f", consistent with the checkpoint of size {head[0]}" if head else ""
        console.print(f"[green]ok[/]: {result.size} entries, root {result.root}{extra}")


@app.command("log")
def log(
    ctx: typer.Context,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="KEY=VALUE on actor, action (PREFIX*), object_kind, "
            "object_id or outcome; repeat to combine.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List audit entries, oldest first."""
    from loopml.errors import InvalidInput

    chosen: dict[str, str] = {}
    for item in filters or []:
        key, sep, value = item.partition("=")
        if not sep or key not in _FILTERS:
            raise InvalidInput(
                f"invalid --filter {item!r}",
                hint=f"Give KEY=VALUE with KEY one of {', '.join(_FILTERS)}.",
            )
        chosen[key] = value
    events = store_for(ctx, read_only=True).list_audit_events(offset=offset, limit=limit, **chosen)
    if as_json:
        print_json(
            [
                {
                    "index": e.index,
                    "at_ms": e.at_ms,
                    "actor": e.entry.actor,
                    "action": e.entry.action,
                    "object_kind": e.entry.object_kind,
                    "object_id": e.entry.object_id,
                    "source": e.entry.source,
                    "outcome": str(e.entry.outcome),
                    "before": e.entry.before,
                    "after": e.entry.after,
                    "detail": dict(e.entry.detail),
                    "leaf_hash": e.leaf_hash,
                }
                for e in events
            ]
        )
        return
    table = Table("#", "actor", "action", "object", "outcome", "from")
    for e in events:
        table.add_row(
            str(e.index),
            esc(e.entry.actor),
            esc(e.entry.action),
            clip(f"{e.entry.object_kind}:{e.entry.object_id}"),
            str(e.entry.outcome),
            esc(e.entry.source),
        )
    console.print(table)


@app.command("checkpoint")
def checkpoint_cmd(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the checkpoint to this file.")
    ] = None,
    key: Annotated[Path | None, _KEY] = None,
) -> None:
    """Sign the current tree head (a C2SP checkpoint) for a second party to keep."""
    from loopml.governance import make_checkpoint

    store = store_for(ctx)
    signed = make_checkpoint(store, _key(ctx, key))
    if output is None:
        console.print(signed.note, markup=False, end="")
        return
    output.write_text(signed.note, encoding="utf-8")
    console.print(f"Wrote the checkpoint of {signed.size} entries to {esc(output)}")
