"""Model cards: Markdown with Hugging Face-style YAML front matter, and HTML, generated
from the registry, lineage and evaluations."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from loopml.errors import InvalidInput
from loopml.ids import ObjectRef
from loopml.registry._card_data import run_evaluation, training_data
from loopml.workspace import current_workspace, resolve_artifacts, resolve_store

if TYPE_CHECKING:
    from loopml.artifacts import ArtifactStore
    from loopml.store import Store

_USER_KEYS = ("intended_use", "limitations", "ethical_considerations", "owners", "license")


def _user_yaml(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot read model card details from {os.fspath(path)}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{os.fspath(path)}: model card details must be a mapping")
    unknown = sorted(set(data) - set(_USER_KEYS))
    if unknown:
        raise InvalidInput(
            f"{os.fspath(path)}: unknown model card key(s) {', '.join(unknown)}",
            hint=f"Accepted: {', '.join(_USER_KEYS)}.",
        )
    return data


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("–" if value is None else str(value))


def card_data(
    ref: str,
    *,
    details: str | os.PathLike[str] | None = None,
    store: Store | None = None,
    artifacts: ArtifactStore | None = None,
) -> dict[str, Any]:
    """Everything a model card shows, as a dict (also the front matter's source)."""
    from loopml.models import Manifest
    from loopml.registry._service import get_version

    db = resolve_store(store)
    blobs = resolve_artifacts(artifacts)
    version = get_version(ref, store=db)
    model = db.get_model(version.model_name)
    manifest = Manifest.from_json(blobs.get(version.manifest_digest), version.manifest_digest)
    upstream = db.upstream(ObjectRef("model_version", version.id), depth=20)
    lineage = [
        {
            "from": str(n.edge.src),
            "to": str(n.edge.dst),
            "relation": n.edge.relation,
            "depth": n.depth,
        }
        for n in upstream
    ]
    data_refs, datasets = training_data(db, blobs, version, upstream)
    run = None
    if version.run_id is not None:
        found = db.get_run(version.run_id)
        run = {"id": found.id, "name": found.name, "params": dict(found.params)}
    evaluation = None
    for item in db.list_evaluations(version.model_name, version.number):
        if item.report_digest:
            evaluation = json.loads(blobs.get(item.report_digest))
            evaluation["id"] = item.id
            break
    if evaluation is None:
        evaluation = run_evaluation(db, blobs, version)
    requests = [
        r for r in db.list_promotion_requests(version.model_name) if r.version == version.number
    ]
    return {
        "model": model.name,
        "description": model.description,
        "version": version.number,
        "semver": version.semver,
        "flavor": version.flavor,
        "model_class": version.model_class,
        "manifest_digest": version.manifest_digest,
        "aliases": list(version.aliases),
        "created_by": version.created_by,
        "created_at_ms": version.created_at_ms,
        "signature": None if manifest.signature is None else manifest.signature.to_dict(),
        "requirements": list(manifest.requirements),
        "run": run,
        "training_data": data_refs,
        "datasets": datasets,
        "lineage": lineage,
        "evaluation": evaluation,
        "approvals": [
            {
                "request": r.id,
                "alias": r.alias,
                "status": r.status.value,
                "requested_by": r.requested_by,
                "decisions": [
                    {"actor": d.actor, "role": d.role, "approve": d.approve, "comment": d.comment}
                    for d in r.decisions
                ],
            }
            for r in requests
        ],
        **_user_yaml(details),
    }


def _front_matter(data: dict[str, Any]) -> str:
    ev = data.get("evaluation") or {}
    results = [
        {"type": k, "value": round(v, 6)}
        for k, v in (ev.get("metrics") or {}).items()
        if isinstance(v, float)
    ]
    front: dict[str, Any] = {
        "library_name": "loopml",
        "model_name": data["model"],
        "version": data["semver"],
        "tags": [data["flavor"], *data["aliases"]],
        "license": data.get("license", "other"),
        "model-index": [{"name": data["model"], "results": [{"metrics": results}]}]
        if results
        else [],
    }
    return "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n"


def _dataset_lines(datasets: list[dict[str, Any]]) -> list[str]:
    if not datasets:
        return []
    lines = [
        "",
        "### Training data",
        "",
        "| dataset version | file | rows | columns | null rates |",
        "| --- | --- | --- | --- | --- |",
    ]
    for item in datasets:
        label = f"{item.get('version') or item['ref']} (`{item['ref'].partition(':')[2][:12]}`)"
        if not item.get("tables"):
            lines.append(f"| {label} | – | – | – | {item.get('note', 'no table profile')} |")
        for table in item.get("tables", []):
            rates = {k: v for k, v in table["null_rates"].items() if v}
            shown = ", ".join(f"{k} {v:.2%}" for k, v in sorted(rates.items())) or "none"
            lines.append(
                f"| {label} | {table['path']} | {table['rows']} | {table['columns']} | {shown} |"
            )
    return lines


def render_markdown(data: dict[str, Any]) -> str:
    """The card as Markdown with YAML front matter."""
    lines = [_front_matter(data), f"# Model card: {data['model']} v{data['semver']}", ""]
    lines += ["## Model details", ""]
    for key in ("version", "semver", "flavor", "model_class", "manifest_digest", "created_by"):
        lines.append(f"- **{key}**: {data[key]}")
    lines.append(f"- **aliases**: {', '.join(data['aliases']) or 'none'}")
    if data.get("description"):
        lines += ["", data["description"]]
    for key, title in (
        ("intended_use", "Intended use"),
        ("limitations", "Limitations"),
        ("ethical_considerations", "Ethical considerations"),
    ):
        lines += [
            "",
            f"## {title}",
            "",
            str(data.get(key) or "Not stated (add it to the card details YAML)."),
        ]
    lines += ["", "## Training", ""]
    if data["run"]:
        lines.append(f"- run `{data['run']['id']}` ({data['run']['name']})")
        lines += [f"  - {k} = {v}" for k, v in sorted(data["run"]["params"].items())]
    else:
        lines.append("- no training run recorded")
    lines.append(
        f"- training data: {', '.join(f'`{d}`' for d in data['training_data']) or 'not recorded'}"
    )
    lines += _dataset_lines(data.get("datasets") or [])
    if data["signature"]:
        cols = [f"{c.get('name', 'tensor')}: {c['dtype']}" for c in data["signature"]["inputs"]]
        lines += ["", "## Signature", "", "Inputs: " + ", ".join(cols)]
    ev = data.get("evaluation")
    lines += ["", "## Evaluation", ""]
    if not ev:
        lines.append("No evaluation recorded.")
    else:
        source = f" of `{ev['source']}` (before registration)" if ev.get("source") else ""
        lines += [
            f"Evaluation `{ev['id']}`{source} on {ev['rows']} rows.",
            "",
            "| metric | value |",
            "| --- | --- |",
        ]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in ev["metrics"].items()]
        if ev.get("slices"):
            names = list(ev["metrics"])[:4]
            lines += [
                "",
                "### Slices",
                "",
                "| slice | rows | " + " | ".join(names) + " |",
                "| --- " * (len(names) + 2) + "|",
            ]
            for name, s in ev["slices"].items():
                lines.append(
                    f"| {name} | {s['rows']} | "
                    + " | ".join(_fmt(s["metrics"].get(k)) for k in names)
                    + " |"
                )
        for column, f in (ev.get("fairness") or {}).items():
            lines += ["", f"### Fairness across {column}", ""]
            lines.append(
                f"Demographic parity difference {_fmt(f['demographic_parity_difference'])}, ratio "
                f"{_fmt(f['demographic_parity_ratio'])}; equalised odds difference "
                f"{_fmt(f['equalized_odds_difference'])}."
            )
        if ev.get("gates"):
            verdict = "PASSED" if ev.get("passed") else "FAILED"
            lines += [
                "",
                f"### Gates: {verdict}",
                "",
                "| rule | measured | bound | result |",
                "| --- | --- | --- | --- |",
            ]
            lines += [
                f"| {g['rule']} | {_fmt(g['measured'])} | {_fmt(g['bound'])} | "
                f"{'pass' if g['passed'] else 'FAIL'} |"
                for g in ev["gates"]
            ]
    lines += ["", "## Approvals", ""]
    if not data["approvals"]:
        lines.append("No promotion requests.")
    for request in data["approvals"]:
        lines.append(
            f"- request `{request['request']}` for `{request['alias']}` by "
            f"{request['requested_by']}: {request['status']}"
        )
        lines += [
            f"  - {'approved' if d['approve'] else 'rejected'} by {d['actor']} ({d['role']}): "
            f"{d['comment']}"
            for d in request["decisions"]
        ]
    return "\n".join(lines) + "\n"


def render_card_html(markdown: str, title: str) -> str:
    """A plain HTML rendering of the card (no Markdown dependency): headings, lists, tables."""
    body, in_table, in_front = [], False, False
    for line in markdown.splitlines():
        if line == "---":
            in_front = not in_front
            body.append("<pre>" if in_front else "</pre>")
            continue
        if in_front:
            body.append(html.escape(line))
            continue
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-", " "}:
                continue
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line.lstrip().startswith("- "):
            body.append(f"<li>{html.escape(line.lstrip()[2:])}</li>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px}"
        "td{border:1px solid #ccc;padding:3px 8px}table{border-collapse:collapse}"
    )
    head = f'<meta charset="utf-8"><title>{html.escape(title)}</title><style>{style}</style>'
    return (
        f'<!doctype html><html lang="en"><head>{head}</head><body>{"".join(body)}</body></html>\n'
    )


def model_card(
    ref: str,
    *,
    out: str | os.PathLike[str] | None = None,
    html_output: bool = False,
    details: str | os.PathLike[str] | None = None,
    store: Store | None = None,
    artifacts: ArtifactStore | None = None,
) -> Path:
    """Write the model card of a version and return its path.

    Args:
        ref: ``NAME@ALIAS``, ``NAME/VERSION`` or a ``models:/`` URI.
        out: File to write (default: ``<home>/cards/NAME-vSEMVER.md`` or ``.html``).
        html_output: Write HTML instead of Markdown.
        details: YAML with intended_use, limitations, ethical_considerations, owners,
            license.
        store: Metadata store.
        artifacts: Artifact store.

    Returns:
        The path of the written card.
    """
    data = card_data(ref, details=details, store=store, artifacts=artifacts)
    markdown = render_markdown(data)
    if out is None:
        suffix = "html" if html_output else "md"
        out = current_workspace().home / "cards" / f"{data['model']}-v{data['semver']}.{suffix}"
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    title = f"{data['model']} v{data['semver']}"
    target.write_text(
        render_card_html(markdown, title) if html_output else markdown, encoding="utf-8"
    )
    return target
