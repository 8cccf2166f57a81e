"""Two-variable statistics aggregates: corr, covar_pop/covar_samp and the
regr_* family, all (Y double precision, X double precision). Rows where
either argument is NULL are skipped. The running sums follow PostgreSQL's
float8_regr_accum (Youngs-Cramer updates), so results agree with
PostgreSQL's to the last digit rather than only approximately."""

from __future__ import annotations

import math
from collections.abc import Callable

from aiondb import errors
from aiondb import types as T
from aiondb.sql.aggregates import aggregate

F8 = T.FLOAT8

# state: [N, Sx, Sxx, Sy, Syy, Sxy]
State = list[float]


def _init() -> State:
    return [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def _accum(s: State, y: float, x: float) -> State:
    n0, sx, sxx, sy, syy, sxy = s
    n = n0 + 1.0
    sx += x
    sy += y
    if n0 > 0.0:
        tx = x * n - sx
        ty = y * n - sy
        scale = 1.0 / (n * n0)
        sxx += tx * tx * scale
        syy += ty * ty * scale
        sxy += tx * ty * scale
        if any(math.isinf(v) for v in (sx, sxx, sy, syy, sxy)):
            # overflow unless an input was already infinite
            x_fin = not math.isinf(s[1]) and not math.isinf(x)
            y_fin = not math.isinf(s[3]) and not math.isinf(y)
            if ((math.isinf(sx) or math.isinf(sxx)) and x_fin) or \
                    ((math.isinf(sy) or math.isinf(syy)) and y_fin) or \
                    (math.isinf(sxy) and x_fin and y_fin):
                raise errors.NumericValueOutOfRange("value out of range: overflow")
            sxx, syy, sxy = (math.nan if math.isinf(v) else v for v in (sxx, syy, sxy))
    else:
        if math.isnan(x) or math.isinf(x):
            sxx = sxy = math.nan
        if math.isnan(y) or math.isinf(y):
            syy = sxy = math.nan
    s[:] = [n, sx, sxx, sy, syy, sxy]
    return s


def _final(min_n: float, fn: Callable[[State], float | None]) -> Callable[[State], float | None]:
    def final(s: State) -> float | None:
        return None if s[0] < min_n else fn(s)
    return final


def _corr(s: State) -> float | None:
    _, _, sxx, _, syy, sxy = s
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _r2(s: State) -> float | None:
    _, _, sxx, _, syy, sxy = s
    if sxx == 0:
        return None
    if syy == 0:
        return 1.0
    return (sxy * sxy) / (sxx * syy)


def _slope(s: State) -> float | None:
    return None if s[2] == 0 else s[5] / s[2]


def _intercept(s: State) -> float | None:
    n, sx, sxx, sy, _, sxy = s
    return None if sxx == 0 else (sy - sx * sxy / sxx) / n


_FINALS: dict[str, Callable[[State], float | None]] = {
    "covar_pop": _final(1, lambda s: s[5] / s[0]),
    "covar_samp": _final(2, lambda s: s[5] / (s[0] - 1.0)),
    "corr": _final(1, _corr),
    "regr_avgx": _final(1, lambda s: s[1] / s[0]),
    "regr_avgy": _final(1, lambda s: s[3] / s[0]),
    "regr_sxx": _final(1, lambda s: s[2]),
    "regr_syy": _final(1, lambda s: s[4]),
    "regr_sxy": _final(1, lambda s: s[5]),
    "regr_r2": _final(1, _r2),
    "regr_slope": _final(1, _slope),
    "regr_intercept": _final(1, _intercept),
}

for _name, _fin in _FINALS.items():
    aggregate(_name, (F8, F8), F8, _init, _accum, _fin)
aggregate("regr_count", (F8, F8), T.INT8, lambda: 0, lambda s, y, x: s + 1)
