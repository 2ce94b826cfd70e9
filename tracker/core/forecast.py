"""The period-end measure of a goal as a distribution (pure: stdlib only, closed forms).

Each sub-period's value is its expected share s_i of the window's total times a run rate:
y_i = log(x_i / s_i), the total that sub-period implies, follows a local level with a damped
trend (a two-state Kalman filter). Every variance is a multiple of the noise R, so R's
posterior is a scaled inverse chi-square (prior: earlier windows' own noise when given, else
a weak guess) and the drift-to-noise ratio's posterior sits on a small grid, both from the
filter's likelihood on this window. Given (ratio, R) the remaining total is a sum of
log-normals correlated through the level, matched to one log-normal (Fenton-Wilkinson), and
a weak prior that the plan's total is about right is multiplied in. Values <= 0 switch the
same model to the linear scale. bench/FORECAST.md has the formulas and the calibration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Priors, all weak: the window's own data (and earlier windows) outweigh them within months.
R0, NU0 = 0.10**2, 2.0  # noise variance of one sub-period (~10%), worth two sub-periods
HIST_WEIGHT = 0.5  # an earlier window's sub-period counts half: noise changes between years
ANCHOR_SD = 0.25  # the plan's total is about right, within ~25% (sd of its log)
BLOCK = 2  # an earlier shape's noise is judged on blocks of this many sub-periods


@dataclass(frozen=True, slots=True)
class _Model:
    """How the run rate may move, in units of R: drift rho (prior centred on rho0, sd 1 in
    log), a trend of persistence phi and innovations trend * rho, its prior variance slope0
    (None: the trend's stationary variance)."""

    rho0: float
    trend: float
    phi: float
    slope0: float | None

    def dynamics(self, rho: float) -> tuple[float, float, float, float]:
        """(level drift, trend innovation, trend's initial variance, persistence), units of R."""
        if self.slope0 is None:  # a stationary trend
            return rho, self.trend * rho * (1 - self.phi**2), self.trend * rho, self.phi
        return rho, self.trend * rho, self.slope0, self.phi

    def log_prior(self, rho: float) -> float:
        """Of a drift ratio; no drift at all weighs as much as the smallest one."""
        return -0.5 * math.log(max(rho, _RHO_GRID[1]) / self.rho0) ** 2


# With only the plan's shape, the shape itself may be wrong: a persistent tilt is likely.
PLAN = _Model(rho0=0.09, trend=2.0, phi=0.95, slope0=0.5)
# With a shape measured by earlier windows, what is left is noise and a little drift.
MEASURED = _Model(rho0=0.001, trend=0.5, phi=0.8, slope0=None)
_RHO_GRID = (0.0, 0.01, 0.03, 0.09, 0.27, 0.81)
_NODES = ((-math.sqrt(3), 1 / 6), (0.0, 2 / 3), (math.sqrt(3), 1 / 6))  # Gauss-Hermite
_KEEP = -6.0  # grid points this much less likely (log) than the best one are dropped
_R_MAX, _V_MAX = 1.0, 4.0  # caps on R and on a log variance (sd 100%, 200%): no overflow
_Z90 = 1.2815515655446004  # the standard normal's 90th percentile (statistics costs ~8 ms to import)


@dataclass(frozen=True, slots=True)
class Forecast:
    probability: float  # P(the period-end measure meets the target), 0..1
    median: float  # the projected period-end measure
    low: float  # 10th percentile of the period-end measure
    high: float  # 90th percentile


@dataclass(frozen=True, slots=True)
class _Dist:
    """A total: `known` plus a mixture of log-normal (or normal) parts (weight, mu, sd), never
    below `floor` (what is known of a total of positive values)."""

    known: float
    log: bool
    parts: tuple[tuple[float, float, float], ...]
    floor: float = -math.inf

    def cdf(self, x: float) -> float:
        if x < self.floor:
            return 0.0
        u = x - self.known
        if self.log:
            if u <= 0:
                return 0.0
            u = math.log(u)
        return sum(w * _ncdf(u, mu, sd) for w, mu, sd in self.parts)

    def quantile(self, q: float) -> float:
        """The 10th, 50th or 90th percentile: safeguarded Newton on the mixture's cdf, between
        its parts' own quantiles."""
        z = {0.1: -_Z90, 0.5: 0.0, 0.9: _Z90}[q]
        qs = [mu + z * sd for _, mu, sd in self.parts]
        lo, hi = min(qs), max(qs)
        u = sum(w * x for (w, _, _), x in zip(self.parts, qs))
        for _ in range(60):
            if hi - lo <= 1e-12 * max(1.0, abs(hi)):
                break
            f = sum(w * _ncdf(u, mu, sd) for w, mu, sd in self.parts) - q
            if abs(f) < 1e-12:
                break
            lo, hi = (u, hi) if f < 0 else (lo, u)
            dens = sum(w * math.exp(-0.5 * ((u - mu) / sd) ** 2) / sd
                       for w, mu, sd in self.parts if sd > 0) / math.sqrt(2 * math.pi)
            step = u - f / dens if dens > 0 else lo
            u = step if lo < step < hi else (lo + hi) / 2
        return max(self.floor, self.known + (math.exp(u) if self.log else u))

    def moments(self) -> tuple[float, float]:
        """Mean and variance of the total."""
        if self.log:
            m1 = sum(w * math.exp(mu + sd * sd / 2) for w, mu, sd in self.parts)
            m2 = sum(w * math.exp(2 * mu + 2 * sd * sd) for w, mu, sd in self.parts)
        else:
            m1 = sum(w * mu for w, mu, _ in self.parts)
            m2 = sum(w * (sd * sd + mu * mu) for w, mu, sd in self.parts)
        return self.known + m1, max(0.0, m2 - m1 * m1)


def _ncdf(x: float, mu: float, sd: float) -> float:
    return (1.0 if x >= mu else 0.0) if sd <= 0 else 0.5 * math.erfc((mu - x) / (sd * math.sqrt(2)))


def _judge(dist: _Dist, target: float, at_least: bool) -> Forecast:
    """P(meeting the target): "at least" and "at most" both count equality as met."""
    p = 1.0 - dist.cdf(target - 1e-12 * max(1.0, abs(target))) if at_least else dist.cdf(target)
    return Forecast(min(1.0, max(0.0, p)), dist.quantile(0.5), dist.quantile(0.1), dist.quantile(0.9))


def cumulative(*, plan: Sequence[float], observed: Sequence[float | None], covered: float = 1.0,
               history: Sequence[Sequence[float | None]] = (), target: float,
               at_least: bool = True) -> Forecast | None:
    """The window's sum. `observed`: the first k sub-periods (None: late, never zero);
    `covered`: the part of the last one its figure covers; `history`: earlier windows."""
    dist = _cumulative(plan, observed, covered, history, target)
    return None if dist is None else _judge(dist, target, at_least)


def _cumulative(plan, observed, covered, history, anchor) -> _Dist | None:
    plan = [0.0 if (x := float(p)) < 0.0 else x for p in plan]  # max(x, 0.0), written out
    least = 1e-9 * max(plan, default=0.0)
    plan = [p if p > least else 0.0 for p in plan]  # a share 0 expects nothing
    n, observed = len(plan), list(observed[: len(plan)])
    seen = [(i, float(v), 1.0) for i, v in enumerate(observed) if v is not None]
    if not any(plan[i] > 0 for i, _, _ in seen):  # no figure of a sub-period the plan expects
        return None
    devs = [d for d in (_deviation(w, plan) for w in history if len(w) == n) if d is not None]
    noise = _history_noise(devs)
    shares, beta = _shape(plan, devs, noise)
    # A shape taken from earlier windows carries beta^2 of their noise (per window).
    shape_var = 0.0 if noise is None else noise[0] * beta**2 / len(devs)
    prior = (NU0, R0) if noise is None else (HIST_WEIGHT * noise[1], noise[0] + shape_var)
    k = seen[-1][0]
    if k == len(observed) - 1:
        seen[-1] = (k, seen[-1][1], min(1.0, max(1e-6, covered)))
    # Still to come, as (sub-periods after the last figure, share): missing ones and the rest
    # of a partial one, at the current level (late, not zero), then the future ones.
    rest = [(0, shares[i]) for i in range(k) if observed[i] is None]
    rest += [(0, shares[k] * (1 - seen[-1][2]))] if seen[-1][2] < 1 else []
    rest += [(i - k, shares[i]) for i in range(k + 1, n)]
    rates = [(i, v / (shares[i] * w), w) for i, v, w in seen if shares[i] > 0]
    return _project(rates, rest, sum(v for _, v, _ in seen), prior, MEASURED if beta > 0 else PLAN,
                    anchor, shape_var)


def _deviation(window, plan) -> list[float | None] | None:
    """log(value / plan share), centred; None where missing (and for a mostly empty window)."""
    logs = [math.log(v / p) if v is not None and v > 0 and p > 0 else None for v, p in zip(window, plan)]
    seen = [x for x in logs if x is not None]
    if len(seen) <= len(plan) // 2:
        return None
    mean = sum(seen) / len(seen)
    return [None if x is None else x - mean for x in logs]


def _history_noise(devs) -> tuple[float, int] | None:
    """(noise variance, sub-periods behind it) of earlier windows: R's posterior scale s^2
    from the plan model's likelihood on their deviations, the drift ratio averaged out."""
    series = [[(i, x, 1.0) for i, x in enumerate(d) if x is not None] for d in devs]
    series = [s for s in series if len(s) >= 4]
    if not series:
        return None
    fits = []
    grids = [_filters(s, PLAN) for s in series]  # per series, a run per drift ratio
    for g, (_, log_prior) in enumerate(_grid(PLAN)):
        runs = [grid[g] for grid in grids]
        m, ss = sum(f[2] for f in runs), NU0 * R0 + sum(f[0] for f in runs)
        lp = -0.5 * sum(f[1] for f in runs) - 0.5 * (NU0 + m) * math.log(ss) + log_prior
        fits.append((lp, ss / (NU0 + m), m))
    top = max(lp for lp, _, _ in fits)
    weights = [math.exp(lp - top) for lp, _, _ in fits]
    return sum(w * r for w, (_, r, _) in zip(weights, fits)) / sum(weights), fits[0][2]


def _shape(plan: list[float], devs, noise) -> tuple[list[float], float]:
    """The expected share of each sub-period: the plan tilted toward earlier windows' shape
    by beta (0..1), their tilt's signal-to-noise ratio. The noise is judged on blocks of
    BLOCK sub-periods: a forecast sums several shares, so noise averages out, a shape not."""
    n, total = len(plan), sum(plan) or 1.0
    plan = [p / total for p in plan]
    if noise is None:
        return plan, 0.0
    tilt = [sum(d[i] for d in devs if d[i] is not None) / max(1, sum(d[i] is not None for d in devs))
            for i in range(n)]
    signal = sum(t * t for t in tilt) / n
    beta = signal / (signal + noise[0] / len(devs) / BLOCK) if signal > 0 else 0.0
    raw = [p * math.exp(beta * t) for p, t in zip(plan, tilt)]  # a zero share stays zero
    return [r / sum(raw) for r in raw], beta


def _project(rates, rest, known, prior, model, anchor=None, shape_var=0.0) -> _Dist:
    """The total: `known` plus what is still to come, from the run rates seen.

    rates: (sub-period, value / its share, weight: the part of a sub-period it covers);
    rest: (sub-periods after the last rate, share); prior: (degrees of freedom, variance)
    of R (relative on the linear scale); anchor: the plan's total, or None."""
    rest = sorted((h, a) for h, a in rest if a > 0)
    if not rest:
        return _Dist(known, False, ((1.0, 0.0, 0.0),))
    log = all(y > 0 for _, y, _ in rates)
    ys = [(i, math.log(y) if log else y, w) for i, y, w in rates]
    mean = sum(y for _, y, _ in ys) / len(ys)  # on the linear scale, their typical size is the unit
    u = 1.0 if log else max(mean * mean, sum((y - mean) ** 2 for _, y, _ in ys) / len(ys), 1e-24)
    anchored = anchor is not None and anchor > 0 and ANCHOR_SD > 0
    parts = []  # (log weight, mu, sd)
    for lw, dyn, r, state in _posterior(ys, (prior[0], prior[1] * u), model, _R_MAX * u):
        mean, var = _remaining(state, dyn, r, rest, log)
        if log:
            # The shares' noise (earlier windows') is in R and, the shares being normalised,
            # has a log mean of -shape_var / 2: each lifts the mean by exp(shape_var / 2)
            # for noise that is not to come (+2% on the bench without this correction).
            mean -= shape_var
            m, v = _log_total(known if anchored else 0.0, mean, var)
            t, a2 = (math.log(anchor), ANCHOR_SD**2) if anchored else (0.0, 0.0)
        else:
            m, v = (known if anchored else 0.0) + mean, var
            t, a2 = (anchor, (ANCHOR_SD * anchor) ** 2) if anchored else (0.0, 0.0)
        if anchored:  # times the prior that the plan's total is about right
            lw -= 0.5 * (m - t) ** 2 / (v + a2) + 0.5 * math.log(v + a2)
            m, v = (m * a2 + t * v) / (v + a2), v * a2 / (v + a2)
        parts.append((lw, m, math.sqrt(v)))
    top = max(lp for lp, _, _ in parts)
    total = sum(math.exp(lp - top) for lp, _, _ in parts)
    parts = tuple((math.exp(lp - top) / total, m, sd) for lp, m, sd in parts)
    if not anchored:
        return _Dist(known, log, parts)
    return _Dist(0.0, log, parts, known if log else -math.inf)  # parts of the whole total


def _log_total(known, log_mean, cv2) -> tuple[float, float]:
    """(mu, sigma^2) of known + a remainder of log mean `log_mean` and squared coefficient of
    variation `cv2`, as one log-normal (Fenton-Wilkinson), without overflow."""
    log_total = log_mean
    if known > 0:
        a, b = sorted((log_mean, math.log(known)))
        log_total = b + math.log1p(math.exp(a - b))
    s2 = math.log1p(cv2 * math.exp(2 * (log_mean - log_total)))
    return log_total - s2 / 2, s2


def _posterior(ys, prior, model, cap):
    """(log weight, dynamics, R, filter state) over the drift ratio's grid and R's nodes: given
    the ratio, R's posterior is a scaled inverse chi-square with nu0 + m degrees of freedom,
    its nodes from the Wilson-Hilferty cube-root normal approximation."""
    nu0, s0 = prior
    nu = nu0 + (len(ys) - 1)  # the same for every ratio: so are the nodes' log weights and scales
    nodes = [(log_w, nu * _cube(nu, z) ** 3) for z, log_w in _LOG_NODES]
    fits = []
    for (dyn, log_prior), (ss, logdet, _, state) in zip(_grid(model), _filters(ys, model)):
        ss = nu0 * s0 + ss
        fits.append((-0.5 * logdet - 0.5 * nu * math.log(ss) + log_prior, dyn, ss, state))
    top = max(f[0] for f in fits)
    out = []
    for lp, dyn, ss, state in fits:
        if lp - top >= _KEEP:
            for log_w, scale in nodes:
                out.append((lp - top + log_w, dyn, min(cap, ss / scale), state))
    return out


_LOG_NODES = tuple((z, math.log(w)) for z, w in _NODES)


def _cube(nu: float, z: float) -> float:
    return max(0.2, 1 - 2 / (9 * nu) + z * math.sqrt(2 / (9 * nu)))


@lru_cache(maxsize=8)  # pure; two models in use
def _grid(model: _Model) -> tuple[tuple[tuple[float, float, float, float], float], ...]:
    """(dynamics, log prior) of each drift ratio of the grid."""
    return tuple((model.dynamics(rho), model.log_prior(rho)) for rho in _RHO_GRID)


def _filters(ys, model: _Model) -> list[tuple[float, float, int, tuple[float, float, float, float, float]]]:
    """Kalman filter on (level, trend) with unit noise, for each drift ratio of the grid: (sum
    of squared standardised innovations, sum of their log variances, their count, state
    after the last figure). The level starts diffuse at the first figure; the state is
    (level, trend, var level, cov, var trend), variances in units of R. The variances and
    gains come from _gains; what is left per ratio is the means, written out flat."""
    grid = _gains(tuple([(t, w) for t, _, w in ys]), model)
    values, first, count = [y for _, y, _ in ys[1:]], ys[0][1], len(ys) - 1
    out = []
    for (dyn, _), gains in zip(_grid(model), grid):
        phi, level, trend, ss = dyn[3], first, 0.0, 0.0
        if gains.steps is None:  # a figure every sub-period: the common case
            for y, f, kl, kt in zip(values, gains.f, gains.kl, gains.kt):
                level, trend = level + trend, phi * trend
                v = y - level
                ss = ss + v * v / f
                level, trend = level + kl * v, trend + kt * v
        else:
            for y, f, kl, kt, steps in zip(values, gains.f, gains.kl, gains.kt, gains.steps):
                for _ in range(steps):  # one sub-period ahead: the level moves by the trend
                    level, trend = level + trend, phi * trend
                v = y - level
                ss = ss + v * v / f
                level, trend = level + kl * v, trend + kt * v
        out.append((ss, gains.logdet, count, (level, trend, *gains.variances)))
    return out


@dataclass(frozen=True, slots=True)
class _Gains:
    """The filter's innovation variance f and gains (kl, kt) at each figure after the first,
    the sub-periods since the one before (None: always one), the sum of log f and the final
    (var level, cov, var trend)."""

    steps: tuple[int, ...] | None
    f: tuple[float, ...]
    kl: tuple[float, ...]
    kt: tuple[float, ...]
    logdet: float
    variances: tuple[float, float, float]


@lru_cache(maxsize=64)
def _gains(pattern: tuple[tuple[int, float], ...], model: _Model) -> tuple[_Gains, ...]:
    """The filter's variances depend on when figures came and how much of its sub-period each
    covers (`pattern`: (sub-period, weight) per figure), not on the values: goals whose
    figures came alike share them (pure, and most of the filter's arithmetic). One per
    drift ratio of the grid."""
    return tuple(_gains_of(pattern, dyn) for dyn, _ in _grid(model))


def _gains_of(pattern: tuple[tuple[int, float], ...], dyn: tuple[float, float, float, float]) -> _Gains:
    q, qs, p0, phi = dyn
    phi2, log = phi * phi, math.log
    t_prev, w0 = pattern[0]
    pl, c, pt, logdet = 1 / w0, 0.0, p0, 0.0
    steps, fs, kls, kts = [], [], [], []
    for t, w in pattern[1:]:
        for _ in range(t - t_prev):
            pl, c, pt = pl + 2 * c + pt + q, phi * (c + pt), phi2 * pt + qs
        steps.append(t - t_prev)
        t_prev, f = t, pl + 1 / w
        logdet = logdet + log(f)
        kl, kt = pl / f, c / f
        pl, c, pt = pl * (1 - kl), c * (1 - kl), pt - kt * c
        fs.append(f)
        kls.append(kl)
        kts.append(kt)
    every = all(step == 1 for step in steps)
    return _Gains(None if every else tuple(steps), tuple(fs), tuple(kls), tuple(kts), logdet, (pl, c, pt))


def _remaining(state, dyn, r, rest, log) -> tuple[float, float]:
    """Of sum(share * value) over what is still to come: mean and variance on the linear
    scale; log(mean) and variance / mean^2 on the log scale (no overflow either way)."""
    q, qs, _, phi = dyn
    phi2, qr, qsr = phi * phi, q * r, qs * r
    level, trend, pl, c, pt = state
    ahead = [(level, pl * r, c * r)]  # (mean, var, cov with the trend) of the level h ahead
    pl, c, pt = pl * r, c * r, pt * r
    for _ in range(max(h for h, _ in rest)):
        level, trend = level + trend, phi * trend
        pl, c, pt = pl + 2 * c + pt + qr, phi * (c + pt), phi2 * pt + qsr
        ahead.append((level, pl, c))
    reach = _reach(phi, len(ahead))
    # Values i < j (rest is in order of h): cov = var_i + cov_i(level, trend) * reach[h_j - h_i];
    # a value's own variance adds the noise r.
    hs, m = [h for h, _ in rest], len(rest)
    if not log:
        var = 0.0
        for i, (hi, ai) in enumerate(rest):
            v, cv = ahead[hi][1], ahead[hi][2]
            var += ai * (ai * (v + r) + 2 * sum([aj * (v + cv * reach[hj - hi]) for hj, aj in rest[i + 1:]]))
        return sum(a * ahead[h][0] for h, a in rest), var
    cap = _V_MAX
    logs = [math.log(a) + ahead[h][0] + min(cap, ahead[h][1] + r) / 2 for h, a in rest]
    top = max(logs)
    mu = [math.exp(x - top) for x in logs]
    var, expm1 = 0.0, math.expm1
    for i in range(m):  # O(m^2) in exp: the inner sum as a flat comprehension, min() written out
        hi, mi = hs[i], mu[i]
        _, v, cv = ahead[hi]
        row = sum([mj * expm1(x if (x := v + cv * reach[hj - hi]) < cap else cap)
                   for mj, hj in zip(mu[i + 1:], hs[i + 1:])])
        x = v + r
        var += mi * (mi * expm1(x if x < cap else cap) + 2 * row)
    return top + math.log(sum(mu)), var / sum(mu) ** 2


def _reach(phi: float, count: int) -> tuple[float, ...]:
    """reach[d] = 1 + phi + ... + phi^(d-1), a trend's effect d sub-periods later, for d < count."""
    return _reaches(phi, -(-count // 64) * 64)


@lru_cache(maxsize=16)  # pure; two persistences in use, a few horizons
def _reaches(phi: float, count: int) -> tuple[float, ...]:
    return tuple(sum(phi**i for i in range(d)) for d in range(count))


def ratio(*, numerator: Sequence[float | None], denominator: Sequence[float | None], periods: int,
          history_numerator: Sequence[Sequence[float | None]] = (),
          history_denominator: Sequence[Sequence[float | None]] = (), target: float,
          at_least: bool = True) -> Forecast | None:
    """sum(numerator) / sum(denominator) over `periods` sub-periods, a sub-period counting only
    when both sides are there.

    A margin or a share moves far less from period to period than either of its sides, so
    the ratio itself is what is forecast: the periods still to come are expected at the
    ratio so far, and the end ratio is r = w r_seen + (1 - w) r_rest, w the share of the
    denominator already seen (its run rate carries the rest). One period's ratio varies by
    sigma, measured on this window's and earlier windows' per-period ratios (each about its
    own window's mean), with a weak prior of 10% of the ratio's size worth two periods, so
    the data soon speak; the mean of the periods to come is uncertain by
    sigma^2 (1/k + 1/rest): the level learnt from k periods, and the rest's own noise."""
    pairs = [(a, b) for a, b in zip(numerator[:periods], denominator[:periods]) if a is not None and b is not None]
    seen_n, seen_d = sum(a for a, _ in pairs), sum(b for _, b in pairs)
    if not pairs or seen_d == 0:
        return None
    seen, k, rest = seen_n / seen_d, len(pairs), periods - len(pairs)
    if rest <= 0:
        met = seen >= target if at_least else seen <= target
        return Forecast(1.0 if met else 0.0, seen, seen, seen)
    sigma = _ratio_noise([pairs, *_earlier_pairs(history_numerator, history_denominator)], max(abs(seen), abs(target)))
    w = k / periods  # the denominator's run rate carries the periods to come
    sd = (1 - w) * sigma * math.sqrt(1 / k + 1 / rest)
    p = _ncdf(seen, target, sd) if at_least else _ncdf(target, seen, sd)
    if sd == 0:
        p = 1.0 if (seen >= target if at_least else seen <= target) else 0.0
    return Forecast(min(1.0, max(0.0, p)), seen, seen - _Z90 * sd, seen + _Z90 * sd)


def _earlier_pairs(numerators: Sequence[Sequence[float | None]], denominators: Sequence[Sequence[float | None]]):  # type: ignore[no-untyped-def]
    """Earlier windows as lists of (numerator, denominator) pairs, both sides present."""
    for top, bottom in zip(numerators, denominators):
        yield [(a, b) for a, b in zip(top, bottom) if a is not None and b is not None]


_RATIO_PRIOR, _RATIO_PRIOR_WEIGHT = 0.1, 2.0


def _ratio_noise(windows: Sequence[Sequence[tuple[float, float]]], size: float) -> float:
    """sd of one period's ratio: pooled over windows, each about its own mean, with the weak prior."""
    squares, dof = _RATIO_PRIOR_WEIGHT * (_RATIO_PRIOR * size) ** 2, _RATIO_PRIOR_WEIGHT
    for pairs in windows:
        ratios = [a / b for a, b in pairs if b]
        if len(ratios) > 1:
            mean = sum(ratios) / len(ratios)
            squares += sum((r - mean) ** 2 for r in ratios)
            dof += len(ratios) - 1
    return math.sqrt(squares / dof)


def level(*, observed: Sequence[float | None], due_share: Sequence[float], baseline: float | None,
          target: float, at_least: bool = True) -> Forecast | None:
    """The level at the window's end (the last reading counts). `observed`: readings at the
    end of sub-periods 1..k (None: missing); `due_share[i]`: the plan's cumulative share due
    by the end of sub-period i. Each change between readings is a run rate against the plan's
    share of it (a gap merges into the next change), forecast like a cumulative. None without
    a change to go by (no reading; one reading and no baseline; nothing due between them)."""
    n = len(due_share)
    readings = [(i, float(v)) for i, v in enumerate(observed[:n]) if v is not None]
    if baseline is None and readings:
        i0, x0 = readings.pop(0)
        prev = (i0, x0, float(due_share[i0]))
    else:
        prev = (-1, float(baseline or 0.0), 0.0)
    rates = []
    for i, x in readings:
        share = float(due_share[i]) - prev[2]
        if share > 1e-9:  # a change while nothing is due stays in the level, not in a rate
            rates.append((i, (x - prev[1]) / share, float(i - prev[0])))
            prev = (i, x, float(due_share[i]))
    if not rates:
        return None
    k = readings[-1][0]
    rest = [(j - k, float(due_share[j]) - float(due_share[j - 1])) for j in range(k + 1, n)]
    dist = _project(rates, rest, readings[-1][1], (NU0, R0), PLAN, target if baseline is not None else None)
    return _judge(dist, target, at_least)
