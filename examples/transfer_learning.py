"""Transfer learning on the 8x8 digits: learn features on digits 0-4, reuse them for 5-9.

    python examples/transfer_learning.py

1. Train the CNN on digits 0-4 (a 5-way head).
2. On a small training set of digits 5-9 (10 images per class), 5 and 15 epochs, compare:
   a. frozen features (``requires_grad_(False)``: no gradients, no updates, BN statistics fixed)
      + a new head;
   b. fine-tuning every parameter from the pretrained weights (new head too);
   c. the same network trained from scratch.
"""

import copy
import time

import numpy as np

import convcore
from convcore import nn, optim
from convcore.__main__ import build_digits_cnn, load_digits_data


def split(X, y, classes, per_class=None, seed=0):
    rng = np.random.default_rng(seed)
    idx = []
    for c in classes:
        members = np.flatnonzero(y == c)
        idx.extend(members if per_class is None else rng.choice(members, per_class, False))
    idx = np.array(sorted(idx))
    return X[idx], (y[idx] - min(classes)).astype(np.int64)


def with_new_head(model, rng):
    """Copy of ``model`` (weights included) whose last Linear is replaced by a fresh 5-way one."""
    model = copy.deepcopy(model)
    model.layers[-1] = nn.Linear(128, 5, rng=rng)
    return model


def train(model, X, y, Xv, yv, epochs, lr=3e-3):
    params = [p for p in model.parameters() if p.requires_grad]
    start = time.perf_counter()
    convcore.fit(model, nn.CrossEntropyLoss(), optim.Adam(params, lr=lr), X, y, epochs=epochs,
                 batch_size=32, seed=0, progress=False)
    seconds = time.perf_counter() - start
    _, acc = convcore.evaluate(model, nn.CrossEntropyLoss(), Xv, yv)
    trainable = sum(p.size for p in params)
    return acc, seconds, trainable


def main():
    X_train, X_test, y_train, y_test = load_digits_data(seed=0)
    Xa, ya = split(X_train, y_train, range(5))
    Xa_test, ya_test = split(X_test, y_test, range(5))
    Xb, yb = split(X_train, y_train, range(5, 10), per_class=10)
    Xb_test, yb_test = split(X_test, y_test, range(5, 10))
    print(f"task A (digits 0-4): {len(Xa)} training images; task B (5-9): {len(Xb)} "
          f"training, {len(Xb_test)} test images")

    base = build_digits_cnn(rng=0)
    base.layers[-1] = nn.Linear(128, 5, rng=0)
    acc, seconds, _ = train(base, Xa, ya, Xa_test, ya_test, epochs=6)
    print(f"pretrained on 0-4: test accuracy {100 * acc:.2f} % ({seconds:.1f} s)")

    for epochs in (5, 15):
        results = {}
        frozen = with_new_head(base, rng=1)
        frozen[:-1].requires_grad_(False)  # every layer but the head
        stats = frozen[1].running_mean.copy()
        results["frozen features + new head"] = train(frozen, Xb, yb, Xb_test, yb_test, epochs,
                                                      lr=1e-2)
        assert np.array_equal(frozen[1].running_mean, stats), "frozen BN statistics moved"
        assert all(p.grad is None for p in frozen[:-1].parameters())
        finetuned = with_new_head(base, rng=1)
        results["fine-tune all parameters"] = train(finetuned, Xb, yb, Xb_test, yb_test, epochs,
                                                    lr=1e-3)
        scratch = build_digits_cnn(rng=2)
        scratch.layers[-1] = nn.Linear(128, 5, rng=1)
        results["from scratch"] = train(scratch, Xb, yb, Xb_test, yb_test, epochs)

        print(f"\ntask B (5-9) with {len(Xb)} training images, {epochs} epochs:")
        for name, (acc, seconds, trainable) in results.items():
            print(f"  {name:28s} test accuracy {100 * acc:6.2f} %   trainable params "
                  f"{trainable:6,d}   {seconds:.1f} s")


if __name__ == "__main__":
    main()
