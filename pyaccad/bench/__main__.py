"""Entry point of ``python -m pyaccad.bench`` (see :mod:`pyaccad.bench.cli`)."""

import sys

from pyaccad.bench.cli import main

sys.exit(main())
