"""The tests on one column: numeric (KS, PSI, Wasserstein, Jensen–Shannon), categorical
(chi-square, Jensen–Shannon, new categories) and the missing rate, each with its
calibrated p-value, noise threshold and bootstrap interval (before the FDR correction)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from loopml.monitoring import _calibrate as cal
from loopml.monitoring import _numeric as num

NUMERIC_TESTS = ("ks", "psi", "wasserstein", "jensen_shannon", "missing_rate")
CATEGORICAL_TESTS = ("chi_square", "jensen_shannon", "new_categories", "missing_rate")
MIN_EFFECT = {
    "ks": 0.05,
    "psi": 0.1,
    "wasserstein": 0.1,
    "jensen_shannon": 0.1,
    "chi_square": 0.1,
    "new_categories": 0.01,
    "missing_rate": 0.1,
}


@dataclass(frozen=True)
class Raw:
    """A test before the correction: effect, interval, p-value and noise threshold."""

    test: str
    statistic: float
    effect: float
    ci: tuple[float, float]
    p_value: float
    threshold: float


def values_of(column: pa.ChunkedArray) -> np.ndarray[Any, Any]:
    values = column.drop_null()
    if pa.types.is_timestamp(values.type):
        values = values.cast(pa.int64())
    array = values.to_numpy().astype(np.float64, copy=False)
    out: np.ndarray[Any, Any] = array[~np.isnan(array)]
    return out


def numeric_tests(
    entry: dict[str, Any],
    column: pa.ChunkedArray,
    tests: tuple[str, ...],
    *,
    alpha: float,
    confidence: float,
    rng: np.random.Generator,
) -> list[Raw]:
    """Numeric tests of ``column`` against its profile entry."""
    ref = num.reference_of(entry)
    values = values_of(column)
    if ref is None or values.size == 0:
        return []
    window = num.count_window(ref, values)
    return numeric_tests_counted(entry, window, tests, alpha=alpha, confidence=confidence, rng=rng)


def numeric_tests_counted(
    entry: dict[str, Any],
    window: num.NumericWindow,
    tests: tuple[str, ...],
    *,
    alpha: float,
    confidence: float,
    rng: np.random.Generator,
) -> list[Raw]:
    """Numeric tests of a window already counted into the reference's bins (a sketch)."""
    ref = num.reference_of(entry)
    out: list[Raw] = []
    if ref is None or window.counts.sum() == 0 or window.counts.size != ref.counts.size:
        return out
    r, c = ref.counts, window.counts
    ne = cal.effective_size(r.sum(), c.sum())
    scale = ref.std if ref.std > 0 else 1.0
    # one bootstrap of the fine bins serves every test's interval (grouped where needed)
    br, bc = cal.poisson_pair(rng, r, c)
    for test in tests:
        if test == "ks":
            d = float(num.ks(r, c))
            ci = cal.interval(num.ks(br, bc), confidence)
            out.append(Raw(test, d, d, ci, cal.ks_p(d, ne), cal.ks_threshold(alpha, ne)))
        elif test in ("psi", "jensen_shannon"):
            starts = num.group_starts(ref, num.PSI_BINS if test == "psi" else num.JS_BINS)
            gr, gc = num.grouped(r, starts), num.grouped(c, starts)
            dof = int(np.count_nonzero(gr + gc)) - 1
            limit = cal.chi2_quantile(alpha, dof) / ne
            if test == "psi":
                value = float(num.psi(gr, gc))
                p, threshold = cal.chi2_p(ne * value, dof), limit
                ci = cal.interval(
                    num.psi(num.grouped(br, starts), num.grouped(bc, starts)), confidence
                )
            else:
                value = float(num.jensen_shannon(gr, gc))
                p, threshold = cal.chi2_p(8 * ne * value**2, dof), math.sqrt(limit / 8)
                boot = num.jensen_shannon(num.grouped(br, starts), num.grouped(bc, starts))
                ci = cal.interval(boot, confidence)
            out.append(Raw(test, value, value, ci, p, threshold))
        elif test == "wasserstein":

            def w(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
                return num.wasserstein(a, b, ref.knots, window.below, window.above) / scale

            effect = float(w(r, c))
            fit = cal.gamma_fit(w(*cal.null_pair(rng, r, c)))
            ci = cal.interval(w(br, bc), confidence)
            p, threshold = cal.gamma_p(effect, fit), cal.gamma_quantile(alpha, fit)
            out.append(Raw(test, effect * scale, effect, ci, p, threshold))
    return out


def counts_of(column: pa.ChunkedArray) -> dict[Any, int]:
    values = column.drop_null()
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    counts = pc.value_counts(values).flatten()
    return dict(zip(counts[0].to_pylist(), counts[1].to_pylist(), strict=True))


def _reference_categories(entry: dict[str, Any]) -> tuple[list[Any], list[int], int]:
    freq = entry.get("frequencies")
    total = int(entry.get("count") or 0)
    if freq:
        values, counts = list(freq["values"]), [int(c) for c in freq["counts"]]
    else:
        values = [t["value"] for t in entry.get("top") or []]
        counts = [int(t["count"]) for t in entry.get("top") or []]
    return values, counts, total - sum(counts)


def categorical_tests(
    entry: dict[str, Any],
    column: pa.ChunkedArray,
    tests: tuple[str, ...],
    *,
    alpha: float,
    confidence: float,
    rng: np.random.Generator,
) -> tuple[list[Raw], list[Any], list[Any]]:
    """Categorical tests; also the new and the vanished categories."""
    return categorical_tests_counted(
        entry, counts_of(column), tests, alpha=alpha, confidence=confidence, rng=rng
    )


def categorical_tests_counted(
    entry: dict[str, Any],
    found: dict[Any, int],
    tests: tuple[str, ...],
    *,
    alpha: float,
    confidence: float,
    rng: np.random.Generator,
) -> tuple[list[Raw], list[Any], list[Any]]:
    """Categorical tests of a window's category counts (a sketch)."""
    keys, ref_counts, ref_other = _reference_categories(entry)
    n = float(sum(found.values()))
    m = float(sum(ref_counts) + ref_other)
    out: list[Raw] = []
    if n == 0 or m == 0:
        return out, [], []
    known = set(keys)
    complete = ref_other == 0
    new = sorted((k for k in found if k not in known), key=lambda k: -found[k]) if complete else []
    vanished = [
        k for k, c in zip(keys, ref_counts, strict=True) if c / m * n >= 10 and not found.get(k)
    ]
    r = np.array([*ref_counts, ref_other], dtype=np.float64)
    cur_known = [found.get(k, 0) for k in keys]
    c = np.array([*cur_known, n - sum(cur_known)], dtype=np.float64)
    # merge categories too rare for the chi-square approximation into the last bucket
    expected_small = (r + c) * min(n, m) / (n + m) < 5
    keep = ~expected_small
    keep[-1] = False
    r = np.append(r[keep], r[~keep].sum())
    c = np.append(c[keep], c[~keep].sum())
    if r[-1] + c[-1] == 0:
        r, c = r[:-1], c[:-1]
    dof = max(int(np.count_nonzero(r + c)) - 1, 1)
    ne = cal.effective_size(n, m)
    for test in tests:
        if test == "chi_square":
            chi, effect = _chi_square(r, c)
            boot = cal.poisson_pair(rng, r, c)
            ci = cal.interval(_cohen_w(*boot), confidence)
            p = cal.chi2_p(chi, dof)
            threshold = math.sqrt(cal.chi2_quantile(alpha, dof) / ne)
            out.append(Raw(test, chi, effect, ci, p, threshold))
        elif test == "jensen_shannon":
            value = float(num.jensen_shannon(r, c))
            ci = cal.bootstrap_interval(num.jensen_shannon, rng, r, c, confidence)
            p = cal.chi2_p(8 * ne * value**2, dof)
            threshold = math.sqrt(cal.chi2_quantile(alpha, dof) / ne / 8)
            out.append(Raw(test, value, value, ci, p, threshold))
        elif test == "new_categories" and complete:
            k = float(sum(found[v] for v in new))
            singletons = sum(1 for v in ref_counts if v == 1)
            mass = max(singletons / m, 0.5 / m)  # Good–Turing: the unseen mass
            p = float(stats.binom.sf(k - 1, n, mass)) if k > 0 else 1.0
            share = k / n
            half = 1.96 * math.sqrt(max(share * (1 - share), 1e-12) / n)
            threshold = float(stats.binom.isf(alpha, n, mass)) / n
            out.append(Raw(test, k, share, (max(share - half, 0.0), share + half), p, threshold))
    return out, new, vanished


def _cohen_w(r: np.ndarray[Any, Any], c: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    rs, cs = num.shares(r), num.shares(c)
    pooled = num.shares(r + c)
    ratio = np.divide((cs - rs) ** 2, pooled, out=np.zeros_like(pooled), where=pooled > 0)
    out: np.ndarray[Any, Any] = np.sqrt(ratio.sum(axis=-1))
    return out


def _chi_square(r: np.ndarray[Any, Any], c: np.ndarray[Any, Any]) -> tuple[float, float]:
    table = np.vstack([r, c])
    table = table[:, table.sum(axis=0) > 0]
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    chi = float(((table - expected) ** 2 / expected).sum())
    return chi, float(_cohen_w(r, c))


def missing_test(
    ref_missing: int, ref_rows: int, cur_missing: int, cur_rows: int, *, alpha: float
) -> Raw:
    """Change of the missing rate: two-proportion z-test, effect Cohen's h."""
    p1 = ref_missing / ref_rows if ref_rows else 0.0
    p2 = cur_missing / cur_rows if cur_rows else 0.0
    h = abs(2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1)))
    se_h = math.sqrt(1 / max(ref_rows, 1) + 1 / max(cur_rows, 1))
    pooled = (ref_missing + cur_missing) / max(ref_rows + cur_rows, 1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / max(ref_rows, 1) + 1 / max(cur_rows, 1)))
    p = 1.0 if se == 0 else float(2 * stats.norm.sf(abs(p2 - p1) / se))
    z = float(stats.norm.isf(alpha / 2))
    return Raw(
        "missing_rate", p2 - p1, h, (max(h - 1.96 * se_h, 0.0), h + 1.96 * se_h), p, z * se_h
    )
