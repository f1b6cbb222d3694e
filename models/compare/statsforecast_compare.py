#!/usr/bin/env python3
"""Compare stockflow's forecasters with Nixtla statsforecast on the same series.

Runs statsforecast's AutoETS and CrostonOptimized on

  * M4 Weekly (359 series), scored on the official test set (13 weeks):
    sMAPE, MASE (m = 1) and OWA relative to Naive2, computed exactly as
    stockflow computes them (models/metric);
  * tiny M5 (280 series), with the last 28 days held out: mean RMSSE (in-sample
    from the first non-zero day, series with a constant in-sample skipped);

and prints the accuracy and the fit time next to the figures of
`go run ./cmd/stockflow forecast eval --dataset ... --json` (stockflow's
automatic ETS, Croston with alpha 0.1, optimised Croston and `auto`), which
the script runs from the repository root (or reads from --stockflow-json).

Both sides read the same CSV files: --dataset-dir, else $STOCKFLOW_DATASET_DIR,
else ../shared/data beside the repository (where `forecast eval` also looks
before it downloads the data into its cache).

It installs nothing. It needs:

    pip install statsforecast pandas

(`make compare-statsforecast` creates a virtual environment under
~/.cache/stockflow and runs this script in it.)

Fit times are wall times on all cores (statsforecast n_jobs = CPU count,
stockflow GOMAXPROCS), after a warm-up that compiles statsforecast's numba
code (reported separately), and include producing the forecasts.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

INSTALL = "pip install statsforecast pandas"

REPO = Path(__file__).resolve().parents[2]

M4_HORIZON = 13
M5_HORIZON = 28


def need_packages():
    try:
        import pandas  # noqa: F401
        import statsforecast  # noqa: F401
    except ImportError as e:
        sys.stderr.write(f"statsforecast_compare: {e}\ninstall the packages first:\n    {INSTALL}\n")
        sys.exit(2)


def data_dir(explicit: str | None) -> Path:
    for d in (explicit, os.environ.get("STOCKFLOW_DATASET_DIR"), str(REPO / ".." / "shared" / "data")):
        if d:
            return Path(d).resolve()
    raise SystemExit("no data directory")


def read_wide(path: Path) -> list[tuple[str, list[float]]]:
    """Reads an M4 wide CSV: id, then values right-padded with empty cells."""
    out = []
    with path.open(newline="") as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            vals = [c for c in row[1:] if c not in ("", "NA")]
            out.append((row[0], [float(v) for v in vals]))
    return out


def load_m4_weekly(root: Path):
    train = read_wide(root / "m4_weekly" / "Weekly-train.csv")
    test = read_wide(root / "m4_weekly" / "Weekly-test.csv")
    assert [i for i, _ in train] == [i for i, _ in test], "train and test ids differ"
    return [(i, y, t) for (i, y), (_, t) in zip(train, test)]


def load_m5_tiny(root: Path):
    out = []
    with (root / "m5_tiny" / "sales_wide.csv").open(newline="") as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            y = [float(v) for v in row[6:]]
            out.append((row[0], y[:-M5_HORIZON], y[-M5_HORIZON:]))
    return out


# Metrics, as models/metric defines them.

def smape(y, f):
    s = 0.0
    for a, b in zip(y, f):
        d = abs(a) + abs(b)
        if d:
            s += 200 * abs(a - b) / d
    return s / len(y)


def mase(insample, y, f, m=1):
    scale = sum(abs(insample[t] - insample[t - m]) for t in range(m, len(insample))) / (len(insample) - m)
    return sum(abs(a - b) for a, b in zip(y, f)) / len(y) / scale


def rmsse(insample, y, f):
    start = 0
    while start < len(insample) and insample[start] == 0:
        start += 1
    x = insample[start:]
    if len(x) < 2:
        return None
    den = sum((x[t] - x[t - 1]) ** 2 for t in range(1, len(x))) / (len(x) - 1)
    if den == 0:
        return None
    num = sum((a - b) ** 2 for a, b in zip(y, f)) / len(y)
    return math.sqrt(num / den)


def coverage(y, lo, hi):
    return sum(1 for a, l, h in zip(y, lo, hi) if l <= a <= h) / len(y)


def to_frame(series):
    import pandas as pd

    ids, ds, ys = [], [], []
    for sid, y, _ in series:
        ids.extend([sid] * len(y))
        ds.extend(range(1, len(y) + 1))
        ys.extend(y)
    return pd.DataFrame({"unique_id": ids, "ds": ds, "y": ys})


def run_statsforecast(series, horizon, season, n_jobs):
    """Fits AutoETS (with 90% intervals) and CrostonOptimized; returns per
    model the mean forecasts by id, the 90% bounds and the seconds."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, CrostonOptimized, Naive

    df = to_frame(series)
    out = {}
    # Warm-up: compile the numba code on a few series (not timed).
    warm = to_frame(series[:4])
    t0 = time.perf_counter()
    for model, level in ((AutoETS(season_length=season), [90]), (CrostonOptimized(), None)):
        StatsForecast(models=[model], freq=1, n_jobs=1, fallback_model=Naive()).forecast(df=warm, h=horizon, level=level)
    warmup = time.perf_counter() - t0
    for name, model, level in (("AutoETS", AutoETS(season_length=season), [90]), ("CrostonOptimized", CrostonOptimized(), None)):
        sf = StatsForecast(models=[model], freq=1, n_jobs=n_jobs, fallback_model=Naive())
        t0 = time.perf_counter()
        fc = sf.forecast(df=df, h=horizon, level=level)
        secs = time.perf_counter() - t0
        if "unique_id" not in fc.columns:
            fc = fc.reset_index()
        by_id = {}
        for sid, g in fc.groupby("unique_id", sort=False):
            g = g.sort_values("ds")
            lo = g[f"{name}-lo-90"].tolist() if level else None
            hi = g[f"{name}-hi-90"].tolist() if level else None
            by_id[sid] = (g[name].tolist(), lo, hi)
        out[name] = (by_id, secs)
    return out, warmup


def score_m4(series, fcs):
    n2_s = n2_m = 0.0
    for _, y, t in series:
        f = [y[-1]] * len(t)  # Naive2 = naive at m = 1 (M4 Weekly)
        n2_s += smape(t, f)
        n2_m += mase(y, t, f)
    n = len(series)
    n2_s, n2_m = n2_s / n, n2_m / n
    rows = {}
    for name, (by_id, secs) in fcs.items():
        s = m = cov = 0.0
        has_cov = True
        for sid, y, t in series:
            mean, lo, hi = by_id[sid]
            s += smape(t, mean)
            m += mase(y, t, mean)
            if lo is None:
                has_cov = False
            else:
                cov += coverage(t, lo, hi)
        s, m = s / n, m / n
        rows[name] = {"smape": s, "mase": m, "owa": (s / n2_s + m / n2_m) / 2,
                      "rmsse": None, "coverage_90": cov / n if has_cov else None, "fit_seconds": secs}
    return rows, {"smape": n2_s, "mase": n2_m}


def score_m5(series, fcs):
    rows = {}
    for name, (by_id, secs) in fcs.items():
        tot, k, cov = 0.0, 0, 0.0
        has_cov = True
        for sid, y, t in series:
            mean, lo, hi = by_id[sid]
            v = rmsse(y, t, mean)
            if v is not None:
                tot += v
                k += 1
            if lo is None:
                has_cov = False
            else:
                cov += coverage(t, lo, hi)
        rows[name] = {"smape": None, "mase": None, "owa": None, "rmsse": tot / k,
                      "coverage_90": cov / len(series) if has_cov else None, "fit_seconds": secs}
    return rows


def stockflow_eval(dataset, methods, root, given):
    if given:
        return given[dataset]
    cmd = ["go", "run", "./cmd/stockflow", "forecast", "eval", "--dataset", dataset,
           "--dataset-dir", str(root), "--methods", methods, "--json"]
    sys.stderr.write(f"statsforecast_compare: {' '.join(cmd)}\n")
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"stockflow forecast eval --dataset {dataset} failed")
    return json.loads(p.stdout)


def fmt(v, spec=".3f"):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset-dir", help="data directory (default $STOCKFLOW_DATASET_DIR, else ../shared/data)")
    ap.add_argument("--datasets", default="m4-weekly,m5-tiny", help="comma-separated: m4-weekly, m5-tiny")
    ap.add_argument("--stockflow-json", help="read stockflow's `forecast eval --json` output from this file "
                                             "(a JSON object by data set) instead of running it")
    ap.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1, help="statsforecast processes (default: CPU count)")
    ap.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    args = ap.parse_args()
    need_packages()
    import statsforecast

    root = data_dir(args.dataset_dir)
    given = json.loads(Path(args.stockflow_json).read_text()) if args.stockflow_json else None
    report = {"statsforecast_version": statsforecast.__version__, "n_jobs": args.n_jobs, "datasets": []}
    for dataset in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        if dataset == "m4-weekly":
            series = load_m4_weekly(root)
            fcs, warm = run_statsforecast(series, M4_HORIZON, 1, args.n_jobs)
            sf_rows, naive2 = score_m4(series, fcs)
            methods = "naive2,ets,croston,croston-opt,auto"
        elif dataset == "m5-tiny":
            series = load_m5_tiny(root)
            fcs, warm = run_statsforecast(series, M5_HORIZON, 7, args.n_jobs)
            sf_rows, naive2 = score_m5(series, fcs), None
            methods = "snaive,ets,croston,croston-opt,tsb,auto"
        else:
            raise SystemExit(f"unknown data set {dataset!r} (have m4-weekly, m5-tiny)")
        sfl = stockflow_eval(dataset, methods, root, given)
        rows = [{"tool": "statsforecast", "method": k, **v} for k, v in sf_rows.items()]
        for m in sfl["methods"]:
            rows.append({"tool": "stockflow", "method": m["method"], "smape": m["smape"], "mase": m["mase"],
                         "owa": m["owa"], "rmsse": m["rmsse"], "coverage_90": m["coverage_90"],
                         "fit_seconds": m["fit_seconds"]})
        entry = {"dataset": dataset, "series": len(series), "statsforecast_warmup_seconds": warm, "rows": rows}
        if naive2:
            entry["naive2_python"] = naive2
        report["datasets"].append(entry)

    if args.json:
        json.dump(report, sys.stdout)
        sys.stdout.write("\n")
        return
    print(f"statsforecast {report['statsforecast_version']}, n_jobs {report['n_jobs']}; stockflow on GOMAXPROCS")
    for e in report["datasets"]:
        print(f"\n{e['dataset']}: {e['series']} series (statsforecast numba warm-up {e['statsforecast_warmup_seconds']:.1f} s, not counted)")
        if "naive2_python" in e:
            n = e["naive2_python"]
            print(f"  Naive2 recomputed here: sMAPE {n['smape']:.3f}, MASE {n['mase']:.3f} (the OWA baseline)")
        print(f"  {'tool':<14}{'method':<18}{'sMAPE':>8}{'MASE':>8}{'OWA':>8}{'RMSSE':>8}{'cov 90':>8}{'fit s':>9}")
        for r in e["rows"]:
            print(f"  {r['tool']:<14}{r['method']:<18}{fmt(r['smape']):>8}{fmt(r['mase']):>8}{fmt(r['owa']):>8}"
                  f"{fmt(r['rmsse']):>8}{fmt(r['coverage_90']):>8}{fmt(r['fit_seconds'], '.2f'):>9}")


if __name__ == "__main__":
    main()
