"""Train a multilayer perceptron on scikit-learn's handwritten digits with pyaccad, and plot its loss curves.

The 1,797 8x8 digit images ship inside the scikit-learn wheel (no download). A
64-128-128-10 ReLU network is trained with minibatch Adam (``pyaccad.nn.adam``)
on 80 % of them; each step is two jitted functions, compiled once: the loss and
its gradient (``ad.value_and_grad``, data-parallel through
``pyaccad.distributed``), then the Adam update. It prints the held-out test
accuracy, writes a PNG of the training and test loss per epoch, and exits
non-zero if the accuracy is below ``--require-accuracy``.

The same script trains data-parallel under ``mpirun -n K``: every process
holds the parameters, takes its shard of each minibatch, and the gradients are
averaged across processes before every process makes the same update; rank 0
prints and plots. As one process it is the plain training loop.

Run from the repository root (scripts/main.sh does, after setting up):
    python examples/train_digits.py [--backend native|interp|cuda] [--epochs N] [--plot PATH]
    mpirun -n 2 python examples/train_digits.py   # pip install 'pyaccad[mpi]'; see docs/distributed.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout, uninstalled
import pyaccad as acc  # noqa: E402
from pyaccad import distributed as dist  # noqa: E402
from pyaccad import nn  # noqa: E402

Params = list[np.ndarray]


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits as float32 pixels in [0, 1] and int32 labels, split 80/20 (stratified by class)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    return x_train, y_train, x_test, y_test


def init_params(widths: list[int], rng: np.random.Generator) -> Params:
    """He-initialised weights ``N(0, 2 / fan_in)`` and zero biases, layer by layer: ``[W1, b1, W2, b2, ...]``."""
    params: Params = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        params.append((rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32))
        params.append(np.zeros(fan_out, np.float32))
    return params


def logits(params: Params, x: Any) -> Any:
    """The network: ReLU hidden layers, a linear output layer (traced arrays in, traced arrays out)."""
    h = x
    for k in range(0, len(params) - 2, 2):
        h = nn.relu(h @ params[k] + params[k + 1])
    return h @ params[-2] + params[-1]


def loss(params: Params, x: Any, labels: Any) -> Any:
    """Mean softmax cross-entropy of the batch."""
    return nn.cross_entropy(logits(params, x), labels)


def update(params: Params, grads: Params, state: tuple, lr: Any) -> tuple[Params, tuple]:
    """One Adam step: the parameters and optimiser state after it."""
    return nn.adam(params, grads, state, lr=lr)


def plot(path: Path, train: list[float], test: list[float]) -> None:
    """Training and test loss per epoch (log scale) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    epochs = np.arange(1, len(train) + 1)
    ax.plot(epochs, train, label="training (mean over the epoch's batches)")
    ax.plot(epochs, test, label="test (held out)")
    ax.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="pyaccad: MLP on scikit-learn digits")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def positive(text: str) -> int:
    """An argparse type: a positive integer."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=sorted(acc.backends()), help="default: $PYACCAD_BACKEND or native")
    parser.add_argument("--epochs", type=positive, default=40)
    parser.add_argument("--hidden", type=positive, default=128, help="width of each of the two hidden layers")
    parser.add_argument("--batch", type=positive, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, default=Path("build/train_digits_loss.png"), help="the PNG written")
    parser.add_argument("--require-accuracy", type=float, default=0.95, help="exit 1 if the test accuracy is lower")
    args = parser.parse_args(argv)
    from tqdm import tqdm

    start = time.perf_counter()
    x_train, y_train, x_test, y_test = load_data(args.seed)
    if args.batch > len(x_train):
        parser.error(f"--batch {args.batch} is more than the {len(x_train)} training images")
    if args.batch < dist.size():
        parser.error(f"--batch {args.batch} is less than the {dist.size()} processes: each needs a share")
    leader = dist.rank() == 0  # under mpirun, rank 0 alone prints and plots

    rng = np.random.default_rng(args.seed)  # every rank draws the same permutations from the same seed
    params = dist.broadcast(init_params([x_train.shape[1], args.hidden, args.hidden, 10], rng))
    state = nn.adam_init(params)
    lr = np.float32(args.lr)
    try:
        gradient = dist.value_and_grad_dp(loss, backend=args.backend)
        step = acc.jit(update, backend=args.backend)
        evaluate = acc.jit(lambda p, x, y: (loss(p, x, y), logits(p, x)), backend=args.backend)
        evaluate(params, x_test, y_test)  # compiles now, so an unavailable backend is reported before training
    except acc.BackendUnavailable as e:
        print(e, file=sys.stderr)  # it names the backend and why
        return 2
    if leader:
        print(
            f"{len(x_train)} training and {len(x_test)} test images; backend: {args.backend or 'default'}; "
            f"{dist.size()} process(es)"
        )
    batches = len(x_train) // args.batch  # the remainder is dropped; each epoch reshuffles, so all images are used
    train_curve: list[float] = []
    test_curve: list[float] = []
    bar = tqdm(total=args.epochs * batches, unit="step", dynamic_ncols=True, disable=not leader)
    for epoch in range(args.epochs):
        order = rng.permutation(len(x_train))
        total = 0.0
        for b in range(batches):
            take = order[b * args.batch : (b + 1) * args.batch]
            value, grads = gradient(params, dist.shard(x_train[take]), dist.shard(y_train[take]))
            params, state = step(params, grads, state, lr)
            total += float(value)
            bar.update()
            bar.set_postfix(epoch=epoch + 1, loss=f"{total / (b + 1):.4f}", refresh=False)
        train_curve.append(total / batches)
        test_loss, test_logits = evaluate(params, x_test, y_test)
        test_curve.append(float(test_loss))
    bar.close()
    accuracy = float(np.mean(np.argmax(test_logits, axis=1) == y_test))  # the same on every rank
    if not leader:
        return 0 if accuracy >= args.require_accuracy else 1
    plot(args.plot, train_curve, test_curve)
    elapsed = time.perf_counter() - start
    print(f"test loss {float(test_loss):.4f}, test accuracy {accuracy:.2%} ({len(y_test)} held-out images)")
    print(f"loss curves: {args.plot.resolve()}")
    print(f"{args.epochs} epochs in {elapsed:.1f} s (loading, compiling and plotting included)")
    if accuracy < args.require_accuracy:
        print(
            f"FAILED: test accuracy {accuracy:.2%} is below the required {args.require_accuracy:.2%}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
