"""What a benchmark run prints and saves: machine and versions, the table, geomeans, thread
scaling, memory, the JSON file and the optional bar chart of ratios."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
from typing import Any, Dict, Iterable, List

import numpy as np

from .cases import optional_torch

SCHEMA = "convcore-bench/1"


def machine_info(thread_counts: Iterable[int]) -> Dict[str, Any]:
    """CPU model and flags, ISA in use, cores and the thread counts of this run."""
    import convcore

    info = convcore.build_info()
    flags: List[str] = []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    break
    except OSError:
        pass
    from .runner import L3_BYTES
    return {
        "cpu": info["cpu"], "flags": flags, "isa": info["isa"],
        "isas_available": info["isas_available"], "isas_compiled": info["isas_compiled"],
        "cores": info["cores"], "threads": list(thread_counts), "openmp": info["openmp"],
        "compiler": info["compiler"], "l3_bytes": L3_BYTES, "platform": platform.platform(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def versions() -> Dict[str, str | None]:
    import convcore

    torch = optional_torch()
    return {"convcore": convcore.__version__, "numpy": np.__version__,
            "torch": torch.__version__ if torch is not None else None,
            "python": platform.python_version()}


def new_report(argv: List[str], settings: Dict[str, Any], machine: Dict[str, Any],
               peak: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": ["python", "-m", "convcore", "bench", *argv],
        "machine": machine, "versions": versions(), "peak": peak, "settings": settings,
        "notes": [], "skipped": [], "cases": [], "geomean": {}, "scaling": [], "memory": [],
    }


# --------------------------------------------------------------------------------------------
# Derived figures
# --------------------------------------------------------------------------------------------

def geomean(values: Iterable[float]) -> float | None:
    vals = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    return float(math.exp(sum(math.log(v) for v in vals) / len(vals))) if vals else None


def summarise(report: Dict[str, Any]) -> None:
    """Fill in % of peak per case, the geometric means per op and thread count, and the thread
    scaling per case."""
    for rec in report["cases"]:
        rec["pct_peak"] = percent_of_peak(rec, report["peak"])
    by_op: Dict[str, Dict[str, List[float]]] = {}
    for rec in report["cases"]:
        by_op.setdefault(rec["op"], {}).setdefault(str(rec["threads"]), []).append(rec["ratio"])
    report["geomean"] = {op: {t: geomean(r) for t, r in per_t.items()}
                         for op, per_t in by_op.items()}

    counts = sorted({rec["threads"] for rec in report["cases"]})
    report["scaling"] = []
    if len(counts) > 1:
        lo, hi = counts[0], counts[-1]
        by_id = {(rec["id"], rec["threads"]): rec for rec in report["cases"]}
        for rec in report["cases"]:
            if rec["threads"] != lo or (rec["id"], hi) not in by_id:
                continue
            other = by_id[(rec["id"], hi)]
            row = {"id": rec["id"], "from": lo, "to": hi}
            for impl in rec["impls"]:
                if impl in other["impls"]:
                    row[impl] = (rec["impls"][impl]["median_ms"]
                                 / other["impls"][impl]["median_ms"])
            report["scaling"].append(row)


def percent_of_peak(rec: Dict[str, Any], peak: Dict[str, Any], impl: str = "convcore"):
    if rec["unit"] != "GF/s":
        return None
    top = peak["gflops"].get(str(rec["threads"]))
    return 100.0 * rec["impls"][impl]["rate"] / top if top else None


# --------------------------------------------------------------------------------------------
# Text output
# --------------------------------------------------------------------------------------------

def header(report: Dict[str, Any]) -> str:
    m, v, pk = report["machine"], report["versions"], report["peak"]
    peaks = ", ".join(f"{t} thread{'s' if t != '1' else ''} {g:.1f} GF/s"
                      for t, g in pk["gflops"].items())
    lines = [
        f"convcore {v['convcore']} bench | {m['cpu']} | {m['cores']} cores | ISA {m['isa']} "
        f"| numpy {v['numpy']} | torch {v['torch'] or 'not installed'}",
        f"measured fp32 FMA peak ({pk['isa']}): {peaks}",
        f"compare: {report['settings']['compare'] or 'none'} | rounds "
        f"{report['settings']['repeat']}"
        f" (interleaved, medians; spread = IQR as % of median) | ratio = other time / convcore "
        "time (> 1: convcore faster)",
    ]
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def _fmt(value: float | None, spec: str, width: int) -> str:
    return f"{value:{spec}}".rjust(width) if value is not None else "-".rjust(width)


def table(report: Dict[str, Any]) -> str:
    """One row per case and thread count, then a geomean line per op."""
    compare = report["settings"]["compare"]
    cmp_name = compare or "-"
    head = (f"{'op':<9} {'case':<42} {'thr':>3} {'convcore ms':>11} {'±%':>4} {'rate':>13} "
            f"{'%peak':>5} {cmp_name + ' ms':>12} {'rate':>13} {'ratio':>6}  other")
    lines = [head, "-" * len(head)]
    last_op = None
    for rec in report["cases"]:
        if last_op is not None and rec["op"] != last_op:
            lines += _geomean_lines(report, last_op)
        last_op = rec["op"]
        ours = rec["impls"]["convcore"]
        spread = 100 * (ours["q3_ms"] - ours["q1_ms"]) / ours["median_ms"]
        other = rec["impls"].get(rec["compare"] or "", None)
        label = f"{rec['name']} {rec['shape']} {rec['variant']}"
        if rec["cache"] != "hot":
            label += f" {rec['cache']}"
        extras = [f"{k}: x{v:.2f} time" for k, v in rec["baselines"].items()]
        if rec["note"]:
            extras.append(rec["note"])
        unit = rec["unit"]
        lines.append(
            f"{rec['op']:<9} {label:<42} {rec['threads']:>3} {ours['median_ms']:>11.3f} "
            f"{spread:>4.0f} {_fmt(ours['rate'], '.1f', 7)} {unit:<5} "
            f"{_fmt(percent_of_peak(rec, report['peak']), '.0f', 5)} "
            f"{_fmt(other and other['median_ms'], '.3f', 12)} "
            f"{_fmt(other and other['rate'], '.1f', 7)} {unit if other else '':<5} "
            f"{_fmt(rec['ratio'], '.2f', 6)}  {'; '.join(extras)}")
    if last_op is not None:
        lines += _geomean_lines(report, last_op)
    return "\n".join(lines)


def _geomean_lines(report: Dict[str, Any], op: str) -> List[str]:
    out = []
    for threads, value in report["geomean"].get(op, {}).items():
        n = sum(1 for r in report["cases"] if r["op"] == op and str(r["threads"]) == threads
                and r["ratio"] is not None)
        if value is not None:
            out.append(f"{op:<9} geomean ratio vs {report['settings']['compare']} over {n} "
                       f"cases, {threads} thread(s): {value:.2f}")
    return out


def scaling_table(report: Dict[str, Any]) -> str:
    if not report["scaling"]:
        return ""
    impls = [i for i in ("convcore", "torch", "reference") if any(i in r for r in
                                                                     report["scaling"])]
    first = report["scaling"][0]
    lines = [f"thread scaling (time at {first['from']} / time at {first['to']} threads)",
             f"{'case':<48}" + "".join(f"{i:>10}" for i in impls)]
    for row in report["scaling"]:
        lines.append(f"{row['id']:<48}" + "".join(_fmt(row.get(i), '.2f', 10) for i in impls))
    return "\n".join(lines)


def memory_table(report: Dict[str, Any]) -> str:
    if not report["memory"]:
        return ""
    impls = sorted({k for row in report["memory"] for k in row if k not in ("shape", "threads")})
    lines = ["peak extra resident memory of one call, MiB (RSS high-water growth minus the "
             "results; one fresh process per implementation, free heap trimmed before each call)",
             f"{'shape':<12}" + "".join(f"{i + ' fwd':>16}{i + ' bwd':>16}" for i in impls)]
    for row in report["memory"]:
        cells = ""
        for i in impls:
            m = row.get(i)
            cells += (_fmt(m and m["fwd"] / 2**20, ".2f", 16)
                      + _fmt(m and m["bwd"] / 2**20, ".2f", 16))
        lines.append(f"{row['shape']:<12}{cells}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

def write_json(report: Dict[str, Any], path: str) -> None:
    """Write the report atomically (temp file, then rename)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1, allow_nan=True)
    os.replace(tmp, path)


def plot_ratios(report: Dict[str, Any], path: str) -> bool:
    """Bar chart of the ratios (one bar per case and thread count). False without matplotlib."""
    try:
        import matplotlib
        import matplotlib.ticker
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [r for r in report["cases"] if r["ratio"] is not None]
    if not rows:
        return False
    labels = [f"{r['id']} t{r['threads']}" for r in rows]
    ratios = [r["ratio"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.22 * len(rows) + 1.5))
    colors = ["tab:green" if v >= 1 else "tab:red" for v in ratios]
    ax.barh(range(len(rows)), ratios, color=colors)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel(f"{report['settings']['compare']} time / convcore time (> 1: convcore faster)")
    ax.set_title(f"convcore vs {report['settings']['compare']} on {report['machine']['cpu']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
