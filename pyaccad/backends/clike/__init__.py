"""The C-like expression printer the compiled backends share: kernels' element code as C statements.

``cgen`` holds the emitter's state (:class:`~.cgen.Ctx`: lines, names, run-time extents ``E``, buffers,
scoped memo tables, bounds checks) and ``element`` the elements of delayed arrays and scalar lambdas as C
statements. What they print is C99 and CUDA C++ alike (``const`` declarations, ``if``/``for`` blocks, the
``ELEMENTWISE`` table's C templates); each backend's prelude defines the helpers the templates name
(``PYACCAD_*``, ``PA_FAIL_AT``, ``pa_f64_bits``) for its language, and its skeletons write the loops or
kernels around the element code.

>>> from pyaccad.backends.clike.cgen import Ctx
>>> Ctx().ext(3)
'E[0]'
"""
