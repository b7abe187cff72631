#!/usr/bin/env bash
# Set everything up on a fresh machine and run the whole test suite.
# Installs the Debian tools the Haskell-export checks use (ghc, hlint, and the vector package that runs the
# generic export) when running as root with apt.
set -euo pipefail
cd "$(dirname "$0")/.."
haskell="ghc hlint libghc-vector-dev"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && ! dpkg -s $haskell >/dev/null 2>&1; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $haskell >/dev/null \
    || echo "warning: could not install $haskell; Haskell checks will skip" >&2
fi
# the cuda extra (cuda-bindings, NVRTC): every CUDA module the tests generate is compiled for the GPU, and run on
# the backend's CPU emulator where there is no GPU
bash scripts/setup.sh test,cuda
export PYACCAD_CACHE_DIR="${PYACCAD_CACHE_DIR:-$(mktemp -d)}"
# One worker per core (pytest-xdist): the suite is mostly gcc compiling generated kernels, one process each.
exec .venv/bin/python -m pytest -n auto "$@"
