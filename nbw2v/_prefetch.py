"""A software prefetch of one matrix row for the trainer's hot loop.

Negative samples are random rows of the output matrix, so their first touch misses the caches
(~174 ns per center word measured, issue 19). The trainer draws the next center's negatives one
step early and calls :func:`prefetch_row` on them, so the rows load while the current step
computes. ``prefetch_row`` is a no-op in plain Python (``NUMBA_DISABLE_JIT=1``); in kernels it
is LLVM's ``llvm.prefetch`` (a hint: it never faults and changes no value) on each 64-byte line
of the row.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

#: float32 elements per 64-byte cache line
_LINE = 16


def prefetch_row(matrix, row):
    """Ask the CPU to load ``matrix[row]`` into the caches for writing (no-op outside kernels)."""


@intrinsic
def _prefetch_element(typingctx, matrix, row, col):
    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, array_type, array, [args[1], args[2]], wraparound=False)
        byte_ptr, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]), "llvm.prefetch.p0i8"
        )
        # (address, rw = 1: for writing, locality = 3: keep in all levels, cache type = 1: data)
        flags = [ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), *flags])
        return context.get_dummy_value()

    return types.void(matrix, types.intp, types.intp), codegen


@overload(prefetch_row)
def _prefetch_row_overload(matrix, row):
    if isinstance(matrix, types.Array) and matrix.ndim == 2:

        def impl(matrix, row):
            for j in range(0, matrix.shape[1], _LINE):
                _prefetch_element(matrix, row, j)
            if matrix.shape[1] % _LINE:  # a row not padded to whole lines (training/matrices.py) may end in one more
                _prefetch_element(matrix, row, matrix.shape[1] - 1)

        return impl
    return None
