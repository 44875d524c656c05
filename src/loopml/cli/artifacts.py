"""``loopml artifacts``: encryption keys of the artifact store (generate, rotate)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import esc

app = typer.Typer(
    help="Encryption keys of the artifact store: generate one, rotate to a new one.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


@app.command("generate-key")
def generate_key_cmd(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the key to this new file (mode 0600) instead of printing it.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a random 256-bit master key (base64) for LOOPML_ENCRYPTION_KEY(_FILE)."""
    from loopml.artifacts import generate_key, parse_key
    from loopml.errors import InvalidInput

    key = generate_key()
    key_id = parse_key(key, where="the new key").key_id
    if output is not None:
        try:
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise InvalidInput(
                f"cannot create the key file {output}: {exc.strerror or exc}",
                hint="Name a new file in an existing folder; an existing file is never "
                "overwritten.",
                path=str(output),
            ) from exc
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
    if as_json:
        print_json({"key_id": key_id, **({"path": str(output)} if output else {"key": key})})
    elif output is not None:
        console.print(f"wrote master key {key_id} to {esc(str(output))}")
    else:
        typer.echo(key)


@app.command("rotate-key")
def rotate_key_cmd(
    ctx: typer.Context,
    new_key_file: Annotated[
        Path,
        typer.Option(
            "--new-key-file",
            help="File whose first key becomes the current one (see `generate-key -o`).",
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Re-wrap every object's data key under a new master key; data is not re-encrypted.

    The current keys come from LOOPML_ENCRYPTION_KEY_FILE / LOOPML_ENCRYPTION_KEY. Once it
    is done, make the new key the first line of the key file (keep the old one below it
    until every process uses the new file).
    """
    from loopml.artifacts import read_key_file

    new = read_key_file(new_key_file)[0]
    workspace = workspace_for(ctx, read_only=True)
    counts = workspace.artifacts.rotate_key(new)
    if as_json:
        print_json({"key_id": new.key_id, **counts})
        return
    console.print(
        f"re-wrapped {counts['rewrapped']:,} object(s) under master key {new.key_id}; "
        f"{counts['already']:,} already were; {counts['plaintext']:,} unencrypted object(s) "
        "left as they are"
    )
    console.print(
        "Now put the new key first in LOOPML_ENCRYPTION_KEY_FILE (or LOOPML_ENCRYPTION_KEY)."
    )
