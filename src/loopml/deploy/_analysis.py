"""The analysis spec of a rollout, the verdict on one interval and the next action.

```yaml
interval_s: 60            # how long each measurement collects samples
count: 3                  # measurements per step before it is judged Successful
failure_limit: 0          # Failed measurements tolerated (one more rolls back)
inconclusive_limit: 1     # Inconclusive measurements tolerated (one more pauses)
metrics:
  error_rate:  {tolerance: 0.1, abs_tolerance: 0.01, max: 0.05}
  latency_p95: {tolerance: 0.1, max: 250}     # milliseconds
  score_shift: {tolerance: 0.06}              # common-language effect size
  accuracy:    {tolerance: 0.02, min: 0.8}    # a live metric, once labels arrive
score: proba              # the output judged by score_shift (default: guessed)
webhooks:                 # signed notifications at each stage
  - {url: "https://ci.example/hook", secret_env: ROLLOUT_SECRET, events: [deploy.rollback]}
ab:                       # an A/B deployment's sequential test
  {metric: accuracy, alpha: 0.05, min_samples: 200, practical: 0.0}
```

The outcomes and limits are Argo Rollouts' (Successful, Failed, Inconclusive;
``failureLimit``, ``inconclusiveLimit``); each metric is judged against the stable arm by
:class:`~loopml.deploy.Judge` (Kayenta's Mann-Whitney judge with a tolerance band). Every
entry must say something: an unknown metric, key or a value of the wrong type is an
:class:`~loopml.errors.InvalidAnalysis` at its file:line (``<dict>`` and the key path for
a spec given in Python).
"""

from __future__ import annotations

import difflib
import enum
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.deploy._judge import Direction, Judge, JudgeResult, Outcome
from loopml.entities.deployment import Deployment, DeploymentStatus
from loopml.errors import InvalidAnalysis
from loopml.yaml_lines import yaml_lines

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

BUILTIN = ("error_rate", "latency_p95", "latency_p99", "score_shift")
TOP_KEYS = (
    "metrics", "interval_s", "count", "failure_limit", "inconclusive_limit", "stable",
    "score", "prediction", "webhooks", "ab",
)  # fmt: skip
WEBHOOK_EVENTS = (
    "deploy.started", "deploy.step", "deploy.pause", "deploy.promotion", "deploy.rollback",
    "deploy.decision",
)  # fmt: skip
WEBHOOK_KEYS = ("url", "secret_env", "events")
AB_KEYS = (
    "metric", "alpha", "min_samples", "practical", "higher_is_better", "srm_alpha", "key",
)  # fmt: skip
METRIC_KEYS = ("tolerance", "abs_tolerance", "min", "max", "min_samples", "alpha")
LIVE_KEYS = (*METRIC_KEYS, "higher_is_better")
_LIVE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_DEFAULT_TOLERANCE = {"error_rate": 0.1, "latency": 0.1, "score_shift": 0.06, "live": 0.02}


class Verdict(enum.StrEnum):
    """The outcome of one analysis measurement (Argo Rollouts' names)."""

    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"


class Action(enum.StrEnum):
    """What a rollout controller does next."""

    ADVANCE = "advance"
    ROLLBACK = "rollback"
    PAUSE = "pause"
    PROMOTE = "promote"
    WAIT = "wait"


@dataclass(frozen=True)
class MetricCheck:
    """One metric of the spec and the judge that decides it.

    Attributes:
        name: The metric (``error_rate``, ``latency_p95``, ``latency_p99``,
            ``score_shift`` or a live metric's name).
        kind: ``error_rate``, ``latency``, ``score_shift`` or ``live``.
        judge: The configured judge.
        line: Line of the entry in its file (0 for a spec given in Python).
    """

    name: str
    kind: str
    judge: Judge
    line: int = 0


@dataclass(frozen=True)
class WebhookTarget:
    """Where a rollout's stages are announced.

    Attributes:
        url: The receiver (http or https).
        secret_env: The environment variable holding the signing secret ("" unsigned);
            the secret itself is never stored nor logged.
        events: The events sent (default: every one of ``WEBHOOK_EVENTS``).
    """

    url: str
    secret_env: str = ""
    events: tuple[str, ...] = WEBHOOK_EVENTS


@dataclass(frozen=True)
class AbSpec:
    """The sequential test of an A/B deployment.

    Attributes:
        metric: The per-unit outcome (a live metric such as ``accuracy``, or ``label``:
            the fed-back label itself as a number, e.g. a conversion).
        alpha: The error rate kept however often the test is looked at.
        min_samples: Labelled units each arm needs before a decision.
        practical: Differences inside +-practical count as no difference (0: never).
        higher_is_better: Whether a larger outcome is better.
        srm_alpha: Significance of the sample-ratio-mismatch check.
        key: What keeps a unit on one arm: ``header:NAME`` (a request header) or the
            name of an input field ("": the ``X-Loopml-Key`` header).
    """

    metric: str = "label"
    alpha: float = 0.05
    min_samples: int = 200
    practical: float = 0.0
    higher_is_better: bool = True
    srm_alpha: float = 0.001
    key: str = ""


@dataclass(frozen=True)
class AnalysisSpec:
    """A parsed analysis spec (see the module docstring)."""

    metrics: tuple[MetricCheck, ...]
    interval_s: float = 60.0
    count: int = 1
    failure_limit: int = 0
    inconclusive_limit: int = 0
    stable: str = "stable"
    source: str = "<dict>"
    raw: dict[str, Any] = field(default_factory=dict)
    score: str = ""
    prediction: str = ""
    webhooks: tuple[WebhookTarget, ...] = ()
    ab: AbSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON (what a deployment stores; :func:`load_analysis` reads it)."""
        return dict(self.raw)


@dataclass(frozen=True)
class AnalysisOutcome:
    """The verdict on one measurement interval.

    Attributes:
        verdict: Successful, Failed (a metric failed) or Inconclusive (too few samples).
        reasons: The failing (or inconclusive) metrics' reasons; all of them on success.
        results: Each metric's judgement.
    """

    verdict: Verdict
    reasons: tuple[str, ...]
    results: tuple[JudgeResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
            "results": [r.to_dict() for r in self.results],
        }


class _Where:
    """Locations of entries: file:line from the YAML nodes, or a key path for a dict."""

    def __init__(self, source: str, lines: dict[tuple[Any, ...], int] | None) -> None:
        self.source = source
        self.lines = lines

    def __call__(self, *path: Any) -> str:
        if self.lines is None:
            dotted = ".".join(str(p) for p in path) or "(top)"
            return f"{self.source}: {dotted}"
        while path and path not in self.lines:
            path = path[:-1]
        return f"{self.source}:{self.lines.get(path, 1)}"

    def line(self, *path: Any) -> int:
        return 0 if self.lines is None else self.lines.get(path, 0)

    def fail(self, path: tuple[Any, ...], message: str, known: Sequence[str] = ()) -> None:
        near = ""
        if known and path:
            close = difflib.get_close_matches(str(path[-1]), list(known), n=1)
            near = f" (did you mean {close[0]!r}?)" if close else ""
        accepted = f" Accepted: {', '.join(known)}." if known else ""
        raise InvalidAnalysis(
            f"{self(*path)}: {message}{near}",
            hint=f"Fix the analysis spec.{accepted}",
            source=self.source,
            line=self.line(*path),
        )


def _number(where: _Where, path: tuple[Any, ...], value: Any, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        where.fail(path, f"{path[-1]} must be a number, got {value!r}")
    if value < minimum:
        where.fail(path, f"{path[-1]} must be >= {minimum:g}, got {value!r}")
    return float(value)


def _count(where: _Where, path: tuple[Any, ...], value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        where.fail(path, f"{path[-1]} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _kind(name: str) -> str:
    if name == "error_rate":
        return "error_rate"
    if name in ("latency_p95", "latency_p99"):
        return "latency"
    if name == "score_shift":
        return "score_shift"
    return "live"


def _metric(where: _Where, name: Any, options: Any) -> MetricCheck:
    path = ("metrics", name)
    if not isinstance(name, str) or not _LIVE_NAME.match(name):
        where.fail(path, f"metric name {name!r} is not a metric", BUILTIN)
    if name not in BUILTIN and (
        name.startswith("latency") or difflib.get_close_matches(name, BUILTIN, n=1, cutoff=0.8)
    ):
        # a typo of a built-in metric would otherwise be judged as a live metric
        where.fail(path, f"unknown metric {name!r}", BUILTIN)
    options = {} if options is None else options
    if not isinstance(options, dict):
        where.fail(path, f"metric {name} takes a mapping of options, got {options!r}")
    kind = _kind(name)
    known = LIVE_KEYS if kind == "live" else METRIC_KEYS
    for key in options:
        if key not in known:
            where.fail((*path, key), f"unknown option {key!r} of metric {name}", known)
    num: dict[str, float] = {}
    for key in ("tolerance", "abs_tolerance", "min", "max", "alpha"):
        if key in options:
            floor = -float("inf") if key in ("min", "max") else 0.0
            num[key] = _number(where, (*path, key), options[key], minimum=floor)
    if "alpha" in num and not 0 < num["alpha"] < 1:
        where.fail((*path, "alpha"), f"alpha must be in (0, 1), got {num['alpha']:g}")
    if "min" in num and "max" in num and num["min"] > num["max"]:
        where.fail(path, f"metric {name}: min {num['min']:g} > max {num['max']:g}")
    higher = options.get("higher_is_better", True)
    if not isinstance(higher, bool):
        where.fail((*path, "higher_is_better"), "higher_is_better must be true or false")
    settings: dict[str, Any] = {
        "tolerance": num.get("tolerance", _DEFAULT_TOLERANCE[kind]),
        "abs_tolerance": num.get("abs_tolerance", 0.01 if kind == "error_rate" else 0.0),
        "alpha": num.get("alpha", 0.05),
        "min": num.get("min"),
        "max": num.get("max"),
    }
    if "min_samples" in options:
        settings["min_samples"] = _count(
            where, (*path, "min_samples"), options["min_samples"], minimum=1
        )
    if kind == "error_rate":
        judge = Judge(direction="increase", effect="mean", aggregate="mean", **settings)
    elif kind == "latency":
        judge = Judge(direction="increase", aggregate=name.removeprefix("latency_"), **settings)
    elif kind == "score_shift":
        judge = Judge(direction="either", effect="cles", aggregate="mean", **settings)
    else:
        direction: Direction = "decrease" if higher else "increase"
        judge = Judge(direction=direction, effect="mean", aggregate="mean", **settings)
    return MetricCheck(name, kind, judge, where.line(*path))


def _parse(data: Any, where: _Where) -> AnalysisSpec:
    if not isinstance(data, dict):
        where.fail((), f"an analysis spec is a mapping with `metrics:`, got {type(data).__name__}")
    for key in data:
        if key not in TOP_KEYS:
            where.fail((key,), f"unknown key {key!r}", TOP_KEYS)
    metrics = data.get("metrics")
    if "ab" in data and metrics is None:
        metrics = {"error_rate": {}}
    if not isinstance(metrics, dict) or not metrics:
        where.fail(("metrics",), "`metrics:` must map at least one metric to its options", BUILTIN)
    stable = data.get("stable", "stable")
    if not isinstance(stable, str) or not stable:
        where.fail(("stable",), f"stable must name an arm, got {stable!r}")
    return AnalysisSpec(
        metrics=tuple(_metric(where, name, options) for name, options in metrics.items()),
        interval_s=_number(where, ("interval_s",), data.get("interval_s", 60.0), minimum=1.0),
        count=_count(where, ("count",), data.get("count", 1), minimum=1),
        failure_limit=_count(where, ("failure_limit",), data.get("failure_limit", 0)),
        inconclusive_limit=_count(
            where, ("inconclusive_limit",), data.get("inconclusive_limit", 0)
        ),
        stable=stable,
        source=where.source,
        raw=data,
        score=_column(where, data, "score"),
        prediction=_column(where, data, "prediction"),
        webhooks=_webhooks(where, data.get("webhooks", [])),
        ab=_ab(where, data["ab"]) if "ab" in data else None,
    )


def _column(where: _Where, data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        where.fail((key,), f"{key} must name an output column, got {value!r}")
    return str(value).removeprefix("out.")


def _webhooks(where: _Where, items: Any) -> tuple[WebhookTarget, ...]:
    if not isinstance(items, list):
        where.fail(("webhooks",), "webhooks must be a list of {url, secret_env, events}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            where.fail(("webhooks", i), f"a webhook is a mapping with url, got {item!r}")
        for key in item:
            if key not in WEBHOOK_KEYS:
                where.fail(("webhooks", i, key), f"unknown webhook key {key!r}", WEBHOOK_KEYS)
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            where.fail(("webhooks", i, "url"), f"webhook url must be http(s), got {url!r}")
        secret_env = item.get("secret_env", "")
        if not isinstance(secret_env, str):
            where.fail(("webhooks", i, "secret_env"), "secret_env names a variable")
        events = item.get("events", list(WEBHOOK_EVENTS))
        if not isinstance(events, list) or not events:
            where.fail(("webhooks", i, "events"), "events must be a list of event names")
        for j, event in enumerate(events):
            if event not in WEBHOOK_EVENTS:
                where.fail(
                    ("webhooks", i, "events", j), f"unknown webhook event {event!r}",
                    WEBHOOK_EVENTS,
                )  # fmt: skip
        out.append(WebhookTarget(url, secret_env, tuple(events)))
    return tuple(out)


def _ab(where: _Where, data: Any) -> AbSpec:
    if not isinstance(data, dict):
        where.fail(("ab",), f"ab must be a mapping of test options, got {data!r}")
    for key in data:
        if key not in AB_KEYS:
            where.fail(("ab", key), f"unknown ab option {key!r}", AB_KEYS)
    metric = data.get("metric", "label")
    if not isinstance(metric, str) or not _LIVE_NAME.match(metric):
        where.fail(("ab", "metric"), f"ab metric must name an outcome, got {metric!r}")
    higher = data.get("higher_is_better", True)
    if not isinstance(higher, bool):
        where.fail(("ab", "higher_is_better"), "higher_is_better must be true or false")
    alphas = {}
    for key, default in (("alpha", 0.05), ("srm_alpha", 0.001)):
        alphas[key] = _number(where, ("ab", key), data.get(key, default))
        if not 0 < alphas[key] < 1:
            where.fail(("ab", key), f"{key} must be in (0, 1), got {alphas[key]:g}")
    return AbSpec(
        metric=metric,
        alpha=alphas["alpha"],
        min_samples=_count(where, ("ab", "min_samples"), data.get("min_samples", 200), minimum=2),
        practical=_number(where, ("ab", "practical"), data.get("practical", 0.0)),
        higher_is_better=higher,
        srm_alpha=alphas["srm_alpha"],
        key=_sticky_key(where, data.get("key", "")),
    )


def _sticky_key(where: _Where, key: Any) -> str:
    """The A/B spec's ``key``: ``header:NAME`` or an input field's name."""
    if not isinstance(key, str) or not key.removeprefix("header:").strip():
        if key == "":
            return ""
        where.fail(
            ("ab", "key"),
            f"key must be 'header:NAME' or an input field's name, got {key!r}",
        )
    return str(key)


def load_analysis(
    spec: AnalysisSpec | Mapping[str, Any] | str | os.PathLike[str], *, source: str = "<dict>"
) -> AnalysisSpec:
    """Parse and check an analysis spec.

    Args:
        spec: A path to a YAML file, a mapping (Python), or a parsed spec (returned as is).
        source: What a mapping is called in errors.

    Raises:
        InvalidAnalysis: The spec is malformed; the message starts with file:line.
    """
    if isinstance(spec, AnalysisSpec):
        return spec
    if isinstance(spec, str | os.PathLike):
        import yaml

        path = Path(spec)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidAnalysis(
                f"cannot read analysis spec {path}: {exc.strerror or exc}",
                hint="Give the path of an analysis YAML file.",
            ) from exc
        try:
            data = yaml.safe_load(text)
            lines = yaml_lines(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            raise InvalidAnalysis(
                f"{path}:{line}: not valid YAML ({getattr(exc, 'problem', exc)})",
                hint="Fix the YAML syntax.",
                line=line,
            ) from exc
        return _parse(data, _Where(str(path), lines))
    return _parse(dict(spec), _Where(source, None))


def judge_interval(
    spec: AnalysisSpec,
    samples_by_arm: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    canary: str | None = None,
) -> AnalysisOutcome:
    """The verdict on one measurement interval; pure, no I/O.

    Args:
        spec: The analysis spec.
        samples_by_arm: Arm name -> metric name -> this interval's samples (0/1 errors per
            request, latencies in ms, scores, a live metric's per-unit values).
        canary: The arm judged against ``spec.stable`` (default: the other arm).

    Returns:
        Failed if any metric failed, else Inconclusive if any lacked samples, else
        Successful; the reasons name the metrics.
    """
    stable = samples_by_arm.get(spec.stable, {})
    if canary is None:
        others = [arm for arm in samples_by_arm if arm != spec.stable]
        if len(others) != 1:
            raise InvalidAnalysis(
                f"cannot tell the canary among arms {sorted(samples_by_arm)}",
                hint=f"Pass canary= (the stable arm is {spec.stable!r}).",
            )
        canary = others[0]
    samples = samples_by_arm.get(canary, {})
    results = tuple(
        check.judge.judge(check.name, samples.get(check.name, ()), stable.get(check.name))
        for check in spec.metrics
    )
    failed = tuple(r.reason for r in results if r.outcome is Outcome.FAIL)
    if failed:
        return AnalysisOutcome(Verdict.FAILED, failed, results)
    unsure = tuple(r.reason for r in results if r.outcome is Outcome.INCONCLUSIVE)
    if unsure:
        return AnalysisOutcome(Verdict.INCONCLUSIVE, unsure, results)
    return AnalysisOutcome(Verdict.SUCCESSFUL, tuple(r.reason for r in results), results)


def next_action(
    deployment: Deployment,
    outcomes: Sequence[AnalysisOutcome],
    spec: AnalysisSpec | None = None,
) -> Action:
    """What to do after the measurements of the current step; pure, no I/O.

    Args:
        deployment: The deployment as stored.
        outcomes: This step's measurements so far, oldest first.
        spec: The analysis spec (default: the deployment's own).

    Returns:
        ``rollback`` once failures exceed ``failure_limit``; ``pause`` once inconclusive
        measurements exceed ``inconclusive_limit``; ``wait`` until ``count`` measurements
        are in (or while the deployment is not active); then ``promote`` at the last step
        (the candidate at 100 %) and ``advance`` before it.
    """
    if deployment.status is not DeploymentStatus.ACTIVE:
        return Action.WAIT
    if spec is None:
        spec = load_analysis(deployment.analysis) if deployment.analysis else None
    failure_limit = spec.failure_limit if spec else 0
    inconclusive_limit = spec.inconclusive_limit if spec else 0
    count = spec.count if spec else 1
    if sum(o.verdict is Verdict.FAILED for o in outcomes) > failure_limit:
        return Action.ROLLBACK
    if sum(o.verdict is Verdict.INCONCLUSIVE for o in outcomes) > inconclusive_limit:
        return Action.PAUSE
    if sum(o.verdict is Verdict.SUCCESSFUL for o in outcomes) < count:
        return Action.WAIT
    candidate = deployment.arms[1:] and deployment.arms[1].weight
    last = deployment.step >= len(deployment.steps) - 1 or candidate == 100
    return Action.PROMOTE if last else Action.ADVANCE
