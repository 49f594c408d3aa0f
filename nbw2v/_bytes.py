"""Word-at-a-time access to byte arrays for the tokeniser (:mod:`nbw2v.text.scan_kernels`).

:func:`load_u64` reads 8 bytes at any offset as one little-endian ``uint64`` (an unaligned
load: one instruction on x86-64 and AArch64) and :func:`trailing_zeros` counts the zero bits
below the lowest set bit (``tzcnt``). Outside kernels (``NUMBA_DISABLE_JIT=1``) both are plain
Python with the same results; in kernels they are LLVM IR through ``numba.extending``.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload


def load_u64(buf, i):
    """``buf[i:i+8]`` (a uint8 array; the caller keeps ``i + 8 <= len(buf)``) as a little-endian uint64."""
    return np.uint64(int.from_bytes(bytes(buf[i : i + 8]), "little"))


def trailing_zeros(x):
    """Zero bits below the lowest set bit of the uint64 ``x`` (64 for 0)."""
    x = int(x)
    return 64 if x == 0 else (x & -x).bit_length() - 1


@intrinsic
def _load_u64(typingctx, buf, i):
    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[0], array, [args[1]], wraparound=False)
        word = builder.bitcast(ptr, ir.IntType(64).as_pointer())
        return builder.load(word, align=1)

    return types.uint64(buf, types.intp), codegen


@intrinsic
def _cttz(typingctx, x):
    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [i64, ir.IntType(1)]), "llvm.cttz.i64")
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 0)])

    return types.uint64(types.uint64), codegen


@overload(load_u64)
def _load_u64_overload(buf, i):
    if isinstance(buf, types.Array) and buf.ndim == 1 and buf.dtype == types.uint8:
        return lambda buf, i: _load_u64(buf, i)
    return None


@overload(trailing_zeros)
def _trailing_zeros_overload(x):
    if isinstance(x, types.Integer):
        return lambda x: _cttz(np.uint64(x))
    return None
