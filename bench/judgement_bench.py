"""Judgement benchmark: how often a monthly cumulative goal's status is wrong, by rule.

    python bench/judgement_bench.py [--seed N] [--years N]

A seeded generator draws yearly trajectories of a monthly cumulative goal (target 550,000):
five shapes (flat, i.e. linear growth of the cumulative; a second-half ramp; front-loaded;
a New-Year dip with a low January and February; the plan's own shape), multiplicative noise
of 5-20% a month plus a small drifting level (0-3% a month), the year's total drawn
uniformly from 80% to 120% of the target. Every other year comes with the previous year
(same shape, another level, its own noise) as history. Each year is judged as of the 5th of
February .. December with the data through the previous month; 31 October (data through
September) gives the "flagged" figure. Columns, all from the same draws:

- today, linear: projected P = A / w(t_data) with a linear w; P/G >= 0.97 on_track,
  >= 0.90 at_risk, else off_track.
- today, pace weights: the same rule with the goal's plan weights [6,6,7,7,8,8,9,9,10,10,10,10].
- oracle: knows the year's true total and applies today's bands to it.
- forecast: tracker.core.forecast.cumulative with the plan weights (and the history when the
  year has one); on_track if p >= 0.8, off_track if p < 0.2, else at_risk.

Then Xiaomi's real 2025 EV deliveries (/work/shared/data/xiaomi-ev-2025.csv) as they were
published, and a PASS/FAIL line per target.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.core.forecast import cumulative  # noqa: E402

TARGET = 550_000.0
PLAN_WEIGHTS = [6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 10, 10]
PLAN = [w / sum(PLAN_WEIGHTS) for w in PLAN_WEIGHTS]
LINEAR = [1 / 12] * 12
AS_OF_K = list(range(1, 12))  # 5 Feb .. 5 Dec: data through January .. November
FLAG_K = 9  # 31 October: data through September
XIAOMI = Path("/work/shared/data/xiaomi-ev-2025.csv")
XIAOMI_TARGETS = [(datetime(2025, 1, 1), 300_000.0), (datetime(2025, 3, 1), 350_000.0),
                  (datetime(2025, 12, 1), 400_000.0)]
STATUSES = ("on_track", "at_risk", "off_track")

BASE_SHAPES = {
    "flat": [1.0] * 12,
    "h2_ramp": [0.75] * 6 + [0.85, 1.0, 1.15, 1.3, 1.45, 1.6],
    "front": [1.35 - 0.06 * i for i in range(12)],
    "ny_dip": [0.55, 0.6] + [1.0] * 10,
    "plan": [w / 8.333 for w in PLAN_WEIGHTS],
}


@dataclass(frozen=True)
class Year:
    shape: str
    values: list[float]
    history: list[float] | None
    total: float

    @property
    def met(self) -> bool:
        return self.total >= TARGET


def _trajectory(rnd: random.Random, shape: list[float], sigma: float, drift: float, total: float) -> list[float]:
    level, raw = 0.0, []
    for s in shape:
        level += rnd.gauss(0.0, drift)
        raw.append(s * math.exp(level + rnd.gauss(0.0, sigma)))
    scale = total / sum(raw)
    return [v * scale for v in raw]


def generate(seed: int, years: int) -> list[Year]:
    rnd = random.Random(seed)
    names = list(BASE_SHAPES)
    out = []
    for i in range(years):
        name = names[i % len(names)]
        strength = rnd.uniform(0.6, 1.4)  # how pronounced this year's shape is
        shape = [1.0 + strength * (s - 1.0) for s in BASE_SHAPES[name]]
        sigma, drift = rnd.uniform(0.05, 0.20), rnd.uniform(0.0, 0.03)
        total = TARGET * rnd.uniform(0.8, 1.2)
        values = _trajectory(rnd, shape, sigma, drift, total)
        history = None
        if (i // len(names)) % 2 == 0:  # half the years, across all shapes
            history = _trajectory(rnd, shape, sigma, drift, total * rnd.uniform(0.8, 1.2))
        out.append(Year(name, values, history, total))
    return out


def band(attainment: float) -> str:
    return "on_track" if attainment >= 0.97 else "at_risk" if attainment >= 0.90 else "off_track"


def by_probability(p: float) -> str:
    return "on_track" if p >= 0.8 else "off_track" if p < 0.2 else "at_risk"


def today_rule(values: list[float | None], weights: list[float], target: float) -> tuple[str, float]:
    """Today's rule: P = A / w(t_data); t_data is the end of the last month with data."""
    last = max(i for i, v in enumerate(values) if v is not None)
    actual = sum(v for v in values if v is not None)
    projected = actual / sum(weights[: last + 1])
    return band(projected / target), projected


def judge(years: list[Year]) -> dict[str, dict]:
    columns = {name: {"verdicts": [], "flag": [], "p": [], "inside": [], "seconds": 0.0} for name in
               ("today, linear", "today, pace weights", "oracle", "forecast")}
    for year in years:
        rows = {name: [] for name in columns}
        for k in AS_OF_K:
            seen = year.values[:k]
            rows["today, linear"].append(today_rule(seen, LINEAR, TARGET)[0])
            rows["today, pace weights"].append(today_rule(seen, PLAN, TARGET)[0])
            rows["oracle"].append(band(year.total / TARGET))
            started = time.perf_counter()
            f = cumulative(plan=PLAN, observed=seen, history=[year.history] if year.history else (), target=TARGET)
            columns["forecast"]["seconds"] += time.perf_counter() - started
            rows["forecast"].append(by_probability(f.probability))
            columns["forecast"]["p"].append((f.probability, year.met))
            columns["forecast"]["inside"].append(f.low <= year.total <= f.high)
        for name, verdicts in rows.items():
            columns[name]["verdicts"].append((verdicts, year))
            columns[name]["flag"].append((verdicts[AS_OF_K.index(FLAG_K)], year))
    return columns


def figures(column: dict) -> dict[str, float]:
    on = [year.met for verdicts, year in column["verdicts"] for v in verdicts if v == "on_track"]
    off = [year.met for verdicts, year in column["verdicts"] for v in verdicts if v == "off_track"]
    low = [v != "on_track" for v, year in column["flag"] if year.total < 0.95 * TARGET]
    triples = flaps = 0
    for verdicts, _ in column["verdicts"]:
        for a, b, c in zip(verdicts, verdicts[1:], verdicts[2:]):
            triples += 1
            flaps += a == c != b
    out = {
        "false on-track %": 100 * sum(not m for m in on) / max(1, len(on)),
        "false off-track %": 100 * sum(off) / max(1, len(off)),
        "flagged <95% by 31 Oct %": 100 * sum(low) / max(1, len(low)),
        "flapping %": 100 * flaps / max(1, triples),
        "on_track verdicts": len(on),
        "off_track verdicts": len(off),
    }
    if column["p"]:
        out["Brier"] = sum((p - m) ** 2 for p, m in column["p"]) / len(column["p"])
        out["80% interval holds the total %"] = 100 * sum(column["inside"]) / len(column["inside"])
        out["ms per forecast"] = 1000 * column["seconds"] / len(column["p"])
    return out


def reliability(pairs: list[tuple[float, bool]]) -> list[tuple[str, int, float, float]]:
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(10)]
    for p, m in pairs:
        bins[min(9, int(p * 10))].append((p, m))
    return [(f"{i / 10:.1f}-{(i + 1) / 10:.1f}", len(b), sum(p for p, _ in b) / len(b) if b else float("nan"),
             sum(m for _, m in b) / len(b) if b else float("nan")) for i, b in enumerate(bins)]


def xiaomi() -> list[tuple[str, str, str, float | None, float]]:
    rows = list(csv.DictReader(XIAOMI.open()))
    values = [float(r["value"]) for r in rows]
    known = [datetime.fromisoformat(r["known_since"]).replace(tzinfo=None) for r in rows]
    out = []
    for m in range(13):  # 5 Jan 2025 .. 5 Jan 2026
        as_of = datetime(2025 + m // 12, m % 12 + 1, 5)
        target = [t for since, t in XIAOMI_TARGETS if since <= as_of][-1]
        seen = [v for v, k in zip(values, known) if k <= as_of]
        if not seen:
            out.append((as_of.strftime("%d %b %Y"), "no_data", "no_data", None, target, None, None))
            continue
        f = cumulative(plan=LINEAR, observed=seen, target=target)
        today, projected = today_rule(seen, LINEAR, target)
        out.append((as_of.strftime("%d %b %Y"), by_probability(f.probability), today, f.probability, target,
                    f, projected))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--years", type=int, default=400)
    args = parser.parse_args()
    if args.years < 360:
        parser.error("--years must be at least 360")
    started = time.perf_counter()
    years = generate(args.seed, args.years)
    columns = judge(years)
    elapsed = time.perf_counter() - started
    table = {name: figures(col) for name, col in columns.items()}
    met = sum(y.met for y in years)
    print(f"seed {args.seed}: {len(years)} years ({met} met, {sum(y.history is not None for y in years)} with history),"
          f" {len(AS_OF_K)} as-of dates each; {elapsed:.1f} s")
    keys = list(table["forecast"])
    print(f"{'':26}" + "".join(f"{name:>22}" for name in table))
    for key in keys:
        cells = []
        for name in table:
            v = table[name].get(key)
            cells.append(f"{'':>22}" if v is None else f"{v:>22.3f}" if key in ("Brier", "ms per forecast") else
                         f"{v:>22.0f}" if "verdicts" in key else f"{v:>22.1f}")
        print(f"{key:26}" + "".join(cells))
    print("\nforecast reliability (probability decile: verdicts, mean predicted, observed frequency)")
    rel = reliability(columns["forecast"]["p"])
    for label, n, mean_p, freq in rel:
        print(f"  {label}: {n:5d}  {mean_p:6.3f}  {freq:6.3f}")
    print("\nXiaomi 2025 EV deliveries (linear plan, no history), as of the 5th with the data known then")
    print(f"  {'as of':12} {'target':>8} {'forecast':>10} {'p':>6} {'median [80%]':>26} {'today, linear':>14} {'P/G':>6}")
    series = xiaomi()
    for day, verdict, today, p, target, f, projected in series:
        ptxt = "" if p is None else f"{p:.3f}"
        band = "" if f is None else f"{f.median:,.0f} [{f.low:,.0f}, {f.high:,.0f}]"
        att = "" if projected is None else f"{100 * projected / target:.1f}%"
        print(f"  {day:12} {target:>8.0f} {verdict:>10} {ptxt:>6} {band:>26} {today:>14} {att:>6}")
    f = table["forecast"]
    big = [(label, n, mean_p, freq) for label, n, mean_p, freq in rel if n >= 50]
    after_q1 = [r[1] for r in series if datetime.strptime(r[0], "%d %b %Y") >= datetime(2025, 4, 5)]
    from_oct = [r[1] for r in series if datetime.strptime(r[0], "%d %b %Y") >= datetime(2025, 10, 5)]
    checks = [
        ("false on-track <= 10%", f["false on-track %"] <= 10),
        ("false off-track <= 10%", f["false off-track %"] <= 10),
        (">= 97% of years ending below 95% flagged by 31 October", f["flagged <95% by 31 Oct %"] >= 97),
        ("flapping <= 5%", f["flapping %"] <= 5),
        ("Brier <= 0.14", f["Brier"] <= 0.14),
        ("each decile with 50+ verdicts within 12 points", all(abs(m - q) <= 0.12 for _, _, m, q in big)),
        ("2025: no off_track from 5 April 2025", "off_track" not in after_q1),
        ("2025: on_track from 5 October 2025", all(v == "on_track" for v in from_oct)),
    ]
    print()
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
