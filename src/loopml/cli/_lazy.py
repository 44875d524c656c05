"""Sub-commands loaded on first use: ``loopml data commit`` imports the data commands only.

Importing every command module, and building every Typer command's parameters, cost
~0.3 s before any command could start. The root group knows each sub-command by name,
module and one-line help; it imports the module when the command runs, and ``loopml
--help`` lists the commands from the table without importing any of them (a test keeps
the table's help equal to each command's own).
"""

from __future__ import annotations

import importlib
from difflib import get_close_matches
from typing import Any

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from loopml.cli._coerce import install

#: name -> ("module:attribute", one-line help), in the order ``loopml --help`` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "loopml.cli.home:init",
        "Create the loopml home (database migrated to head, artifact folder).",
    ),
    "demo": (
        "loopml.cli.demo:demo",
        "Train and promote a fraud model, serve it, drift it; the loop retrains and promotes.",
    ),
    "evaluate": (
        "loopml.cli.evaluate:evaluate_cmd",
        "Evaluate a model; with --gates, exit 1 when any rule fails (every rule is listed).",
    ),
    "batch": (
        "loopml.cli.batch:batch",
        "Score a table with a model into Parquet: chunked, resumable, on processes or Dask.",
    ),
    "gc": (
        "loopml.cli.gc:gc",
        "Free stored objects that no dataset version, run, model version, schema, evaluation "
        "or step output refers to (soft-deleted runs keep theirs until `runs gc`).",
    ),
    "serve": (
        "loopml.cli.serve:serve",
        "Serve a model over HTTP (Open Inference Protocol v2 and MLflow's scoring format).",
    ),
    "server": (
        "loopml.cli.server:server",
        "Run the loopml server: every capability's store operations as a REST API.",
    ),
    "ui": (
        "loopml.cli.ui:ui",
        "Open the web UI on this home: a local server on 127.0.0.1 (no sign-in needed).",
    ),
    "tune": (
        "loopml.cli.tune:tune",
        "Run a hyperparameter search; every trial is a child run of one parent run.",
    ),
    "agent": (
        "loopml.cli.agent:agent",
        "Start due scheduled runs and check triggers, running their chains; one schedule or "
        "chain never runs twice at once, even with two agents.",
    ),
    "readiness": (
        "loopml.cli.readiness:readiness_cmd",
        "Production-readiness checklist of a model, one line each with evidence; exit 1 when "
        "an item fails.",
    ),
    "artifacts": (
        "loopml.cli.artifacts:app",
        "Encryption keys of the artifact store: generate one, rotate to a new one.",
    ),
    "config": ("loopml.cli.config:app", "Inspect loopml settings."),
    "data": ("loopml.cli.data:app", "Version, profile and validate datasets."),
    "db": ("loopml.cli.db:app", "Manage the metadata store's schema."),
    "features": (
        "loopml.cli.features:app",
        "Feature store: definitions, training sets, materialisation, online lookups.",
    ),
    "lineage": ("loopml.cli.lineage:app", "Explore lineage between recorded objects."),
    "monitor": (
        "loopml.cli.monitor:app",
        "Monitor models and data: drift with calibrated thresholds.",
    ),
    "models": (
        "loopml.cli.models:app",
        "Registered models: versions, aliases, approvals, cards, packages.",
    ),
    "deploy": (
        "loopml.cli.deploy:app",
        "Deployments: canary, shadow, A/B and blue-green rollouts with rollback.",
    ),
    "runs": ("loopml.cli.runs:app", "Tracked runs: list, show, compare, delete, gc."),
    "pipeline": ("loopml.cli.pipeline:app", "Run, inspect, resume and schedule pipelines."),
    "users": ("loopml.cli.users:app", "Accounts: people and service accounts."),
    "tokens": ("loopml.cli.tokens:app", "API tokens: create (shown once), list, revoke."),
    "roles": ("loopml.cli.roles:app", "Roles: the permission matrix, grants and revocations."),
    "audit": (
        "loopml.cli.audit:app",
        "The audit log: verify it, read it, export signed checkpoints.",
    ),
    "triggers": (
        "loopml.cli.triggers:app",
        "Trigger rules of the closed loop: add, list, show, remove, fire, history.",
    ),
    "predictions": (
        "loopml.cli.predictions:app",
        "Read the prediction log: segments, predictions with their labels, export.",
    ),
}


def load_command(name: str) -> _click.Command:
    """Import the module of sub-command ``name`` and build its click command."""
    module_name, _, attr = COMMANDS[name][0].partition(":")
    target = getattr(importlib.import_module(module_name), attr)
    if isinstance(target, typer.Typer):
        command: _click.Command = typer.main.get_group(target)
    else:  # a plain function: a one-command app
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    install(command)
    return command


class _Commands(dict[str, _click.Command]):
    """The root's sub-commands, imported on first use.

    Looking one up imports its module; reading them as a whole (``items()``, iteration...),
    as tools that walk the command tree do, imports them all.
    """

    def _load(self, name: str) -> None:
        if name in COMMANDS and not super().__contains__(name):
            super().__setitem__(name, load_command(name))

    def _load_all(self) -> None:
        for name in COMMANDS:
            self._load(name)

    def loaded(self, name: str) -> _click.Command | None:
        """The command if it is loaded already (never imports)."""
        return super().get(name)

    def __getitem__(self, name: str) -> _click.Command:
        self._load(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:
        self._load(name)
        return super().get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or super().__contains__(name)

    def __iter__(self) -> Any:
        self._load_all()
        return super().__iter__()

    def __len__(self) -> int:
        self._load_all()
        return super().__len__()

    def keys(self) -> Any:
        self._load_all()
        return super().keys()

    def values(self) -> Any:
        self._load_all()
        return super().values()

    def items(self) -> Any:
        self._load_all()
        return super().items()


class LazyGroup(TyperGroup):
    """The root group: sub-commands from :data:`COMMANDS`, each imported when first used."""

    _listing = False

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        install(self)  # the root's own options (--home...) convert without pydantic
        self.commands = _Commands(self.commands)  # after install, which walks sub-commands

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        commands = self.commands
        assert isinstance(commands, _Commands)
        loaded = commands.loaded(cmd_name)
        if loaded is not None or cmd_name not in COMMANDS:
            return loaded
        if self._listing:  # the help listing needs only the name and the line of help
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1])
        return commands[cmd_name]

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        try:
            return self._click_resolve_command(ctx, args)
        except _click.exceptions.UsageError as exc:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches:
                suggestions = ", ".join(repr(m) for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise
