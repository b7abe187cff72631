"""The cffi interface to a compiled program, prebuilt: cffi's out-of-line ABI mode, no C parser at run time.

``cffi.FFI()`` imports ``pycparser`` to parse :data:`CDEF`, which costs 25–45 ms
of every new process's first call; this is what
``FFI.set_source(name, None)`` + ``emit_python_code`` writes for :data:`CDEF`
instead, a backend object built from cffi's binary type tables.
``tests/backends/test_native_cache.py`` regenerates it with the parser and
checks that it has not drifted from :data:`CDEF`.

>>> ffi.typeof("int64_t *").cname
'int64_t *'
"""

from __future__ import annotations

import _cffi_backend

CDEF = "int pyaccad_entry(void **B, const int64_t *E, int nthreads); const char *pyaccad_key(void);"

ffi_tables = {
    "_version": 0x2601,
    "_types": b"\x00\x00\x07\x0d\x00\x00\x00\x0f\x00\x00\x05\x0d\x00\x00\x0a\x03\x00\x00\x09\x03\x00\x00\x07\x01"
    b"\x00\x00\x00\x0f\x00\x00\x08\x03\x00\x00\x02\x01\x00\x00\x17\x01\x00\x00\x0b\x03\x00\x00\x00\x01",
    "_globals": (b"\x00\x00\x02\x23pyaccad_entry", 0, b"\x00\x00\x00\x23pyaccad_key", 0),
}
"""The tables ``emit_python_code`` writes for :data:`CDEF` (checked by the test named above)."""

ffi = _cffi_backend.FFI("_pyaccad_native_ffi", **ffi_tables)
