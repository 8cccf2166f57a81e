"""Value classes shared by every layer (a leaf module): Interval and the JSON
null sentinel. Everything else is a plain Python value (see types.py)."""

from __future__ import annotations

import functools

USECS_PER_SEC = 1_000_000
USECS_PER_MINUTE = 60 * USECS_PER_SEC
USECS_PER_HOUR = 60 * USECS_PER_MINUTE
USECS_PER_DAY = 24 * USECS_PER_HOUR


class _JsonNull:
    """A jsonb value that is JSON null (distinct from SQL NULL, which is None)."""

    __slots__ = ()
    _instance: _JsonNull | None = None

    def __new__(cls) -> _JsonNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "JSON_NULL"

    def __reduce__(self) -> str:
        return "JSON_NULL"


JSON_NULL = _JsonNull()


def _trunc_div(a: int, b: int) -> tuple[int, int]:
    """C-style division (toward zero), as PostgreSQL does for interval fields."""
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q, a - q * b


@functools.total_ordering
class Interval:
    """PostgreSQL interval: months, days and microseconds kept apart.

    Comparison and hashing use the span with 1 month = 30 days and 1 day = 24 h,
    exactly as PostgreSQL's interval_cmp does ('1 mon' = '30 days' is true).
    """

    __slots__ = ("months", "days", "micros")

    def __init__(self, months: int = 0, days: int = 0, micros: int = 0) -> None:
        self.months = months
        self.days = days
        self.micros = micros

    def _span(self) -> int:
        return (self.months * 30 + self.days) * USECS_PER_DAY + self.micros

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Interval):
            return NotImplemented
        return self._span() == other._span()

    def __lt__(self, other: Interval) -> bool:
        if not isinstance(other, Interval):
            return NotImplemented
        return self._span() < other._span()

    def __hash__(self) -> int:
        return hash(self._span())

    def __repr__(self) -> str:
        return f"Interval({self.months}, {self.days}, {self.micros})"

    def __neg__(self) -> Interval:
        return Interval(-self.months, -self.days, -self.micros)

    def __add__(self, other: Interval) -> Interval:
        if not isinstance(other, Interval):
            return NotImplemented
        return Interval(self.months + other.months, self.days + other.days,
                        self.micros + other.micros)

    def __sub__(self, other: Interval) -> Interval:
        if not isinstance(other, Interval):
            return NotImplemented
        return Interval(self.months - other.months, self.days - other.days,
                        self.micros - other.micros)

    def total_seconds(self) -> float:
        """EXTRACT(EPOCH ...): 1 year = 365.25 days, 1 month = 30 days."""
        years, months = _trunc_div(self.months, 12)
        days = years * 365.25 + months * 30 + self.days
        return days * 86400 + self.micros / USECS_PER_SEC

    def to_text(self) -> str:
        """Output in IntervalStyle 'postgres' (PostgreSQL's default)."""
        year, mon = _trunc_div(self.months, 12)
        parts: list[str] = []
        is_zero = True
        is_before = False
        for value, unit in ((year, "year"), (mon, "mon"), (self.days, "day")):
            if value == 0:
                continue
            sign = "+" if is_before and value > 0 else ""
            parts.append(f"{sign}{value} {unit}{'' if value == 1 else 's'}")
            is_before = value < 0
            is_zero = False
        t = self.micros
        if is_zero or t != 0:
            minus = t < 0
            t = abs(t)
            hour, t = divmod(t, USECS_PER_HOUR)
            minute, t = divmod(t, USECS_PER_MINUTE)
            sec, frac = divmod(t, USECS_PER_SEC)
            sign = "-" if minus else ("+" if is_before else "")
            text = f"{sign}{hour:02d}:{minute:02d}:{sec:02d}"
            if frac:
                text += ("." + f"{frac:06d}").rstrip("0")
            parts.append(text)
        return " ".join(parts)

    def __str__(self) -> str:
        return self.to_text()
