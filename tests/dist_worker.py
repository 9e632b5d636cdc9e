"""The program that tests/test_distributed.py runs under ``mpiexec -n 2``.

``python tests/dist_worker.py SCENARIO OUTDIR``; rank 0 writes the results to OUTDIR:
- equivalence: the configs of ``CONFIGS`` trained 5 steps with ``fit(distributed=True)``,
  batch 32 per rank; <config>.npz (state dict + history loss), threads.json, and
  checkpoint.npz (the syncbn model written by ``dist.save``)
- digits: the demo's digits CNN on OUTDIR/digits-data.npz (the demo's split), 2 epochs;
  digits-<rank>.json (History of every rank)
- desync: one rank perturbs a weight; desync-<rank>.json says whether assert_in_sync raised
- raise-in-fit / raise-uncaught: rank 1 raises (inside fit / at top level); must abort the job
- unequal-data: the ranks pass X of different lengths to fit; must fail, not hang
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import convcore
import convcore.nn as nn
from convcore import distributed as dist

STEPS, BATCH_PER_RANK, SEED = 5, 32, 3
# name -> (batch norm: None, "local" (per-rank statistics) or "sync"; number of samples: 5 full
# global batches of 64, or 4 and an uneven last one of 37, split 18 + 19)
CONFIGS = {
    "plain": (None, 5 * 64),
    "syncbn": ("sync", 5 * 64),
    "syncbn-uneven": ("sync", 4 * 64 + 37),
    "localbn": ("local", 5 * 64),
}


def make_data(n: int):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((n, 1, 8, 8)).astype(np.float32) * 2 + 0.5
    y = rng.integers(0, 10, n).astype(np.int64)
    return X, y


def make_model(batch_norm: bool):
    rng = np.random.default_rng(5)
    layers = [nn.Conv2d(1, 4, 3, padding=1, rng=rng)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10, rng=rng)]
    return nn.Sequential(*layers)


def make_optimizer(model):
    return convcore.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def equivalence(outdir: str) -> None:
    for name, (batch_norm, n) in CONFIGS.items():
        X, y = make_data(n)
        model = make_model(batch_norm is not None)
        if batch_norm == "sync":
            model = dist.convert_sync_batchnorm(model)
        history = convcore.fit(model, nn.CrossEntropyLoss(), make_optimizer(model), X, y,
                               epochs=1, batch_size=BATCH_PER_RANK, seed=SEED, progress=False,
                               distributed=True)
        if dist.is_root():
            np.savez(os.path.join(outdir, f"{name}.npz"), loss=history.loss,
                     **model.state_dict())
        if name == "syncbn":
            dist.save(model, os.path.join(outdir, "checkpoint.npz"))
    get_threads = getattr(convcore, "get_num_threads", None)
    threads = {"default": dist.default_num_threads(), "local_size": dist.local_size(),
               "convcore": get_threads() if get_threads else None}  # collective: every rank
    if dist.is_root():
        with open(os.path.join(outdir, "threads.json"), "w") as f:
            json.dump(threads, f)


def digits(outdir: str) -> None:
    from convcore.__main__ import build_digits_cnn

    with np.load(os.path.join(outdir, "digits-data.npz")) as data:  # saves importing sklearn
        X_train, X_test, y_train, y_test = (data[k] for k in ("X_train", "X_test", "y_train",
                                                               "y_test"))
    model = build_digits_cnn(rng=0)
    opt = convcore.optim.Adam(model.parameters(), lr=3e-3)
    history = convcore.fit(model, nn.CrossEntropyLoss(), opt, X_train, y_train, epochs=2,
                           batch_size=32, validation_data=(X_test, y_test), seed=0,
                           progress=False, distributed=True)
    with open(os.path.join(outdir, f"digits-{dist.rank()}.json"), "w") as f:
        json.dump({k: v for k, v in history.history.items() if k not in ("seconds",
                                                                          "images_per_s")}, f)


def desync(outdir: str) -> None:
    model = dist.DataParallel(make_model(False))
    dist.assert_in_sync(model)  # in sync right after the broadcast: must not raise
    if dist.rank() == 1:
        model.module[0].weight.data[0, 0, 0, 0] += 1e-6
    try:
        dist.assert_in_sync(model)
        detected = False
    except RuntimeError as err:
        detected = "out of sync" in str(err)
    with open(os.path.join(outdir, f"desync-{dist.rank()}.json"), "w") as f:
        json.dump({"detected": detected}, f)


class FailingLoss(nn.CrossEntropyLoss):
    """Raises on rank 1 at the third call, while rank 0 goes on into the Allreduce."""

    calls = 0

    def __call__(self, pred, target):
        self.calls += 1
        if dist.rank() == 1 and self.calls == 3:
            raise ValueError("injected failure on rank 1")
        return super().__call__(pred, target)


def raise_in_fit(outdir: str) -> None:
    X, y = make_data(5 * 64)
    model = make_model(False)
    convcore.fit(model, FailingLoss(), make_optimizer(model), X, y, batch_size=32, seed=0,
                 progress=False, distributed=True)
    print("rank", dist.rank(), "finished fit", flush=True)


def unequal_data(outdir: str) -> None:
    X, y = make_data(5 * 64 - 32 * dist.rank())  # rank 1 holds fewer samples: must not hang
    model = make_model(False)
    convcore.fit(model, nn.CrossEntropyLoss(), make_optimizer(model), X, y, batch_size=32,
                 seed=0, progress=False, distributed=True)
    print("rank", dist.rank(), "finished fit", flush=True)


def raise_uncaught(outdir: str) -> None:
    dist.init()
    if dist.rank() == 1:
        raise KeyError("uncaught failure on rank 1")
    dist.allreduce_sum(np.zeros(1))  # rank 0 waits here for rank 1, which never comes
    print("rank 0 finished", flush=True)


SCENARIOS = {"equivalence": equivalence, "digits": digits, "desync": desync,
             "raise-in-fit": raise_in_fit, "raise-uncaught": raise_uncaught,
             "unequal-data": unequal_data}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](sys.argv[2])
