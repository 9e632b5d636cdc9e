"""Classic edge filters as a convolution: several 3x3 filters applied to a real photo with one
``convcore.F.conv2d`` call give a 3-D feature-map tensor (one map per filter).

    python examples/sobel_feature_maps.py [out.png]

Shows the output-size rule P = floor((H + 2*padding - dilation*(R - 1) - 1) / stride) + 1 for a
few paddings and strides, checks the Sobel response against a direct NumPy computation, and
saves the image, the feature maps and the gradient magnitude to a PNG when given a path.
"""

import sys
import time

import numpy as np
from sklearn.datasets import load_sample_image

import convcore
from convcore import F


def grayscale_image() -> np.ndarray:
    """china.jpg (bundled with scikit-learn) as float32 gray levels in [0, 1], shape (H, W)."""
    rgb = load_sample_image("china.jpg").astype(np.float32) / 255.0
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


FILTERS = {
    "sobel x (vertical edges)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel y (horizontal edges)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "sobel diagonal": [[-2, -1, 0], [-1, 0, 1], [0, 1, 2]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "box blur": [[1 / 9] * 3] * 3,
}


def main(path=None):
    image = grayscale_image()
    H, W = image.shape
    x = image[None, None]  # (N=1, C=1, H, W)
    weight = np.array(list(FILTERS.values()), np.float32)[:, None]  # (K, C=1, R=3, S=3)
    print(f"image {H}x{W}; filters: weight {weight.shape} = (K out-channels, C in, R, S)")

    print("\noutput size P = floor((H + 2p - d(R-1) - 1) / s) + 1:")
    for padding, stride in [(0, 1), (1, 1), (1, 2), (2, 3)]:
        y = F.conv2d(x, weight, padding=padding, stride=stride)
        p = F.conv_output_size(H, 3, stride, padding)
        q = F.conv_output_size(W, 3, stride, padding)
        print(f"  padding={padding} stride={stride}: rule gives {p}x{q}, conv2d gave "
              f"{y.shape[2]}x{y.shape[3]} -> tensor {y.shape}")
        assert y.shape == (1, len(FILTERS), p, q)

    start = time.perf_counter()
    maps = F.conv2d(x, weight, padding=1)[0]  # the 3-D feature-map tensor (K, H, W)
    ms = 1e3 * (time.perf_counter() - start)
    print(f"\nfeature maps {maps.shape} (K, H, W) in {ms:.1f} ms")

    # conv2d is a cross-correlation: y[i, j] = sum_rs w[r, s] * x[i + r - 1, j + s - 1]
    padded = np.pad(image, 1)
    sobel_x = sum(weight[0, 0, r, s] * padded[r:r + H, s:s + W] for r in range(3) for s in range(3))
    print(f"max |conv2d - direct NumPy| for sobel x: {np.abs(maps[0] - sobel_x).max():.2e}")
    for name, fmap in zip(FILTERS, maps):
        print(f"  {name:28s} mean |response| {np.abs(fmap).mean():.4f}")
    magnitude = np.hypot(maps[0], maps[1])
    print(f"edge magnitude sqrt(gx^2 + gy^2): mean {magnitude.mean():.4f}, "
          f"{100 * (magnitude > 0.5).mean():.1f} % of pixels above 0.5")

    if path:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        panels = [("input", image)] + list(zip(FILTERS, maps)) + [("|gradient|", magnitude)]
        fig = Figure(figsize=(16, 7))
        FigureCanvasAgg(fig)
        for i, (name, img) in enumerate(panels):
            ax = fig.add_subplot(2, 4, i + 1)
            if img.min() >= 0:  # input, blur, magnitude
                ax.imshow(img, cmap="gray", vmax=np.percentile(img, 99.5))
            else:  # signed edge responses; the zero-padded border would dominate the scale
                lim = np.percentile(np.abs(img), 99)
                ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(name, fontsize=9)
            ax.axis("off")
        fig.tight_layout()
        fig.savefig(path, dpi=80)
        print(f"saved {path}")
    print(f"(convcore {convcore.__version__}, backend convcore.functional)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
