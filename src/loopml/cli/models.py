"""``loopml models``: the registry, promotion workflow, cards and packages."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from loopml.cli._helpers import console, print_json, workspace_for
from loopml.cli._text import clip, esc

if TYPE_CHECKING:
    from collections.abc import Iterator

app = typer.Typer(
    help="Registered models: versions, aliases, approvals, cards, packages.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def _session(ctx: typer.Context, *, read_only: bool = False) -> Iterator[dict[str, Any]]:
    workspace = workspace_for(ctx, read_only=read_only)
    yield {"store": workspace.store, "artifacts": workspace.artifacts, "actor": workspace.actor}


def _split(ref: str) -> tuple[str, int]:
    from loopml.errors import InvalidInput

    name, _, number = ref.partition("/")
    if not number.isdigit():
        raise InvalidInput(f"expected NAME/NUMBER, got {ref!r}", hint="For example: fraud/3.")
    return name, int(number)


def _version_row(v: Any) -> dict[str, Any]:
    return {k: (list(x) if isinstance(x, tuple) else x) for k, x in asdict(v).items()}


@app.command("list")
def list_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List registered models."""
    from loopml.registry import list_models

    with _session(ctx, read_only=True) as s:
        models = list_models(store=s["store"])
    if as_json:
        print_json([asdict(m) for m in models])
        return
    table = Table("name", "description", "created by")
    for m in models:
        table.add_row(m.name, clip(m.description), esc(m.created_by))
    console.print(table)


@app.command("register")
def register_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    path: Annotated[str, typer.Argument(help="Model directory (save_model) or model URI.")],
    run_id: Annotated[str | None, typer.Option("--run", help="Run that trained it.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Semantic version override.")
    ] = None,
    gates: Annotated[
        Path | None, typer.Option("--gates", help="gates.yaml to version with it.")
    ] = None,
    description: Annotated[str, typer.Option("--description", "-m")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Register a model directory as the next version of NAME."""
    from loopml.registry import register_model

    with _session(ctx) as s:
        v = register_model(
            name, path, run_id=run_id, version=version, gates=gates, description=description, **s
        )
    if as_json:
        print_json(_version_row(v))
    else:
        console.print(f"registered {v.model_name} version {v.number} ({v.semver})")


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME, NAME@ALIAS or NAME/VERSION.")],
    as_json: JsonOpt = False,
) -> None:
    """Show a model (with its versions) or one version."""
    from loopml.registry import get_model, get_version, list_versions

    with _session(ctx, read_only=True) as s:
        if "@" in ref or "/" in ref:
            data: Any = _version_row(get_version(ref, store=s["store"]))
        else:
            data = {
                **asdict(get_model(ref, store=s["store"])),
                "versions": [_version_row(v) for v in list_versions(ref, store=s["store"])],
            }
    if as_json:
        print_json(data)
    else:
        console.print_json(data=data, default=str)


@app.command("versions")
def versions_cmd(ctx: typer.Context, name: str, as_json: JsonOpt = False) -> None:
    """List the versions of a model, newest first."""
    from loopml.registry import list_versions

    with _session(ctx, read_only=True) as s:
        versions = list_versions(name, store=s["store"])
    if as_json:
        print_json([_version_row(v) for v in versions])
        return
    table = Table("number", "semver", "flavor", "aliases", "run", "created by")
    for v in versions:
        table.add_row(
            str(v.number),
            v.semver,
            esc(v.flavor),
            ", ".join(v.aliases),
            v.run_id or "",
            esc(v.created_by),
        )
    console.print(table)


@app.command("alias")
def alias_cmd(
    ctx: typer.Context,
    name: str,
    alias: str,
    version: Annotated[
        int | None, typer.Argument(help="Version number (omit with --delete).")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
    reason: Annotated[str, typer.Option("--reason")] = "",
) -> None:
    """Point ALIAS at VERSION (unguarded aliases only; guarded ones need promotion)."""
    from loopml.errors import InvalidInput
    from loopml.registry import delete_alias, set_alias

    with _session(ctx) as s:
        if delete:
            move = delete_alias(name, alias, reason=reason, **_sa(s))
        elif version is None:
            raise InvalidInput("give a VERSION or --delete")
        else:
            move = set_alias(name, alias, version, reason=reason, **_sa(s))
    console.print(f"{name}@{alias}: {move.from_version} -> {move.to_version}")


def _sa(s: dict[str, Any]) -> dict[str, Any]:
    return {"store": s["store"], "actor": s["actor"]}


@app.command("history")
def history_cmd(
    ctx: typer.Context,
    name: str,
    alias: Annotated[str | None, typer.Argument()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every move of an alias (or all aliases), oldest first."""
    from loopml.registry import alias_history

    with _session(ctx, read_only=True) as s:
        moves = alias_history(name, alias, store=s["store"])
    if as_json:
        print_json([asdict(m) for m in moves])
        return
    table = Table("seq", "alias", "from", "to", "actor", "reason")
    for m in moves:
        table.add_row(
            str(m.seq),
            m.alias,
            str(m.from_version),
            str(m.to_version),
            esc(m.actor),
            clip(m.reason),
        )
    console.print(table)


@app.command("policy")
def policy_cmd(
    ctx: typer.Context,
    name: str,
    alias: str,
    approvals: Annotated[int, typer.Option("--approvals", min=0)] = 1,
    role: Annotated[str, typer.Option("--role")] = "approver",
    no_gates: Annotated[
        bool, typer.Option("--no-gates", help="Do not require green gates.")
    ] = False,
    allow_author: Annotated[bool, typer.Option("--allow-author")] = False,
) -> None:
    """Guard ALIAS: moving it needs approvals from ROLE (not the author) and green gates."""
    from loopml.registry import set_promotion_policy

    with _session(ctx) as s:
        policy = set_promotion_policy(
            name,
            alias,
            require_gates=not no_gates,
            approvals=approvals,
            approver_role=role,
            allow_author=allow_author,
            **_sa(s),
        )
    console.print(f"{name}@{alias} guarded: {esc(asdict(policy))}")


@app.command("request-promotion")
def request_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME/VERSION")],
    alias: str,
    comment: Annotated[str, typer.Option("--comment", "-m")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Ask for ALIAS to move to NAME/VERSION."""
    from loopml.registry import request_promotion

    name, number = _split(ref)
    with _session(ctx) as s:
        request = request_promotion(name, number, alias, comment=comment, **_sa(s))
    if as_json:
        print_json(asdict(request))
    else:
        console.print(f"request {request.id}: {name}@{alias} -> {number} ({request.status.value})")


def _decide(ctx: typer.Context, request_id: str, comment: str, approve_it: bool) -> None:
    from loopml.registry import approve, reject

    with _session(ctx) as s:
        fn = approve if approve_it else reject
        request = fn(request_id, comment=comment, **_sa(s))
    console.print(f"request {request.id}: {request.status.value}")


@app.command("approve")
def approve_cmd(
    ctx: typer.Context,
    request_id: str,
    comment: Annotated[str, typer.Option("--comment", "-m")] = "",
) -> None:
    """Approve a promotion request (needs the policy's role; not the author)."""
    _decide(ctx, request_id, comment, True)


@app.command("reject")
def reject_cmd(
    ctx: typer.Context,
    request_id: str,
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why (required).")] = "",
) -> None:
    """Reject a promotion request, saying why."""
    _decide(ctx, request_id, comment, False)


@app.command("promote")
def promote_cmd(
    ctx: typer.Context, request_id: str, reason: Annotated[str, typer.Option("--reason")] = ""
) -> None:
    """Move the alias as the request asks; refused while gates are red or approvals missing."""
    from loopml.registry import promote

    with _session(ctx) as s:
        move = promote(request_id, reason=reason, **_sa(s))
    console.print(f"{move.model_name}@{move.alias}: {move.from_version} -> {move.to_version}")


@app.command("rollback")
def rollback_cmd(
    ctx: typer.Context, name: str, alias: str, reason: Annotated[str, typer.Option("--reason")] = ""
) -> None:
    """Move ALIAS back to the version that held it before."""
    from loopml.registry import rollback

    with _session(ctx) as s:
        move = rollback(name, alias, reason=reason, **_sa(s))
    console.print(f"{name}@{alias}: {move.from_version} -> {move.to_version}")


@app.command("requests")
def requests_cmd(ctx: typer.Context, name: str, as_json: JsonOpt = False) -> None:
    """List promotion requests of a model."""
    from loopml.registry import list_requests

    with _session(ctx, read_only=True) as s:
        requests = list_requests(name, store=s["store"])
    if as_json:
        print_json([asdict(r) for r in requests])
        return
    table = Table("id", "version", "alias", "status", "requested by", "decisions")
    for r in requests:
        table.add_row(
            r.id,
            str(r.version),
            r.alias,
            r.status.value,
            esc(r.requested_by),
            esc(", ".join(f"{d.actor}:{'+' if d.approve else '-'}" for d in r.decisions)),
        )
    console.print(table)


@app.command("card")
def card_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME@ALIAS or NAME/VERSION.")],
    html: Annotated[bool, typer.Option("--html", help="Write HTML instead of Markdown.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="File to write.")] = None,
    details: Annotated[
        Path | None, typer.Option("--details", help="YAML: intended_use, limitations, ...")
    ] = None,
) -> None:
    """Write the model card and print its path."""
    from loopml.registry import model_card

    with _session(ctx) as s:
        path = model_card(
            ref,
            out=out,
            html_output=html,
            details=details,
            store=s["store"],
            artifacts=s["artifacts"],
        )
    console.print(esc(path), soft_wrap=True)


@app.command("package")
def package_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME@ALIAS or NAME/VERSION.")],
    out: Annotated[Path, typer.Option("--out", help="New directory for the bundle.")],
    image: Annotated[str | None, typer.Option("--image", help="Container image name.")] = None,
) -> None:
    """Write a bundle: model files, signature, requirements, Dockerfile, Kubernetes manifests."""
    from loopml.registry import package_model

    with _session(ctx) as s:
        path = package_model(ref, out, image=image, store=s["store"], artifacts=s["artifacts"])
    console.print(esc(path), soft_wrap=True)


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="MLflow model directory (with MLmodel).")],
    name: Annotated[str, typer.Option("--name", help="Register it under this name.")],
    trust: Annotated[
        list[str] | None,
        typer.Option(
            "--trust",
            metavar="TYPE",
            help="Trust this type in a skops file beyond skops' defaults (repeatable).",
        ),
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option("--trust-pickle", help="Allow unpickling (pickle, cloudpickle, pyfunc)."),
    ] = False,
) -> None:
    """Import an MLflow model (sklearn, xgboost, lightgbm, pyfunc) and register it."""
    import tempfile

    from loopml.registry import import_mlflow_model, register_model

    with tempfile.TemporaryDirectory() as tmp, _session(ctx) as s:
        saved = import_mlflow_model(
            path, Path(tmp) / "model", trust=trust or (), trust_pickle=trust_pickle
        )
        v = register_model(name, saved.path, description=f"imported from MLflow model {path}", **s)
    console.print(f"registered {v.model_name} version {v.number} ({v.semver})")


@app.command("keygen")
def keygen_cmd(
    private: Annotated[Path, typer.Argument(help="New PEM private key file (mode 600).")],
    public: Annotated[Path, typer.Argument(help="New PEM public key file.")],
    password_env: Annotated[
        str | None,
        typer.Option("--password-env", help="Encrypt the key with the password in this variable."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a P-256 key pair for signing models (OpenSSF Model Signing)."""
    import os

    from loopml.models import generate_signing_key

    password = os.environ.get(password_env) if password_env else None
    priv, pub = generate_signing_key(private, public, password=password)
    if as_json:
        print_json({"private_key": str(priv), "public_key": str(pub)})
    else:
        console.print(f"wrote {esc(priv)} and {esc(pub)}", soft_wrap=True)


def _signing_target(ctx: typer.Context, ref: str) -> tuple[Any, Any, Path]:
    from loopml.models import pull_model
    from loopml.registry import get_version

    workspace = workspace_for(ctx)
    version = get_version(ref, store=workspace.store)
    folder = pull_model(
        version.manifest_digest,
        workspace.artifacts,
        workspace.cache_dir / "models" / version.manifest_digest,
    )
    return workspace, version, folder


@app.command("sign")
def sign_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME@ALIAS or NAME/VERSION.")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="PEM private key (default: $LOOPML_SIGNING_KEY)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign a registered version (OpenSSF Model Signing); loads then verify it."""
    from loopml.models import SIGNATURE_TAG, sign_version

    workspace, version, folder = _signing_target(ctx, ref)
    signed = sign_version(version, folder, workspace, private_key=key)
    if as_json:
        print_json(_version_row(signed))
    else:
        console.print(
            f"signed {esc(signed.model_name)} version {signed.number} "
            f"(bundle {signed.tags[SIGNATURE_TAG][:12]})"
        )


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME@ALIAS or NAME/VERSION.")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="PEM public key to trust (default: the signer's, recorded)."),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Also write model/, model.sig and key.pub here."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a version's signature (exit 1 if it does not verify or is unsigned)."""
    from dataclasses import asdict as as_dict

    from loopml.errors import SignatureInvalid
    from loopml.models import export_signed, verify_version

    workspace, version, folder = _signing_target(ctx, ref)
    try:
        check = verify_version(version, folder, workspace, public_key=key)
        if not check.signed:
            raise SignatureInvalid(
                f"models:/{version.model_name}/{version.number}",
                "the version is not signed",
                hint="Sign it with `loopml models sign NAME/VERSION --key KEY.pem`.",
            )
    except SignatureInvalid as exc:
        if as_json:
            print_json({"verified": False, "error": exc.message})
        else:
            from loopml.cli._helpers import err_console

            err_console.print(f"not verified: {esc(exc.message)}", soft_wrap=True)
        raise typer.Exit(1) from None
    data: dict[str, Any] = {"verified": True, **as_dict(check)}
    if export is not None:
        model, bundle, public = export_signed(version, folder, workspace, export)
        data["export"] = {"model": str(model), "signature": str(bundle), "public_key": str(public)}
    if as_json:
        print_json(data)
    else:
        console.print(
            f"verified {esc(version.model_name)} version {version.number}: {check.files} files, "
            f"key sha256 {check.key_fingerprint}"
        )
