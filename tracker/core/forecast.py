"""The period-end measure of a goal as a distribution (pure: stdlib only, closed forms).

Each sub-period's value is its expected share s_i of the window's total times a run rate:
y_i = log(x_i / s_i), the total that sub-period implies, follows a local level with a damped
trend (a two-state Kalman filter). The noise variances are not guessed: the filter's own
likelihood on this window, with weak priors (from earlier windows' roughness when given),
weighs a small grid of them and the forecast averages over that posterior. Given each grid
point, the remaining total is a sum of log-normals correlated through the level, matched to
one log-normal (Fenton-Wilkinson). Values <= 0 switch the same model to the linear scale.
bench/FORECAST.md has the formulas and the calibration figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist, median

# Weak priors; the window's own data (and earlier windows) dominate them within months.
R0, R_SD = 0.10**2, 1.2  # noise of one sub-period: ~10%, within a factor of ~3
Q_SD = 1.5  # the prior on the drift of the level per sub-period (its log), centred on:
Q_PLAN = 0.03**2  # ... ~3% when the shape is only the plan (a guess)
Q_HIST = 0.01**2  # ... ~1% when earlier windows measured the shape
HIST_SD = 0.35  # an earlier window's noise tells this one's within a factor of ~1.4
ANCHOR_SD = 0.3
TREND = 4.0  # the trend's variance in units of the drift's: the run rate moves smoothly
PHI = 0.8  # persistence of the trend: a recent trend fades over a few sub-periods
_R_GRID = [(0.01 * 1.6**i) ** 2 for i in range(11)]  # noise sd 1% .. 110%
_Q_GRID = [0.0] + [(0.005 * 2**i) ** 2 for i in range(6)]  # drift sd 0, 0.5% .. 16%
_KEEP = math.exp(-6)  # grid points this much less likely than the best one are dropped


@dataclass(frozen=True, slots=True)
class Forecast:
    probability: float  # P(the period-end measure meets the target), 0..1
    median: float  # the projected period-end measure
    low: float  # 10th percentile of the period-end measure
    high: float  # 90th percentile


@dataclass(frozen=True, slots=True)
class _Dist:
    """A window's total: `known` plus a mixture of log-normal (or normal) remainders."""

    known: float
    log: bool
    parts: tuple[tuple[float, float, float], ...]  # (weight, mu, sigma) of the remainder

    def cdf(self, x: float) -> float:
        u = x - self.known
        if self.log:
            if u <= 0:
                return 0.0
            u = math.log(u)
        return sum(w * _phi_cdf(u, mu, sd) for w, mu, sd in self.parts)

    def quantile(self, q: float) -> float:
        u = _mixture_quantile(self.parts, q, NormalDist().inv_cdf(q))
        return self.known + (math.exp(u) if self.log else u)

    def moments(self) -> tuple[float, float]:
        """Mean and variance of the total."""
        if self.log:
            ms = [(w, math.exp(mu + sd * sd / 2), math.expm1(sd * sd)) for w, mu, sd in self.parts]
            mean = sum(w * m for w, m, _ in ms)
            second = sum(w * m * m * (1 + e) for w, m, e in ms)
        else:
            mean = sum(w * mu for w, mu, _ in self.parts)
            second = sum(w * (sd * sd + mu * mu) for w, mu, sd in self.parts)
        return self.known + mean, max(0.0, second - mean * mean)


def _phi_cdf(x: float, mu: float, sd: float) -> float:
    if sd <= 0:
        return 1.0 if x >= mu else 0.0
    return 0.5 * math.erfc((mu - x) / (sd * math.sqrt(2)))


def _mixture_quantile(parts, q: float, z: float) -> float:
    """Safeguarded Newton on the mixture's cdf, from the components' own quantiles."""
    qs = [mu + z * sd for _, mu, sd in parts]
    lo, hi = min(qs), max(qs)
    u = sum(w * x for (w, _, _), x in zip(parts, qs))
    for _ in range(30):
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            break
        f = sum(w * _phi_cdf(u, mu, sd) for w, mu, sd in parts) - q
        lo, hi = (u, hi) if f < 0 else (lo, u)
        dens = sum(w * math.exp(-0.5 * ((u - mu) / sd) ** 2) / (sd * 2.5066282746310002)
                   for w, mu, sd in parts if sd > 0)
        step = u - f / dens if dens > 0 else (lo + hi) / 2
        if abs(step - u) <= 1e-10 * max(1.0, abs(u)):
            return step
        u = step if lo < step < hi else (lo + hi) / 2
    return u


def cumulative(*, plan: Sequence[float], observed: Sequence[float | None], covered: float = 1.0,
               history: Sequence[Sequence[float | None]] = (), target: float,
               at_least: bool = True) -> Forecast | None:
    """The window's sum; `observed` the first k sub-periods (None: late, never zero)."""
    dist = _cumulative_dist(plan, observed, covered, history, target)
    return None if dist is None else _judge(dist, target, at_least)


def _cumulative_dist(plan, observed, covered, history, target=None) -> _Dist | None:
    plan = [float(p) for p in plan]
    n = len(plan)
    devs = [d for d in (_deviation(w, plan) for w in history if len(w) == n) if d is not None]
    shares, beta = _shape(plan, devs)
    observed = list(observed[:n])
    seen = [(i, float(v), 1.0) for i, v in enumerate(observed) if v is not None]
    if not seen:
        return None
    k = seen[-1][0]
    if k == len(observed) - 1:  # a to-date figure covers part of its sub-period
        seen[-1] = (k, seen[-1][1], min(1.0, max(1e-6, covered)))
    # What is left, as (sub-periods after the last figure, share): missing ones and the rest
    # of a partial one at the current level (they are late, not zero), then the future.
    rest = [(0, shares[i]) for i in range(k) if observed[i] is None]
    rest += [(0, shares[k] * (1 - seen[-1][2]))] if seen[-1][2] < 1 else []
    rest += [(i - k, shares[i]) for i in range(k + 1, n)]
    rates = [(i, v / (shares[i] * w), w) for i, v, w in seen]
    return _project(rates, rest, sum(v for _, v, _ in seen), _noise_prior(devs, beta),
                    Q_HIST if beta > 0 else Q_PLAN, target)


def _shape(plan: list[float], devs) -> tuple[list[float], float]:
    """The expected share of each sub-period: the plan, tilted toward earlier windows' shape
    (`devs`: their log deviations from the plan), and how far (beta, 0..1).

    The tilt is shrunk by its signal-to-noise ratio, the noise judged on quarter-sized
    blocks: the forecast sums several shares, so independent noise averages out while a
    shape left out does not.
    """
    n, total = len(plan), sum(plan)
    plan = [max(p / total, 1e-9) for p in plan]
    if not devs:
        return plan, 0.0
    tilt = [sum(d[i] for d in devs if d[i] is not None) / max(1, sum(d[i] is not None for d in devs))
            for i in range(n)]
    signal = sum(t * t for t in tilt) / n
    noise = _roughness(devs) / len(devs) / 3
    beta = signal / (signal + noise) if signal > 0 else 0.0
    raw = [p * math.exp(beta * t) for p, t in zip(plan, tilt)]
    return [r / sum(raw) for r in raw], beta


def _deviation(window, plan) -> list[float | None] | None:
    """log(value / plan share), centred; None where missing (and for a mostly empty window)."""
    logs = [math.log(v / p) if v is not None and v > 0 else None for v, p in zip(window, plan)]
    seen = [x for x in logs if x is not None]
    if len(seen) <= len(plan) // 2:
        return None
    mean = sum(seen) / len(seen)
    return [None if x is None else x - mean for x in logs]


def _roughness(series) -> float:
    """Noise variance of one sub-period from second differences (median based: robust to a
    shape's kinks). E[d^2] = 6 R for white noise, and median(chi2_1) = 0.4549."""
    sq = [(a - 2 * b + c) ** 2 for s in series for a, b, c in zip(s, s[1:], s[2:])
          if a is not None and b is not None and c is not None]
    return median(sq) / (6 * 0.4549) if len(sq) >= 3 else R0


def _noise_prior(devs, beta) -> tuple[float, float]:
    """(mean, sd) of log R: from earlier windows when there are any, by the same filter's
    likelihood on them (their drift marginalised out), widened for a year-to-year change.
    A shape taken from them carries beta^2 of their noise into this window's deviations."""
    series = [[(i, x, 1.0) for i, x in enumerate(d) if x is not None] for d in devs]
    series = [s for s in series if len(s) >= 4]
    if not series:
        return math.log(R0), R_SD
    q_prior = [_log_normal(max(q, _Q_GRID[1]), math.log(Q_PLAN), Q_SD) for q in _Q_GRID]
    post = []
    for r in _R_GRID:
        lps = [sum(_filter(s, (r, q, TREND * q))[0] for s in series) + qp for q, qp in zip(_Q_GRID, q_prior)]
        top = max(lps)
        post.append((math.log(r), top + math.log(sum(math.exp(lp - top) for lp in lps))))
        post[-1] = (post[-1][0], post[-1][1] + _log_normal(r, math.log(R0), R_SD))
    top = max(lp for _, lp in post)
    ws = [(x, math.exp(lp - top)) for x, lp in post]
    total = sum(w for _, w in ws)
    mean = sum(x * w for x, w in ws) / total
    sd = math.sqrt(sum((x - mean) ** 2 * w for x, w in ws) / total)
    return mean + math.log1p(beta * beta / len(series)), max(HIST_SD, sd * 1.5)


def _project(rates, rest, known, r_prior, q0, plan_total=None) -> _Dist:
    """The window's total: `known` plus the forecast of `rest`, from the run rates seen.

    rates: (sub-period, value / its share, weight: the part of a sub-period it covers);
    rest: (sub-periods after the last rate, share) of what is still to come.
    """
    rest = [(h, a) for h, a in rest if a > 0]
    if not rest:
        return _Dist(known, False, ((1.0, 0.0, 0.0),))
    log = all(y > 0 for _, y, _ in rates)
    ys = [(i, math.log(y) if log else y, w) for i, y, w in rates]
    scale = 1.0 if log else _spread([y for _, y, _ in ys])
    parts = []
    anchored = log and plan_total is not None and plan_total > 0 and ANCHOR_SD > 0
    for p, theta in _posterior(ys, r_prior, q0, scale):
        mean, var = _remaining(_filter(ys, theta)[1], theta, rest, log)
        if anchored:  # a log-normal total, times the prior that the plan's total is about right
            s2 = math.log1p(var / (known + mean) ** 2)
            m = math.log(known + mean) - s2 / 2
            a2, t = ANCHOR_SD**2, math.log(plan_total)
            p *= math.exp(-0.5 * (m - t) ** 2 / (s2 + a2)) / math.sqrt(s2 + a2)
            m, s2 = (m * a2 + t * s2) / (s2 + a2), s2 * a2 / (s2 + a2)
            parts.append((p, m, math.sqrt(s2)))
            continue
        if log:
            s2 = math.log1p(var / (mean * mean))
            parts.append((p, math.log(mean) - s2 / 2, math.sqrt(s2)))
        else:
            parts.append((p, mean, math.sqrt(var)))
    if anchored:
        total = sum(p for p, _, _ in parts)
        return _Dist(0.0, True, tuple((p / total, m, sd) for p, m, sd in parts))
    return _Dist(known, log, tuple(parts))


def _spread(ys: list[float]) -> float:
    """The unit of the linear scale: the implied totals' typical size."""
    mean = sum(ys) / len(ys)
    sd = math.sqrt(sum((y - mean) ** 2 for y in ys) / len(ys))
    return max(abs(mean), sd, 1e-12)


def _posterior(ys, r_prior, q0, scale):
    """Posterior weights of (R: one sub-period's noise, Q: the level's drift) on a grid."""
    q_prior = [_log_normal(max(q, _Q_GRID[1]), math.log(q0), Q_SD) for q in _Q_GRID]
    grid = []
    for r in _R_GRID:
        r_lp = _log_normal(r, r_prior[0], r_prior[1])
        for q, q_lp in zip(_Q_GRID, q_prior):
            theta = (r * scale**2, q * scale**2, TREND * q * scale**2)
            grid.append((_filter(ys, theta)[0] + r_lp + q_lp, theta))
    top = max(lp for lp, _ in grid)
    kept = [(math.exp(lp - top), theta) for lp, theta in grid if math.exp(lp - top) > _KEEP]
    total = sum(w for w, _ in kept)
    return [(w / total, theta) for w, theta in kept]


def _log_normal(x: float, mean: float, sd: float) -> float:
    return -0.5 * ((math.log(x) - mean) / sd) ** 2


def _filter(ys, theta):
    """Kalman filter on (level, trend): (log-likelihood, state after the last figure).

    The level starts diffuse at the first figure, the trend at 0 with its stationary sd.
    """
    r, q, tau2 = theta
    (t0, y0, w0), ll = ys[0], 0.0
    state = (y0, 0.0, r / w0, 0.0, tau2)  # level, trend, var level, cov, var trend
    for (t_prev, _, _), (t, y, w) in zip(ys, ys[1:]):
        for _ in range(t - t_prev):
            state = _step(state, q, tau2)
        level, trend, pl, c, pt = state
        s = pl + r / w
        v = y - level
        ll -= 0.5 * (math.log(2 * math.pi * s) + v * v / s)
        kl, kt = pl / s, c / s
        state = (level + kl * v, trend + kt * v, pl * (1 - kl), c * (1 - kl), pt - kt * c)
    return ll, state


def _step(state, q, tau2):
    """One sub-period ahead: the level moves by the trend plus drift; the trend fades."""
    level, trend, pl, c, pt = state
    return (level + trend, PHI * trend, pl + 2 * c + pt + q, PHI * (c + pt),
            PHI * PHI * pt + tau2 * (1 - PHI * PHI))


def _remaining(state, theta, rest, log) -> tuple[float, float]:
    """Mean and variance of sum(share * value) over what is left, given the filter state."""
    r, q, tau2 = theta
    ahead = [state]
    for _ in range(max(h for h, _ in rest)):
        ahead.append(_step(ahead[-1], q, tau2))
    reach = [(1 - PHI**d) / (1 - PHI) for d in range(len(ahead))]  # a trend's effect d later

    def cov(i: int, j: int) -> float:  # of the levels i and j sub-periods ahead, i <= j
        return ahead[i][2] + ahead[i][3] * reach[j - i]

    if log:
        mu = [a * math.exp(ahead[h][0] + (ahead[h][2] + r) / 2) for h, a in rest]
        mean = sum(mu)
        var = sum(mu[i] ** 2 * math.expm1(ahead[h][2] + r) for i, (h, _) in enumerate(rest))
        var += 2 * sum(mu[i] * mu[j] * math.expm1(cov(min(hi, hj), max(hi, hj)))
                       for i, (hi, _) in enumerate(rest) for j, (hj, _) in enumerate(rest) if j > i)
        return mean, var
    mean = sum(a * ahead[h][0] for h, a in rest)
    var = sum(a * a * (ahead[h][2] + r) for h, a in rest)
    var += 2 * sum(ai * aj * cov(min(hi, hj), max(hi, hj))
                   for i, (hi, ai) in enumerate(rest) for j, (hj, aj) in enumerate(rest) if j > i)
    return mean, var


def _judge(dist: _Dist, target: float, at_least: bool) -> Forecast:
    """Probability of meeting the target ("at least" counts equality as met)."""
    below = dist.cdf(target - 1e-12 * max(1.0, abs(target)))  # P(total < target)
    p = 1.0 - below if at_least else dist.cdf(target)
    return Forecast(min(1.0, max(0.0, p)), dist.quantile(0.5), dist.quantile(0.1), dist.quantile(0.9))


def ratio(*, numerator: Sequence[float | None], denominator: Sequence[float | None], periods: int,
          history_numerator: Sequence[Sequence[float | None]] = (),
          history_denominator: Sequence[Sequence[float | None]] = (), target: float,
          at_least: bool = True) -> Forecast | None:
    """sum(numerator) / sum(denominator) over `periods` sub-periods; a sub-period counts only
    when both sides are present. Each side is forecast as a cumulative; their co-movement is
    the correlation of the sub-periods seen (shrunk toward 0 while they are few)."""
    both = [(a, b) for a, b in zip(numerator[:periods], denominator[:periods])]
    num = [a if a is not None and b is not None else None for a, b in both]
    den = [b if a is not None and b is not None else None for a, b in both]
    plan = [1.0] * periods
    dn = _cumulative_dist(plan, num, 1.0, history_numerator)
    dd = _cumulative_dist(plan, den, 1.0, history_denominator)
    if dn is None or dd is None:
        return None
    (mn, vn), (md, vd) = dn.moments(), dd.moments()
    if md < 0:  # n / d == (-n) / (-d): keep the denominator positive
        mn, md = -mn, -md
    if md == 0:
        return None
    c = _correlation([x for x in num if x is not None], [x for x in den if x is not None])
    c *= math.sqrt(vn * vd) * (1 if dd.moments()[0] > 0 else -1)
    if at_least:
        p = _phi_cdf(mn - target * md, 0.0, math.sqrt(max(0.0, vn + target**2 * vd - 2 * target * c)))
    else:
        p = 1.0 - _phi_cdf(mn - target * md, 0.0, math.sqrt(max(0.0, vn + target**2 * vd - 2 * target * c)))
        p = max(p, 1.0 if vn + vd == 0 and mn / md <= target else 0.0)
    return Forecast(min(1.0, max(0.0, p)), mn / md, *(_ratio_quantile(mn, vn, md, vd, c, z)
                                                       for z in (-_Z90, _Z90)))


_Z90 = NormalDist().inv_cdf(0.9)


def _ratio_quantile(mn, vn, md, vd, c, z) -> float:
    """r with P(n / d <= r) = Phi(z), i.e. (r md - mn) = z sd(n - r d): Fieller's quadratic."""
    a = md * md - z * z * vd
    b = md * mn - z * z * c
    cc = mn * mn - z * z * vn
    disc = b * b - a * cc
    if a > 0 and disc >= 0:
        return (b + math.copysign(math.sqrt(disc), z)) / a
    r0 = mn / md  # the denominator may be near zero: fall back on the delta method
    return r0 + z * math.sqrt(max(0.0, vn + r0 * r0 * vd - 2 * r0 * c)) / abs(md)


def _correlation(xs: list[float], ys: list[float]) -> float:
    m = len(xs)
    if m < 3:
        return 0.0
    mx, my = sum(xs) / m, sum(ys) / m
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return 0.0
    return max(-0.9, min(0.9, sxy / math.sqrt(sxx * syy) * (m - 2) / (m + 2)))


def level(*, observed: Sequence[float | None], due_share: Sequence[float], baseline: float | None,
          target: float, at_least: bool = True) -> Forecast | None:
    """The level at the window's end (the last reading counts). `observed`: readings at the
    end of sub-periods 1..k; `due_share[i]`: the plan's cumulative share due by the end of
    sub-period i. The changes between readings are run rates against the plan's share of
    them, forecast like a cumulative (a gap merges into the next change). None without a
    reading, or with a single one and no baseline (no change to go by)."""
    n = len(due_share)
    readings = [(i, float(v)) for i, v in enumerate(observed[:n]) if v is not None]
    if baseline is not None:
        start = (-1, float(baseline), 0.0)
    elif readings:
        start = (readings[0][0], readings[0][1], float(due_share[readings[0][0]]))
        readings = readings[1:]
    if not readings:
        return None
    rates, prev = [], start
    for i, x in readings:
        share = float(due_share[i]) - prev[2]
        if share > 1e-9:  # a change with nothing due is kept (in the level) but not a rate
            rates.append((i, (x - prev[1]) / share, float(i - prev[0])))
            prev = (i, x, float(due_share[i]))
    last = readings[-1]
    if not rates:
        rates = [(last[0], 0.0, 1.0)]
    k = last[0]
    shares = [float(due_share[j]) - (float(due_share[j - 1]) if j else 0.0) for j in range(n)]
    rest = [(j - k, shares[j]) for j in range(k + 1, n)]
    dist = _project(rates, rest, last[1], (math.log(R0), R_SD), Q_PLAN)
    return _judge(dist, target, at_least)
