"""Train a small CNN on scikit-learn's 8x8 digits with convcore, end to end.

    python examples/digits_cnn.py [out_dir]

Builds conv-BN-ReLU-pool x2 -> flatten -> dropout -> linear, prints its summary, trains with
Adam and validation, evaluates, saves the model with ``convcore.save`` and checks that the
reloaded model predicts the same; with ``out_dir`` also saves the curves, the first-layer
filters and the feature maps of one test digit as PNGs.
"""

import os
import sys
import tempfile

import numpy as np

import convcore
from convcore import nn, optim
from convcore.__main__ import build_digits_cnn, load_digits_data


def main(out_dir=None):
    X_train, X_test, y_train, y_test = load_digits_data(seed=0)
    model = build_digits_cnn(rng=0)
    print(convcore.summary(model, X_train.shape[1:]))
    loss_fn = nn.CrossEntropyLoss()
    history = convcore.fit(
        model, loss_fn, optim.Adam(model.parameters(), lr=3e-3), X_train, y_train, epochs=8,
        batch_size=32, validation_data=(X_test, y_test), seed=0,
    )
    loss, acc = convcore.evaluate(model, loss_fn, X_test, y_test)
    speed = np.mean(history.images_per_s)
    print(f"test loss {loss:.4f}, test accuracy {100 * acc:.2f} %, {speed:,.0f} images/s")

    predictions = convcore.predict(model, X_test).argmax(axis=1)
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (y_test, predictions), 1)
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(confusion)

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits_cnn.npz")
        convcore.save(model, path)
        reloaded = convcore.load(path)
        same = np.array_equal(convcore.predict(reloaded, X_test).argmax(1), predictions)
        print(f"saved and reloaded ({os.path.getsize(path):,} bytes): same predictions: {same}")

    if out_dir:
        from convcore.plot import plot_feature_maps, plot_filters, plot_history

        os.makedirs(out_dir, exist_ok=True)
        plot_history(history, os.path.join(out_dir, "digits_history.png"))
        plot_filters(model[0], os.path.join(out_dir, "digits_filters.png"))
        plot_feature_maps(model, X_test[0], os.path.join(out_dir, "digits_feature_maps.png"))
        print(f"saved plots to {out_dir}/digits_*.png")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
