"""Command line: ``python -m convcore {demo,bench,info}`` (also the ``convcore`` script).

- ``demo``: trains a small CNN (conv-BN-ReLU-pool x2, flatten, dropout, linear) on scikit-learn's
  bundled 8x8 digits (no download), prints the test accuracy, the training speed and the speed-up
  of convcore.functional over the pure-NumPy convcore.reference on the same model;
  ``--plot PATH`` saves the training curves to PATH and the feature maps next to it
  (``<stem>_features<ext>``).
- ``bench``: the kernel benchmark runner, ``convcore.bench.main(argv)``.
- ``info``: ``convcore.build_info()`` (compiler, OpenMP, SIMD kernels), threads, versions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import List, Sequence, Tuple

import numpy as np


def load_digits_data(seed: int = 0, test_size: float = 0.2):
    """scikit-learn's digits as float32 NCHW (N, 1, 8, 8), standardised with the training
    mean/std, split stratified: (X_train, X_test, y_train, y_test), y int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.images.astype(np.float32)[:, None] / 16.0
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y
    )
    mean, std = X_train.mean(), X_train.std()
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test


def build_digits_cnn(dropout: float = 0.25, rng=None, dtype=np.float32):
    """conv(1->16)-BN-ReLU-pool, conv(16->32)-BN-ReLU-pool, flatten, dropout, linear(128->10).

    For 8x8 inputs; ``dropout=0`` leaves the Dropout layer out.
    """
    from . import nn

    rng = np.random.default_rng(rng)
    layers = [
        nn.Conv2d(1, 16, 3, padding=1, dtype=dtype, rng=rng),
        nn.BatchNorm2d(16, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, dtype=dtype, rng=rng),
        nn.BatchNorm2d(32, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    ]
    if dropout:
        layers.append(nn.Dropout(dropout, rng=rng))
    layers.append(nn.Linear(128, 10, dtype=dtype, rng=rng))
    return nn.Sequential(*layers)


def time_train_steps(model, X, y, backends: Sequence[str], batch_size=32, rounds=5, warmup=1):
    """Median seconds of one training step (forward, loss, backward) per backend, measured
    interleaved (A, B, A, B, ...) so that machine noise hits all backends alike."""
    from . import nn

    loss_fn = nn.CrossEntropyLoss()
    xb, yb = X[:batch_size], y[:batch_size]
    times = {name: [] for name in backends}
    saved = [(m, m.training) for m in model.modules()]
    state = model.state_dict()
    try:
        for r in range(warmup + rounds):
            for name in backends:
                with nn.use_backend(name):
                    start = time.perf_counter()
                    loss_fn(model(xb), yb)
                    model.backward(loss_fn.backward())
                    elapsed = time.perf_counter() - start
                if r >= warmup:
                    times[name].append(elapsed)
    finally:
        model.zero_grad()
        model.load_state_dict(state)  # BN statistics moved: put them back
        for m, flag in saved:
            m.training = flag
    return {name: statistics.median(t) for name, t in times.items()}


def _features_path(path: str) -> str:
    stem, ext = os.path.splitext(path)
    return f"{stem}_features{ext or '.png'}"


def run_demo(args: argparse.Namespace) -> Tuple[float, float, float]:
    """Train and report; returns (test accuracy, images/s, speed-up over the reference)."""
    from . import nn, optim
    from .training import evaluate, fit

    X_train, X_test, y_train, y_test = load_digits_data(args.seed)
    model = build_digits_cnn(rng=args.seed)
    print(f"digits: {len(X_train)} training, {len(X_test)} test images of 8x8; model:")
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    start = time.perf_counter()
    history = fit(
        model,
        loss_fn,
        optimizer,
        X_train,
        y_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=(X_test, y_test),
        seed=args.seed,
        progress=not args.quiet,
        distributed=getattr(args, "distributed", False),
    )
    wall = time.perf_counter() - start
    test_loss, test_acc = evaluate(model, loss_fn, X_test, y_test)
    images_per_s = sum(len(X_train) for _ in history.epoch) / sum(history.seconds)
    times = time_train_steps(
        model, X_train, y_train, ["functional", "reference"], batch_size=args.batch_size
    )
    speedup = times["reference"] / times["functional"]
    print(f"test accuracy: {100 * test_acc:.2f} % (loss {test_loss:.4f})")
    print(f"training: {args.epochs} epochs in {wall:.2f} s, {images_per_s:,.0f} images/s")
    print(
        f"one training step of {args.batch_size} images: convcore {1e3 * times['functional']:.2f}"
        f" ms, reference (NumPy) {1e3 * times['reference']:.2f} ms -> speed-up {speedup:.1f}x"
    )
    if args.plot:
        from .plot import plot_feature_maps, plot_history

        plot_history(history, args.plot)
        features = _features_path(args.plot)
        plot_feature_maps(model, X_test[:1], features)
        print(f"saved training curves to {args.plot} and feature maps to {features}")
    return test_acc, images_per_s, speedup


def run_info() -> None:
    import convcore

    print(
        f"convcore {convcore.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}"
    )
    build_info = getattr(convcore, "build_info", None)
    if build_info is None:
        print("build info: not available (convcore was not built with its C extension)")
        return
    info = build_info()
    if isinstance(info, dict):
        width = max((len(str(k)) for k in info), default=0)
        for key, value in info.items():
            if isinstance(value, (list, tuple)):
                value = ", ".join(map(str, value))
            print(f"{str(key).ljust(width)} : {value}")
    else:
        print(info)
    get_threads = getattr(convcore, "get_num_threads", None)
    if get_threads is not None and not (isinstance(info, dict) and "num_threads" in info):
        print(f"threads: {get_threads()}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convcore", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small CNN on the 8x8 digits and report")
    demo.add_argument("--epochs", type=int, default=10)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--batch-size", type=int, default=32)
    demo.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    demo.add_argument("--plot", metavar="PATH", help="save curves to PATH, feature maps beside")
    demo.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    demo.add_argument("--distributed", action="store_true",
                      help="data-parallel over MPI: mpiexec -n P python -m convcore demo ...")
    sub.add_parser("bench", help="kernel benchmarks (convcore bench --help)", add_help=False)
    sub.add_parser("info", help="build information: compiler, OpenMP, SIMD kernels")
    return parser


def main(argv: List[str] | None = None) -> int:
    """Entry point of ``python -m convcore`` and of the ``convcore`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        from . import bench

        return bench.main(argv[1:]) or 0
    args = _parser().parse_args(argv)
    if args.command == "demo" and args.distributed:
        from . import distributed

        if not distributed.is_root():
            args.plot = None  # rank 0 writes the files
        distributed.run(run_demo, args)
    elif args.command == "demo":
        run_demo(args)
    elif args.command == "info":
        run_info()
    return 0


if __name__ == "__main__":
    sys.exit(main())
