"""Personal data detection: columns flagged by name and by content, with a confidence.

Content checks run on a sample (at most 1,000 non-null values per column) with vectorised
Arrow regexes; the few candidates that match a card or IBAN shape are then checked with the
Luhn and ISO 13616 mod-97 checksums, so look-alike order numbers are not reported.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from loopml.data._duck import connect, fetch_table, quote

if TYPE_CHECKING:
    from collections.abc import Callable

SAMPLE = 1_000
THRESHOLD = 0.5

_PATTERNS: dict[str, str] = {
    "email": r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
    "phone": r"^(\+\d{1,3}[ .-]?)?\(?\d{2,4}\)?[ .-]\d{3,4}[ .-]?\d{3,4}$|^\+\d{8,14}$",
    "credit_card": r"^(\d[ -]?){12,18}\d$",
    "iban": r"^[A-Z]{2}\d{2}( ?[A-Z0-9]){11,30}$",
    "ipv4": r"^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$",
    "ipv6": r"^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*$",
    "national_id": r"^(?:\d{3}-\d{2}-\d{4}|[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D])$",
}

_NAME_HINTS: dict[str, frozenset[str]] = {
    "email": frozenset({"email", "mail", "e_mail"}),
    "phone": frozenset({"phone", "mobile", "tel", "telephone", "msisdn", "cell"}),
    "credit_card": frozenset({"card", "pan", "cc", "creditcard"}),
    "iban": frozenset({"iban", "bic"}),
    "ipv4": frozenset({"ip", "ipv4", "ipaddress"}),
    "ipv6": frozenset({"ip", "ipv6", "ipaddress"}),
    "national_id": frozenset({"ssn", "nino", "passport", "nationalid", "taxid", "national"}),
    "person_name": frozenset({"firstname", "lastname", "fullname", "surname", "forename"}),
    "address": frozenset({"address", "street", "postcode", "zipcode"}),
    "date_of_birth": frozenset({"dob", "birthdate", "birthday", "dateofbirth"}),
}
_NAME_ONLY = {"person_name", "address", "date_of_birth"}


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return len(digits) >= 13 and total % 10 == 0


def _iban(text: str) -> bool:
    compact = text.replace(" ", "")
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


_CHECKSUMS: dict[str, Callable[[str], bool]] = {
    "credit_card": _luhn,
    "iban": _iban,
    "ipv6": _ipv6,
}


@dataclass(frozen=True)
class PiiFinding:
    """A column that looks like personal data.

    ``confidence`` is between 0 and 1: the share of sampled values that matched (raised a
    little when the name agrees), or 0.6 for a name-only kind (person names, addresses,
    birth dates, which content cannot tell). ``flagged`` is ``confidence >= 0.5``.
    """

    column: str
    kind: str
    confidence: float
    by: str
    matched: int
    sampled: int

    @property
    def flagged(self) -> bool:
        """True when the confidence reaches the reporting threshold (0.5)."""
        return self.confidence >= THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "flagged": self.flagged}


def _tokens(name: str) -> set[str]:
    parts = [p for p in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower())]
    joined = {"".join(parts[i : j + 1]) for i in range(len(parts)) for j in range(i, len(parts))}
    return {p for p in joined if p}


def _sample(column: pa.ChunkedArray) -> pa.Array | None:
    dtype = column.type
    if pa.types.is_dictionary(dtype):
        column = column.cast(dtype.value_type)
        dtype = column.type
    if pa.types.is_integer(dtype):
        column = column.cast(pa.string())
    elif not (pa.types.is_string(dtype) or pa.types.is_large_string(dtype)):
        return None
    values = column.drop_null()
    if len(values) > SAMPLE:  # evenly spaced rows: deterministic and spread over the file
        step = len(values) / SAMPLE
        values = values.take(pa.array([int(i * step) for i in range(SAMPLE)]))
    return pc.utf8_trim_whitespace(values.combine_chunks())


def scan_column(name: str, column: pa.ChunkedArray) -> PiiFinding | None:
    """The most likely kind of personal data in one column, or None."""
    tokens = _tokens(name)
    hinted = {kind for kind, words in _NAME_HINTS.items() if tokens & words}
    sample = _sample(column)
    best: PiiFinding | None = None
    sampled = 0 if sample is None else len(sample)
    for kind, pattern in _PATTERNS.items():
        if sample is None or not sampled:
            break
        mask = pc.match_substring_regex(sample, pattern)
        matched = int(pc.sum(mask).as_py() or 0)
        if matched and kind in _CHECKSUMS:
            candidates = pc.filter(sample, mask).to_pylist()
            matched = sum(1 for value in candidates if _CHECKSUMS[kind](value))
        if not matched:
            continue
        share = matched / sampled
        confidence = min(1.0, share + 0.2) if kind in hinted else share
        by = "name+content" if kind in hinted else "content"
        if best is None or confidence > best.confidence:
            best = PiiFinding(name, kind, round(confidence, 3), by, matched, sampled)
    if best is None and hinted:
        kind = sorted(hinted)[0]
        confidence = 0.6 if hinted & _NAME_ONLY else 0.2
        kind = sorted(hinted & _NAME_ONLY)[0] if hinted & _NAME_ONLY else kind
        best = PiiFinding(name, kind, confidence, "name", 0, sampled)
    return best


def scan_table(table: pa.Table) -> list[PiiFinding]:
    """Findings for every column that shows any sign of personal data."""
    findings = []
    for name in table.column_names:
        found = scan_column(name, table.column(name))
        if found is not None:
            findings.append(found)
    return findings


def redact(table: pa.Table, columns: list[str]) -> pa.Table:
    """Replace ``columns`` by the sha256 (hex) of their text; nulls stay null."""
    con = connect(t=table)
    try:
        replaced = ", ".join(f"sha256(CAST({quote(c)} AS VARCHAR)) AS {quote(c)}" for c in columns)
        return fetch_table(con, f"SELECT * REPLACE ({replaced}) FROM t")
    finally:
        con.close()
