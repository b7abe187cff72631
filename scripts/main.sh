#!/usr/bin/env bash
# Set everything up on a fresh machine and run the main job: train a multilayer perceptron on scikit-learn's
# handwritten digits (examples/train_digits.py; arguments are passed on, e.g. --backend interp, --epochs 10).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh examples
exec .venv/bin/python examples/train_digits.py "$@"
