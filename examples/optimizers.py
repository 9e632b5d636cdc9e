"""SGD, SGD+momentum, Adagrad, RMSprop and Adam on the same CNN, from the same initial weights.

    python examples/optimizers.py [curves.png]

Trains the digits CNN (no dropout, same shuffling) for a few epochs with each optimizer,
records the loss of every mini-batch, prints the final training loss and test accuracy, and
saves the loss curves side by side (raw and smoothed) to a PNG when given a path.
"""

import copy
import sys
import time

import numpy as np

from convcore import evaluate, nn, optim
from convcore.__main__ import build_digits_cnn, load_digits_data
from convcore.data import DataLoader

OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.05),
    "SGD momentum 0.9": lambda p: optim.SGD(p, lr=0.02, momentum=0.9),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.05),
    "RMSprop": lambda p: optim.RMSprop(p, lr=1e-3),
    "Adam": lambda p: optim.Adam(p, lr=3e-3),
}


def train(model, optimizer, X, y, epochs):
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for epoch in range(epochs):
        for xb, yb in DataLoader(X, y, batch_size=32, seed=epoch):
            optimizer.zero_grad()
            losses.append(loss_fn(model(xb), yb))
            model.backward(loss_fn.backward())
            optimizer.step()
    return np.array(losses)


def smooth(values, window=10):
    return np.convolve(values, np.ones(window) / window, mode="valid")


def main(path=None, epochs=3):
    X_train, X_test, y_train, y_test = load_digits_data(seed=0)
    initial = build_digits_cnn(dropout=0, rng=0)
    curves = {}
    print(f"{'optimizer':18s} {'last-epoch loss':>15s} {'test acc':>9s} {'time':>6s}")
    for name, make in OPTIMIZERS.items():
        model = copy.deepcopy(initial)  # the same initial weights for everyone
        start = time.perf_counter()
        curves[name] = train(model, make(model.parameters()), X_train, y_train, epochs)
        seconds = time.perf_counter() - start
        _, acc = evaluate(model, nn.CrossEntropyLoss(), X_test, y_test)
        last = curves[name][-len(curves[name]) // epochs:].mean()
        print(f"{name:18s} {last:15.4f} {100 * acc:8.2f}% {seconds:5.1f}s")

    if path:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(12, 4))
        FigureCanvasAgg(fig)
        raw, smoothed = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
        for name, losses in curves.items():
            raw.plot(losses, label=name, lw=0.8)
            smoothed.plot(smooth(losses), label=name)
        for ax, title in ((raw, "loss per mini-batch"), (smoothed, "smoothed (10 batches)")):
            ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_title(title)
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        print(f"saved {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
