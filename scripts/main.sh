#!/usr/bin/env bash
# Set everything up on a fresh machine and run the main job (the quickstart tour, native backend).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/quickstart.py
