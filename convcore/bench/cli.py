"""``python -m convcore bench``: run the benchmark cases, print the table, write JSON and a plot.

    python -m convcore bench [--op conv|pool|norm|pointwise|train|all|OP,OP] [--shapes NAME,...]
        [--threads 1,2] [--json PATH] [--compare torch|reference|none] [--plot PATH]
        [--repeat N] [--quick] [--no-memory]

Without torch the comparison falls back to convcore.reference (and says so); cases whose
reference is too slow are then checked against it once but not timed against it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from typing import Any, Dict, List, Sequence

from . import cases as cases_mod
from . import report as rep
from .memory import conv_extra_memory
from .peak import peak_report
from .runner import BenchMismatch, Settings, ThreadScope, progress, run_case
from .train import convcore_nn


def _load_note(cores: int) -> str | None:
    """A warning when other processes keep the cores busy (1-minute load average)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    if load > 0.5 * cores:
        return (f"load average {load:.1f} on {cores} cores before the run: other processes "
                "compete for the cores; multi-threaded timings (OpenMP barriers wait for "
                "descheduled threads) are the least reliable")
    return None


def _memory_shapes(shapes: Sequence[str] | None) -> List[str]:
    if shapes is None:
        return list(cases_mod.DEFAULT_SHAPES["conv"])
    return _shapes_for("conv", shapes) or []


# Share of the time budget each memory probe process may take at most.
_PROBE_SHARE = 0.15


def _shapes_for(op: str, shapes: Sequence[str] | None) -> List[str] | None:
    if not shapes:
        return None
    return [s for s in shapes if s in cases_mod.known_shapes(op)]


def run_benchmarks(ops: Sequence[str], shapes: Sequence[str] | None = None,
                   threads: Sequence[int] | None = None, compare: str = "torch",
                   repeat: int | None = None, quick: bool = False, memory: bool = True,
                   argv: Sequence[str] = ()) -> Dict[str, Any]:
    """Run the cases of ``ops`` and return the report (the JSON document).

    Every case is checked before it is timed; all cases run, then BenchMismatch is raised (with
    ``.report`` set) if any result was wrong.
    """
    import convcore

    start = time.perf_counter()
    torch = cases_mod.optional_torch()
    notes: List[str] = []
    if compare == "torch" and torch is None:
        compare = "reference"
        notes.append("torch is not importable: comparing with convcore.reference instead")
    compare_impl = None if compare == "none" else compare
    oracle = compare_impl or ("torch" if torch is not None else "reference")
    threads = list(threads or [convcore.get_num_threads()])
    settings = Settings.quick(repeat) if quick else Settings(repeat=repeat or 15)
    run_end = start + settings.budget_s
    if shapes:
        unknown = [s for s in shapes if not any(s in cases_mod.known_shapes(op) for op in ops)]
        if unknown:
            known = {op: cases_mod.known_shapes(op) for op in ops}
            raise ValueError(f"unknown shape(s) {unknown} for op(s) {list(ops)}; known: {known}")

    progress(f"bench: measuring the FMA peak on {sorted({1, *threads})} thread(s)...")
    report = rep.new_report(list(argv), {
        "ops": list(ops), "shapes": list(shapes or []), "threads": threads, "compare": compare_impl,
        "oracle": oracle, "repeat": settings.repeat, "warmup": settings.warmup,
        "min_sample_s": settings.min_sample_s, "max_case_s": settings.max_case_s, "quick": quick,
    }, rep.machine_info(threads), peak_report(threads, quick))
    notes += report["peak"]["notes"]
    load = _load_note(report["machine"]["cores"])
    if load:
        notes.append(load)
    report["notes"] += notes
    for note in notes:
        progress(f"bench: note: {note}")

    selected = []
    for op in ops:
        names = _shapes_for(op, shapes)
        if shapes and not names:
            continue
        if op == "train" and convcore_nn() is None:
            reason = "convcore.nn is not in this build (issue 5): the train op is skipped"
            report["skipped"].append({"op": op, "reason": reason})
            progress(f"bench: {reason}")
            continue
        selected += cases_mod.select_cases(op, names)

    if memory and "conv" in ops and _memory_shapes(shapes):
        # First, so that the cases' share of the budget absorbs a slow machine, not the probes.
        impls = ["convcore"] + (["torch"] if compare_impl == "torch" else [])
        report["memory"] = _memory_rows(_memory_shapes(shapes), impls, max(threads),
                                        max(30.0, _PROBE_SHARE * settings.budget_s),
                                        report["notes"])

    failures = []
    total, done = len(selected) * len(threads), 0
    for case in selected:
        case_oracle = oracle if oracle in case.builders else "torch"
        timed = compare_impl if compare_impl in case.builders else None
        if timed == "reference" and not case.reference_ok:
            timed = None
            report["notes"].append(f"{case.id}: reference too slow to time, checked only")
        for n in threads:
            done += 1
            label = f"[{done}/{total}] {case.id} threads={n}"
            # Share what is left of the time budget among the cases left.
            share = (run_end - time.perf_counter()) / (total - done + 1)
            case_settings = replace(settings, max_case_s=max(0.5, min(settings.max_case_s, share)))
            try:
                with ThreadScope(n, blas=n if timed == "reference" else 1):
                    record = run_case(case, n, case_oracle, timed, case_settings)
            except BenchMismatch as err:
                progress(f"bench: {label}: MISMATCH: {err}")
                failures.append(str(err))
                continue
            report["cases"].append(record)
            ours = record["impls"]["convcore"]["median_ms"]
            tail = (f", {timed} {record['impls'][timed]['median_ms']:.3f} ms, "
                    f"ratio {record['ratio']:.2f}" if timed else "")
            progress(f"bench: {label}: convcore {ours:.3f} ms{tail}")

    rep.summarise(report)
    report["failures"] = failures
    if failures:
        err = BenchMismatch(f"{len(failures)} case(s) gave wrong results:\n" + "\n".join(failures))
        err.report = report
        raise err
    return report


def _memory_rows(shapes: Sequence[str], impls: Sequence[str], threads: int, seconds: float,
                 notes: List[str]) -> List[Dict[str, Any]]:
    """Peak extra memory of conv2d / conv2d_backward per shape and implementation; one probe
    process per implementation, given ``seconds`` (shapes it can't reach are None)."""
    per_impl = {}
    for impl in impls:
        progress(f"bench: memory of conv2d on {len(shapes)} shape(s), {impl}, fresh process...")
        per_impl[impl] = conv_extra_memory([cases_mod.conv_shape(s) for s in shapes], impl,
                                           threads, timeout=seconds)
        missing = [s for s, v in per_impl[impl].items() if v is None]
        if missing and sys.platform.startswith("linux"):
            notes.append(f"memory probe ({impl}) ran out of its {seconds:.0f} s: no figure for "
                         + ", ".join(missing))
    return [{"shape": s, "threads": threads, **{i: per_impl[i][s] for i in impls}}
            for s in shapes]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m convcore bench",
        description="Interleaved A/B benchmark of convcore's ops against torch or the NumPy "
                    "reference: ms, GF/s or GB/s, % of the measured FMA peak, ratios.",
        epilog="shapes: " + "; ".join(f"{op}: {', '.join(cases_mod.known_shapes(op))}"
                                      for op in cases_mod.OPS))
    p.add_argument("--op", default="all", type=_op_list, metavar="OP[,OP...]",
                   help=f"{' | '.join(cases_mod.OPS)} | all (default), or a comma-separated list")
    p.add_argument("--shapes", default=None,
                   help="comma-separated shape names (default: every shape of the op); "
                        "'tiny' is a seconds-long smoke test")
    p.add_argument("--threads", default=None,
                   help="comma-separated thread counts, e.g. 1,2 (default: convcore's)")
    p.add_argument("--json", default=None, metavar="PATH", help="write every sample as JSON")
    p.add_argument("--compare", default="torch", choices=["torch", "reference", "none"])
    p.add_argument("--plot", default=None, metavar="PATH",
                   help="bar chart of the ratios (needs matplotlib)")
    p.add_argument("--repeat", type=int, default=None,
                   help="timed rounds per case (default 15, 5 with --quick)")
    p.add_argument("--quick", action="store_true", help="CI-sized run: fewer, shorter samples")
    p.add_argument("--no-memory", action="store_true",
                   help="skip the per-shape conv memory probe (fresh processes)")
    return p


def _op_list(text: str) -> List[str]:
    ops = [op.strip() for op in text.split(",") if op.strip()]
    if ops == ["all"]:
        return list(cases_mod.OPS)
    unknown = [op for op in ops if op not in cases_mod.OPS]
    if unknown or not ops:
        raise argparse.ArgumentTypeError(
            f"unknown op(s) {unknown or text!r}; expected {', '.join(cases_mod.OPS)} or all")
    return ops


def _int_list(text: str | None, name: str) -> List[int] | None:
    if text is None:
        return None
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"--{name}: expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise SystemExit(f"--{name}: expected positive integers, got {text!r}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m convcore bench``; returns the exit status (1 on a mismatch)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    ops = args.op if isinstance(args.op, list) else _op_list(args.op)
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()] if args.shapes else None
    if args.repeat is not None and args.repeat < 1:
        raise SystemExit("--repeat: expected a positive integer")
    start = time.perf_counter()
    status = 0
    try:
        report = run_benchmarks(ops, shapes, _int_list(args.threads, "threads"), args.compare,
                                args.repeat, args.quick, not args.no_memory, argv)
    except ValueError as err:
        raise SystemExit(f"convcore bench: {err}") from None
    except BenchMismatch as err:
        report, status = err.report, 1
    report["elapsed_s"] = time.perf_counter() - start

    print(rep.header(report))
    print()
    print(rep.table(report))
    for extra in (rep.scaling_table(report), rep.memory_table(report)):
        if extra:
            print()
            print(extra)
    for skipped in report["skipped"]:
        print(f"skipped {skipped['op']}: {skipped['reason']}")
    print(f"\n{len(report['cases'])} cases in {report['elapsed_s']:.0f} s")
    if args.json:
        rep.write_json(report, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        if rep.plot_ratios(report, args.plot):
            print(f"wrote {args.plot}")
        else:
            print("--plot: nothing plotted (matplotlib missing or no ratios)", file=sys.stderr)
    if status:
        print("\nRESULT MISMATCH (convcore's output differs from the oracle's):", file=sys.stderr)
        for failure in report["failures"]:
            print(f"  {failure}", file=sys.stderr)
    return status
