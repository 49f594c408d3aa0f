"""A software prefetch of one matrix row for the trainer's hot loop.

Negative samples are random rows of the output matrix, so their first touch misses the caches
(~174 ns per center word measured, issue 19). The trainer draws the next center's negatives one
step early and calls :func:`prefetch_row` on them, so the rows load while the current step
computes; and it prefetches the alias-table entries that the draw after that will read
(:func:`prefetch_item`). Both are no-ops in plain Python (``NUMBA_DISABLE_JIT=1``); in kernels
they are LLVM's ``llvm.prefetch`` (a hint: it never faults and changes no value) on each 64-byte
line of the row, or on the line of the item.
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


def prefetch_item(vector, i):
    """Ask the CPU to load the line of ``vector[i]`` (1-D) into the caches for reading (no-op
    outside kernels)."""


def _prefetch_call(context, builder, array_type, array_value, indices, write):
    array = context.make_array(array_type)(context, builder, array_value)
    ptr = cgutils.get_item_pointer(context, builder, array_type, array, indices, wraparound=False)
    byte_ptr, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]), "llvm.prefetch.p0i8"
    )
    # (address, rw: 1 for writing, locality = 3: keep in all levels, cache type = 1: data)
    flags = [ir.Constant(i32, int(write)), ir.Constant(i32, 3), ir.Constant(i32, 1)]
    builder.call(fn, [builder.bitcast(ptr, byte_ptr), *flags])
    return context.get_dummy_value()


@intrinsic
def _prefetch_element(typingctx, matrix, row, col):
    def codegen(context, builder, sig, args):
        return _prefetch_call(context, builder, sig.args[0], args[0], [args[1], args[2]], True)

    return types.void(matrix, types.intp, types.intp), codegen


@intrinsic
def _prefetch_item(typingctx, vector, i):
    def codegen(context, builder, sig, args):
        return _prefetch_call(context, builder, sig.args[0], args[0], [args[1]], False)

    return types.void(vector, types.intp), codegen


@overload(prefetch_item)
def _prefetch_item_overload(vector, i):
    if isinstance(vector, types.Array) and vector.ndim == 1:
        return lambda vector, i: _prefetch_item(vector, i)
    return None


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
