"""Test-suite configuration: hypothesis profiles and the ``backend`` fixture.

Hypothesis profiles: ``dev`` (the default: few examples, quick) and ``ci``
(more examples, derandomised so a failure reproduces); choose with
``HYPOTHESIS_PROFILE=ci``. Neither has a deadline: the first call of a
backend may compile. On ``accelerate`` a hypothesis test draws at most
:data:`helpers.BRIDGE_MAX_EXAMPLES` examples and does not shrink a failure
(:func:`pytest_runtest_call`): each new program is a GHC build there.

``backend`` runs a test once per available backend (``interp`` always;
``native``, ``cuda`` and ``accelerate`` when :func:`pyaccad.backends.get_backend`
says they can run here). ``PYACCAD_TEST_BACKENDS=interp,native`` narrows the set.
On ``accelerate`` a program the Haskell export cannot express skips its test,
naming what (:func:`pytest_runtest_makereport`).

Test modules that draw data from a module-level ``RNG`` get it restarted for
every test, seeded from the test's id (:func:`_reproducible_rng`): a test's
data then does not depend on which tests ran before it in the same process,
which pytest-xdist changes from run to run.

Shared assertions live in ``tests/helpers.py`` (``from helpers import assert_close``):
pytest puts this folder on ``sys.path`` because this file is here.
"""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest
from helpers import available_backends, examples_on
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session", params=available_backends())
def backend(request: pytest.FixtureRequest) -> str:
    """The name of a backend to run programs on (see :func:`helpers.run_program`)."""
    return request.param


@pytest.fixture
def cuda(monkeypatch: pytest.MonkeyPatch) -> str:
    """The name ``"cuda"``, the backend running on the GPU, or where there is none on the CPU emulator
    (``PYACCAD_CUDA_EMULATE``: the same kernels and schedule, one thread at a time); skips when neither can run."""
    from pyaccad.backends import availability

    monkeypatch.delenv("PYACCAD_CUDA_EMULATE", raising=False)
    gpu = availability()["cuda"]
    if gpu is not None:
        monkeypatch.setenv("PYACCAD_CUDA_EMULATE", "1")
        emulated = availability()["cuda"]
        if emulated is not None:
            pytest.skip(f"no GPU ({gpu}) and no CPU emulator of it ({emulated})")
    return "cuda"


@pytest.fixture(autouse=True)
def _reproducible_rng(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module-level ``RNG`` restarted for this test, from its id (see the module docstring)."""
    module = getattr(request, "module", None)
    if isinstance(getattr(module, "RNG", None), np.random.Generator):
        monkeypatch.setattr(module, "RNG", np.random.default_rng(zlib.crc32(request.node.nodeid.encode())))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    """A hypothesis test on the accelerate bridge draws few examples (:func:`helpers.examples_on`)."""
    callspec = getattr(item, "callspec", None)
    with examples_on(getattr(item, "obj", None), callspec.params.get("backend") if callspec is not None else None):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """On the accelerate bridge, a program the export cannot express is a skip with the export's reason:
    the bridge runs exactly what the export prints, and what it cannot print is listed, not a failure."""
    outcome = yield
    report = outcome.get_result()
    from pyaccad.export import ExportError

    callspec = getattr(item, "callspec", None)
    on_bridge = callspec is not None and callspec.params.get("backend") == "accelerate"
    if on_bridge and call.excinfo is not None and isinstance(call.excinfo.value, ExportError) and report.failed:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: not exportable: {call.excinfo.value}")
