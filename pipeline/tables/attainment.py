"""Did a place deliver what it promised? Targets joined with the values reported a year later.

:func:`attainment_rows` joins the rows of the targets table
(:class:`~pipeline.tables.targets.TargetRow`): for each place, indicator and
year ``Y``, a **target** for ``Y`` from the report of year ``Y`` (its period is
the single year ``Y``) with an **actual**: a value for ``Y`` from a later report
of the same place (the nearest later year). Only rows matched to a canonical
indicator take part. When a place states several targets for one indicator and
year (a growth rate and a level), the pair whose measures agree is used (first
in the text); a target and actual that cannot be compared still give a row,
``met = unclear``.

``met`` (:func:`met`) compares numbers of one measure, in one unit (an actual
in 公斤 is converted to a target in 吨, 亩 to 公顷, 米 to 公里: :data:`UNIT_SIZES`;
``actual_value`` is in the target's unit). Percent changes are signed (下降3% is -3). For an indicator where more is better:

- a plain number, ``以上``/``不低于``/``超过`` (at least, over), a range
  (6%—6.5%: its lower end): **yes** when actual >= target;
- ``左右``/``约`` (approximately): **yes** when actual >= target - tolerance,
  the tolerance being :data:`PCT_TOLERANCE` (0.2) percentage points for
  percent units and :data:`REL_TOLERANCE` (2%) of the target otherwise;
- ``以内``/``以下``/``不超过``/``控制在`` (at most, a limit): an upper bound,
  **yes** when actual <= target (+ tolerance for ``左右``).

For an indicator where less is better (``lower_is_better`` in the table: prices,
unemployment, energy intensity, pollution) every target is an upper bound:
**yes** when actual <= target (its upper end; + tolerance for ``左右``). An actual
written ``近``/``不到`` (nearly, under) is just below its number, ``超``/``以上``
(over, at least) just above it. **unclear** when either number is missing or
unparsed, the measures differ or the units cannot be converted, or the target is a comparison
(与经济增长同步). Otherwise **no**.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from pipeline.files import bom_csv, write_atomic
from pipeline.tables.indicators import IndicatorTable, default_table
from pipeline.tables.targets import TargetRow, _cell

__all__ = ["AttainmentRow", "ATTAINMENT_COLUMNS", "attainment_rows", "met", "target_bounds",
           "attainment_csv_text", "write_attainment_csv", "write_attainment_parquet",
           "PCT_TOLERANCE", "REL_TOLERANCE", "UNIT_SIZES", "unit_factor"]

PCT_TOLERANCE = 0.2   # percentage points a 左右 target may be missed by
REL_TOLERANCE = 0.02  # share of a 左右 target in other units
_EPS = 1e-9  # rounding slack of a comparison
_JUST = 1e-6  # how far 近/不到 (below) and 超/以上 (above) move an actual
_PCT_UNITS = ("%", "百分点", "‰")
# units of one dimension that a comparison converts between: (dimension, size in its base unit)
UNIT_SIZES = {"吨": ("mass", 1000.0), "公斤": ("mass", 1.0), "千克": ("mass", 1.0), "斤": ("mass", 0.5),
              "克": ("mass", 0.001), "公里": ("length", 1000.0), "千米": ("length", 1000.0), "米": ("length", 1.0),
              "平方公里": ("area", 1e6), "公顷": ("area", 1e4), "亩": ("area", 1e4 / 15), "平方米": ("area", 1.0)}


def unit_factor(unit: str | None, into: str | None) -> float | None:
    """What a number in ``unit`` is multiplied by to be in ``into`` (吨 -> 公斤: 1000),
    or ``None`` when the two cannot be compared."""
    if unit == into:
        return 1.0
    a, b = UNIT_SIZES.get(unit or ""), UNIT_SIZES.get(into or "")
    if a is None or b is None or a[0] != b[0]:
        return None
    return a[1] / b[1]


@dataclass(frozen=True)
class AttainmentRow:
    place: str
    indicator: str
    indicator_name: str
    year: int
    measure: str | None
    target_text: str
    target_low: float | None
    target_high: float | None
    actual_text: str
    actual_value: float | None
    unit: str | None
    met: str                 # yes / no / unclear
    target_report: str
    actual_report: str
    target_record: str
    actual_record: str


ATTAINMENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(AttainmentRow))


def _negated(row: TargetRow) -> bool:
    return row.direction == "decrease" and row.measure in ("growth_pct", "change_pp")


def _signed(row: TargetRow, value: float | None) -> float | None:
    return None if value is None else (-value if _negated(row) else value)


def target_bounds(row: TargetRow) -> tuple[float | None, float | None]:
    """The interval a target asks for, signed: 6.5%左右 -> (6.5, 6.5), 6%—6.5% ->
    (6, 6.5), 6%以上 -> (6, None), 3%以内 -> (None, 3), 下降3%以上 -> (None, -3)."""
    if row.value is None:
        return None, None
    lo, hi = row.value, row.value_high if row.value_high is not None else row.value
    if row.qualifier in ("at least", "over"):
        hi = None
    elif row.qualifier in ("at most", "under") or row.direction == "limit":
        lo = None
    if _negated(row):
        lo, hi = (-hi if hi is not None else None), (-lo if lo is not None else None)
    return lo, hi


def met(target: TargetRow, actual: TargetRow, *, lower_is_better: bool = False) -> str:
    """``yes`` / ``no`` / ``unclear`` by the rules of the module docstring."""
    if not (target.parsed and actual.parsed) or target.value is None or actual.value is None:
        return "unclear"
    factor = unit_factor(actual.unit, target.unit)
    if target.measure is None or target.measure != actual.measure or target.measure == "parity" \
            or factor is None:
        return "unclear"
    low, high = target_bounds(target)
    a = _signed(actual, actual.value) * factor
    a += {"nearly": -_JUST, "under": -_JUST, "over": _JUST, "at least": _JUST}.get(actual.qualifier or "", 0.0)
    tol = 0.0
    if target.qualifier == "approximately":
        tol = PCT_TOLERANCE if target.unit in _PCT_UNITS else REL_TOLERANCE * abs(target.value)
    if (lower_is_better or low is None) and high is not None:
        return "yes" if a <= high + tol + _EPS else "no"
    return "yes" if a >= low - tol - _EPS else "no"


def attainment_rows(rows: Iterable[TargetRow], table: IndicatorTable | None = None) -> list[AttainmentRow]:
    """The join of the module docstring, sorted by place, indicator and year."""
    table = table or default_table()
    targets: dict[tuple[str, str, int], list[TargetRow]] = defaultdict(list)
    actuals: dict[tuple[str, str, int], list[TargetRow]] = defaultdict(list)
    for row in rows:
        if not row.indicator or not row.place or not isinstance(row.year, int) or row.period_start is None \
                or row.period_start != row.period_end:
            continue
        key = (row.place, row.indicator, row.period_start)
        if row.kind == "target" and row.year == row.period_start:
            targets[key].append(row)
        elif row.kind == "value" and row.year > row.period_start:
            actuals[key].append(row)
    out = []
    for key in sorted(targets.keys() & actuals.keys()):
        nearest = min(a.year for a in actuals[key])
        later = [a for a in actuals[key] if a.year == nearest]
        target, actual = _pair(targets[key], later)
        indicator = table.by_key.get(key[1])
        low, high = target_bounds(target)
        out.append(AttainmentRow(
            place=key[0], indicator=key[1], indicator_name=indicator.name if indicator else key[1],
            year=key[2], measure=target.measure, target_text=target.text, target_low=low, target_high=high,
            actual_text=actual.text, actual_value=_actual_in(actual, target.unit), unit=target.unit,
            met=met(target, actual, lower_is_better=bool(indicator and indicator.lower_is_better)),
            target_report=target.doc_id, actual_report=actual.doc_id,
            target_record=target.record_id, actual_record=actual.record_id))
    return out


def _actual_in(actual: TargetRow, unit: str | None) -> float | None:
    """The actual's signed value in the target's unit (as written when they cannot be compared)."""
    value = _signed(actual, actual.value)
    factor = unit_factor(actual.unit, unit)
    return value * factor if value is not None and factor is not None else value


def _pair(targets: Sequence[TargetRow], actuals: Sequence[TargetRow]) -> tuple[TargetRow, TargetRow]:
    """The first target (text order) with an actual of its measure and unit, with
    that actual; else the first of each."""
    for t in targets:
        if t.value is None:
            continue
        for a in actuals:
            if a.measure == t.measure and unit_factor(a.unit, t.unit) is not None and a.value is not None:
                return t, a
    return targets[0], actuals[0]


def attainment_csv_text(rows: Iterable[AttainmentRow]) -> str:
    """``attainment.csv``: :data:`ATTAINMENT_COLUMNS`, UTF-8 with a BOM."""
    return bom_csv(ATTAINMENT_COLUMNS, ([_cell(getattr(r, c)) for c in ATTAINMENT_COLUMNS] for r in rows))


def write_attainment_csv(rows: Iterable[AttainmentRow], path: str | Path) -> None:
    write_atomic(path, attainment_csv_text(rows))


def write_attainment_parquet(rows: Sequence[AttainmentRow], path: str | Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"year": pa.int32(), "target_low": pa.float64(), "target_high": pa.float64(),
             "actual_value": pa.float64()}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in ATTAINMENT_COLUMNS])
    table = pa.Table.from_pylist([asdict(r) for r in rows], schema=schema)
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    write_atomic(path, buffer.getvalue().to_pybytes())
