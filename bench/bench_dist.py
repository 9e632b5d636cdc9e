"""Data-parallel training throughput: 1 rank x 2 threads vs 2 ranks x 1 thread on this machine.

    python bench/bench_dist.py [--models digits-cnn lenet-28 cifar-vgg] [--rounds 3]

For each model (issue 5's bench models, float32, Adam, global batch 64), launches
``mpiexec -n 1`` (OMP_NUM_THREADS=2, batch 64) and ``mpiexec -n 2`` (OMP_NUM_THREADS=1,
batch 32 per rank) alternately, A B A B ..., and prints the medians: images/s, step time,
the Allreduce time per step as seen inside the step (it includes waiting for the slower
rank) and the bare Allreduce of the same buffer timed after a barrier, with its share of
the step; then the scaling model's tables for the measured 1-rank step times.
``--scaling-only`` prints those tables for torch's step times (issue 5) without running
anything. Not a test; needs the ``dist`` extra (mpi4py, mpich). On a machine shared with
other jobs, run it with ``OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1``: spinning idle
threads otherwise dominate the 2-thread figures (docs/distributed.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GLOBAL_BATCH = 64


def _vgg_layers() -> list:
    """3 stages of 2 x [conv3x3 + BN + ReLU] with 32/64/128 channels, a max pool after each."""
    layers = []
    for c_in, c_out in ((3, 32), (32, 64), (64, 128)):
        for c in (c_in, c_out):
            layers += [("conv", c, c_out, 1), ("bn", c_out), ("relu",)]
        layers.append(("pool",))
    return layers + [("gap",), ("flatten",), ("linear", 128, 10)]


# name -> (input (C, H, W), layers), as issue 5 defines them (the same as convcore.bench.train)
MODELS = {
    "digits-cnn": ((1, 8, 8), [("conv", 1, 16, 1), ("bn", 16), ("relu",), ("pool",),
                               ("conv", 16, 32, 1), ("bn", 32), ("relu",), ("pool",),
                               ("flatten",), ("dropout", 0.25), ("linear", 128, 10)]),
    "lenet-28": ((1, 28, 28), [("conv5", 1, 32, 2), ("bn", 32), ("relu",), ("pool",),
                               ("conv5", 32, 64, 0), ("bn", 64), ("relu",), ("pool",),
                               ("flatten",), ("linear", 1600, 128), ("relu",),
                               ("dropout", 0.5), ("linear", 128, 10)]),
    "cifar-vgg": ((3, 32, 32), _vgg_layers()),
}


def build(name: str, seed: int = 0):
    import convcore.nn as nn

    rng = np.random.default_rng(seed)
    layers = []
    for kind, *args in MODELS[name][1]:
        if kind in ("conv", "conv5"):
            c_in, c_out, pad = args
            layers.append(nn.Conv2d(c_in, c_out, 3 if kind == "conv" else 5, padding=pad, rng=rng))
        elif kind == "bn":
            layers.append(nn.BatchNorm2d(args[0]))
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind == "pool":
            layers.append(nn.MaxPool2d(2))
        elif kind == "gap":
            layers.append(nn.GlobalAvgPool2d())
        elif kind == "flatten":
            layers.append(nn.Flatten())
        elif kind == "dropout":
            layers.append(nn.Dropout(args[0], rng=rng))
        elif kind == "linear":
            layers.append(nn.Linear(*args, rng=rng))
    return nn.Sequential(*layers)


def worker(name: str, steps: int, warmup: int) -> None:
    """One rank: time ``steps`` training steps of ``name``; rank 0 prints a RESULT line."""
    import convcore
    import convcore.nn as nn
    from convcore import distributed as dist

    comm = dist.init()
    ranks, rank = comm.Get_size(), comm.Get_rank()
    batch = GLOBAL_BATCH // ranks
    model = dist.DataParallel(build(name))
    opt = convcore.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(rank)
    X = rng.standard_normal((batch,) + MODELS[name][0]).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def step():
        opt.zero_grad()
        loss_fn(model(X), y)
        model.backward(loss_fn.backward())
        opt.step()

    for _ in range(warmup):
        step()
    averager = model.averager
    averager.seconds = 0.0
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = dist.allreduce_max(np.array([time.perf_counter() - start]))[0]
    in_step = dist.allreduce_sum(np.array([averager.seconds / steps]))[0] / ranks
    buffer = averager._buckets[0].buffer
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(20):
        dist.allreduce_sum(buffer)
    bare = dist.allreduce_max(np.array([(time.perf_counter() - start) / 20]))[0]
    if rank == 0:
        threads = getattr(convcore, "get_num_threads", lambda: None)()
        print("RESULT " + json.dumps({
            "model": name, "ranks": ranks, "threads": threads, "step_s": elapsed / steps,
            "images_per_s": GLOBAL_BATCH * steps / elapsed, "allreduce_in_step_s": in_step,
            "allreduce_bare_s": bare if ranks > 1 else 0.0, "bytes": int(buffer.nbytes),
            "parameters": sum(p.size for p in model.parameters()),
        }), flush=True)


def launch(name: str, ranks: int, steps: int, warmup: int) -> dict:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    env = dict(os.environ, OMP_NUM_THREADS=str(2 // ranks), PYTHONPATH=str(ROOT))
    cmd = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(ranks), sys.executable,
           __file__, "--worker", name, "--steps", str(steps), "--warmup", str(warmup)]
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[-1][len("RESULT "):])


def ring_allreduce_seconds(nbytes: float, ranks: int, bandwidth: float, latency: float) -> float:
    """Ring allreduce: 2(p-1) steps, each moving nbytes/p per rank and paying one latency."""
    return 2 * (ranks - 1) / ranks * nbytes / bandwidth + 2 * (ranks - 1) * latency


def scaling_table(compute_s: dict, parameters: dict, link: tuple, ranks=(8, 64, 512)) -> str:
    """Markdown: per model, allreduce bytes (parameters x 4), compute per step and, for the
    link ``(label, bytes/s, latency s)`` and each rank count, the ring allreduce time and the
    efficiency compute / (compute + allreduce) (the allreduce follows the backward: no
    overlap)."""
    label, bandwidth, latency = link
    head = ["model", "parameters", "allreduce MB", "compute ms"]
    head += [f"p={p}: allreduce ms, efficiency" for p in ranks]
    lines = [f"{label}:", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, t in compute_s.items():
        nbytes = 4 * parameters[name]
        cells = [name, f"{parameters[name]:,}", f"{nbytes / 1e6:.3f}", f"{1e3 * t:.1f}"]
        for p in ranks:
            comm = ring_allreduce_seconds(nbytes, p, bandwidth, latency)
            cells.append(f"{1e3 * comm:.2f}, {100 * t / (t + comm):.0f} %")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# torch's training step (batch 64, Adam) on a Zen 4 machine, from issue 5: the speed that
# convcore's kernels aim to beat, so the compute time the scaling model should assume.
TORCH_STEP_S = {"digits-cnn": 1.87e-3, "lenet-28": 32.6e-3, "cifar-vgg": 118.8e-3}

LINKS = [("10 GbE (1.25 GB/s, 10 us)", 1.25e9, 10e-6),
         ("100 Gb/s IB (12.5 GB/s, 2 us)", 12.5e9, 2e-6)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="timed steps per launch")
    parser.add_argument("--worker", metavar="MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", metavar="PATH", help="also write the medians as JSON")
    parser.add_argument("--scaling-only", action="store_true",
                        help="print the scaling tables for torch's step times (no MPI needed)")
    args = parser.parse_args()
    if args.scaling_only:
        parameters = {n: sum(p.size for p in build(n).parameters()) for n in TORCH_STEP_S}
        for link in LINKS:
            print(scaling_table(TORCH_STEP_S, parameters, link) + "\n")
        return
    if args.worker:
        worker(args.worker, args.steps or 10, args.warmup)
        return
    default_steps = {"digits-cnn": 40, "lenet-28": 10, "cifar-vgg": 4}
    rows = []
    print(f"{'model':11} {'ranks x thr':>11} {'images/s':>9} {'step ms':>8} "
          f"{'allreduce ms (in step)':>22} {'bare ms':>8} {'share':>6} {'bytes':>9}")
    for name in args.models:
        steps = args.steps or default_steps[name]
        runs = {1: [], 2: []}
        for _ in range(args.rounds):
            for ranks in (1, 2):
                runs[ranks].append(launch(name, ranks, steps, args.warmup))
        for ranks, results in runs.items():
            med = {k: statistics.median(r[k] for r in results) for k in
                   ("images_per_s", "step_s", "allreduce_in_step_s", "allreduce_bare_s")}
            med.update(model=name, ranks=ranks, threads=2 // ranks, bytes=results[0]["bytes"],
                       parameters=results[0]["parameters"])
            rows.append(med)
            share = med["allreduce_bare_s"] / med["step_s"]
            print(f"{name:11} {f'{ranks} x {2 // ranks}':>11} {med['images_per_s']:9.0f} "
                  f"{1e3 * med['step_s']:8.2f} {1e3 * med['allreduce_in_step_s']:22.3f} "
                  f"{1e3 * med['allreduce_bare_s']:8.3f} {100 * share:5.1f}% {med['bytes']:9d}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    one_rank = [r for r in rows if r["ranks"] == 1]
    print("\nScaling model (weak scaling, 64 images per rank, compute = the 1-rank step above):")
    for link in LINKS:
        print()
        print(scaling_table({r["model"]: r["step_s"] for r in one_rank},
                            {r["model"]: r["parameters"] for r in one_rank}, link))


if __name__ == "__main__":
    main()
