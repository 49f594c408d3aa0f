"""Explicit SIMD vectors for the trainer's window step: one 64-byte register of a matrix row.

Numba leaves vectorisation to LLVM's loop vectoriser, and for the trainer's short rows
(d = 100: 6 full 16-lane vectors and 4 left over) that costs more than the arithmetic: every
``for j in range(d)`` loop gets runtime alias checks, a vector body, a vector epilogue and a
scalar remainder (each with its own horizontal reduction), and a window step runs ~30 such
loops. Here a row chunk is one value of a vector type and the last, partial chunk is a
*masked* load/store (AVX-512 masks; on AVX2 a plain access for full chunks and two masked
halves for the last, see :data:`AVX512`), so a loop over a row is
``ceil(d / lanes)`` straight iterations. Measured on the skip-gram window step (issue 19,
400k windows recorded from the trainer and replayed, 1 thread): d = 100 912 -> 780 ns per
window, d = 50 729 -> 502, d = 300 equal; the trainer (1 thread, refcorpus) SG+NS +7%,
HS +6-9%, CBOW +13%.

The functions are plain NumPy on small arrays (``NUMBA_DISABLE_JIT=1``, Python callers);
inside kernels each is an LLVM vector instruction:

* ``lanes(a)``: elements of ``a``'s dtype per vector (16 float32, 8 float64);
* ``vzero(a)``, ``vsplat(a, x)``: a vector of ``a``'s dtype, all zero / all ``x``;
* ``vload(a, row, j, k)``: ``a[row, j:j+k]`` in the first ``k <= lanes(a)`` lanes, zeros after
  (lanes past ``k`` are never read from memory);
* ``vstore(a, row, j, v, k)``: the first ``k`` lanes of ``v`` into ``a[row, j:j+k]``;
* ``vfma(a, b, c)``: ``a * b + c`` (one fused multiply-add where the CPU has FMA), ``vadd(a, b)``;
* ``vsum(v)``: the sum of the lanes (a tree of halving shuffles); ``vsum_first(v, k)``: of the
  first ``k`` lanes, in float64;
* for the logistic pass (:func:`nbw2v.losses._scalar.logistic_coefficients`): ``vmul``, ``vsub``,
  ``vdiv``, ``vmax``, ``vabs``, ``vfloor``, ``vwhere_ge(a, b, x, y)`` (``x`` where ``a >= b``,
  else ``y``), ``vpow2(n)`` (``2**n`` of integral lanes, from the exponent bits) and
  ``vload_cast(a, x, j, k)`` (``x[j:j+k]`` of a 1-D array of any float type, as a vector of
  ``a``'s type).

Rows are addressed as ``a[row, j]`` of a C-contiguous 2-D array: no row view is taken (in a
kernel a view costs two atomic reference-count updates).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

#: bytes per vector: one AVX-512 register (on AVX2 machines LLVM splits it into two)
VECTOR_BYTES = 64


def _host_has_avx512() -> bool:
    from llvmlite import binding
    from numba.core import config

    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else binding.get_host_cpu_features().flatten()
    return "+avx512f" in features.split(",")


#: Whether the host has AVX-512 (or ``NUMBA_CPU_FEATURES`` says so); kernels read it at compile
#: time. Two choices follow from it:
#:
#: * how a row's chunks are read and written. With AVX-512 a masked access costs what a plain one
#:   does (mask registers), so every chunk takes it. Without (AVX2), a masked store is a
#:   microcoded instruction (on AMD Zen 3 one of them per 8 floats made skip-gram 1.9x slower:
#:   0.66 -> 1.28M words/s, 2 threads) and a masked load cannot be folded into the multiply-add:
#:   there a full chunk takes a plain load/store and only the row's last, partial chunk the masked
#:   one (a branch each, always predicted);
#: * how many running sums a kernel keeps (``nbw2v.losses.sgd.window_step``'s block of scores): a
#:   16-lane float32 vector is one of AVX-512's 32 registers but two of AVX2's 16, where the
#:   2 x 4 block of sums spilled to the stack (2 x 2 there, no spills: skip-gram on Zen 3, 2
#:   threads, medians of 4 runs 1.36 -> 1.40M words/s; 1 thread even: it waits on memory).
AVX512 = _host_has_avx512()


def lanes(a):
    """Elements of ``a``'s dtype per vector."""
    return VECTOR_BYTES // a.itemsize


def vzero(a):
    return np.zeros(lanes(a), a.dtype)


def vsplat(a, x):
    return np.full(lanes(a), x, a.dtype)


def vload(a, row, j, k):
    v = np.zeros(lanes(a), a.dtype)
    v[:k] = a[row, j : j + k]
    return v


def vstore(a, row, j, v, k):
    a[row, j : j + k] = v[:k]


def vfma(a, b, c):
    return a * b + c


def vadd(a, b):
    return a + b


def vsum(v):
    return v.sum()


def vsum_first(v, k):
    return float(v[:k].astype(np.float64).sum())


def vmul(a, b):
    return a * b


def vsub(a, b):
    return a - b


def vdiv(a, b):
    return a / b


def vmax(a, b):
    return np.maximum(a, b)


def vabs(a):
    return np.abs(a)


def vfloor(a):
    return np.floor(a)


def vwhere_ge(a, b, x, y):
    return np.where(a >= b, x, y)


def vpow2(n):
    return np.ldexp(np.ones_like(n), n.astype(np.int64)).astype(n.dtype)


def vload_cast(a, x, j, k):
    v = np.zeros(lanes(a), a.dtype)
    v[:k] = x[j : j + k]
    return v


class Vector(types.Type):
    """A Numba type: ``lanes`` floats of ``dtype`` in one LLVM vector value."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.lanes = VECTOR_BYTES // (dtype.bitwidth // 8)
        super().__init__(name=f"Vector({dtype} x {self.lanes})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = ir.FloatType() if fe_type.dtype == types.float32 else ir.DoubleType()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


_I32 = ir.IntType(32)


def _is_matrix(a):
    return isinstance(a, types.Array) and a.ndim == 2 and a.dtype in (types.float32, types.float64)


def _pointer(context, builder, array_type, array, row, col, vector_type):
    arr = context.make_array(array_type)(context, builder, array)
    ptr = cgutils.get_item_pointer(context, builder, array_type, arr, [row, col], wraparound=False)
    return builder.bitcast(ptr, context.get_value_type(vector_type).as_pointer())


def _first_lanes(builder, n_lanes, k):
    """The mask ``lane < k`` (i1 per lane)."""
    index = ir.Constant(ir.VectorType(_I32, n_lanes), list(range(n_lanes)))
    k32 = builder.trunc(k, _I32)
    splat = builder.insert_element(ir.Constant(ir.VectorType(_I32, n_lanes), ir.Undefined), k32, ir.Constant(_I32, 0))
    splat = builder.shuffle_vector(splat, splat, ir.Constant(ir.VectorType(_I32, n_lanes), [0] * n_lanes))
    return builder.icmp_signed("<", index, splat)


def _suffix(vector_type):
    return f"v{vector_type.lanes}f{vector_type.dtype.bitwidth}"


def _unless_full(builder, k, n_lanes, plain, masked):
    """``masked()`` where every chunk takes the masked instruction (:data:`AVX512`),
    else ``plain()`` when ``k >= n_lanes`` and ``masked()`` otherwise; returns their value (or
    None for stores)."""
    if AVX512:
        return masked()
    full = builder.icmp_signed(">=", k, ir.Constant(k.type, n_lanes))
    with builder.if_else(full, likely=True) as (then, otherwise):
        with then:
            whole = plain()
            whole_block = builder.block
        with otherwise:
            part = masked()
            part_block = builder.block
    if whole is None:
        return None
    value = builder.phi(whole.type)
    value.add_incoming(whole, whole_block)
    value.add_incoming(part, part_block)
    return value


def _load_first(builder, element_ptr, element_type, bits, n_lanes, k):
    """The ``n_lanes`` floats of ``bits`` bits from ``element_ptr``, the first ``k`` read from
    memory, the rest zero (a masked load, or a plain one for a full chunk: :func:`_unless_full`)."""
    value_type = ir.VectorType(element_type, n_lanes)
    ptr = builder.bitcast(element_ptr, value_type.as_pointer())

    def masked():
        mask = _first_lanes(builder, n_lanes, k)
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(value_type, [ptr.type, _I32, mask.type, value_type]),
            f"llvm.masked.load.v{n_lanes}f{bits}.p0",
        )
        return builder.call(fn, [ptr, ir.Constant(_I32, bits // 8), mask, ir.Constant(value_type, None)])

    return _unless_full(builder, k, n_lanes, lambda: builder.load(ptr, align=bits // 8), masked)


@intrinsic
def _load(typingctx, a, row, j, k):
    vector = Vector(a.dtype)

    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig.args[0], args[0], args[1], args[2], vector)
        element = context.get_value_type(vector.dtype)
        return _load_first(builder, ptr, element, vector.dtype.bitwidth, vector.lanes, args[3])

    return vector(a, types.intp, types.intp, types.intp), codegen


@intrinsic
def _store(typingctx, a, row, j, v, k):
    def codegen(context, builder, sig, args):
        vector = sig.args[3]
        ptr = _pointer(context, builder, sig.args[0], args[0], args[1], args[2], vector)
        value_type = context.get_value_type(vector)
        align = vector.dtype.bitwidth // 8

        def masked():
            mask = _first_lanes(builder, vector.lanes, args[4])
            fn = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.VoidType(), [value_type, ptr.type, _I32, mask.type]),
                f"llvm.masked.store.{_suffix(vector)}.p0",
            )
            builder.call(fn, [args[3], ptr, ir.Constant(_I32, align), mask])

        def plain():
            builder.store(args[3], ptr, align=align)

        _unless_full(builder, args[4], vector.lanes, plain, masked)
        return context.get_dummy_value()

    return types.void(a, types.intp, types.intp, v, types.intp), codegen


@intrinsic
def _splat(typingctx, a, x):
    vector = Vector(a.dtype)

    def codegen(context, builder, sig, args):
        value_type = context.get_value_type(vector)
        x = context.cast(builder, args[1], sig.args[1], vector.dtype)
        v = builder.insert_element(ir.Constant(value_type, ir.Undefined), x, ir.Constant(_I32, 0))
        return builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, vector.lanes), [0] * vector.lanes))

    return vector(a, x), codegen


@intrinsic
def _zero(typingctx, a):
    vector = Vector(a.dtype)

    def codegen(context, builder, sig, args):
        return ir.Constant(context.get_value_type(vector), None)

    return vector(a), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    def codegen(context, builder, sig, args):
        # fmuladd: one fused instruction where the CPU has FMA, a multiply and an add where not
        # (llvm.fma would be a library call per lane there)
        return _vector_call(builder, "fmuladd", sig.args[0], context.get_value_type(sig.args[0]), list(args))

    return a(a, b, c), codegen


def _horizontal_sum(builder, value, n):
    while n > 1:  # add the upper half onto the lower half until one lane is left
        half = n // 2
        low = builder.shuffle_vector(value, value, ir.Constant(ir.VectorType(_I32, half), list(range(half))))
        high = builder.shuffle_vector(value, value, ir.Constant(ir.VectorType(_I32, half), list(range(half, n))))
        value, n = builder.fadd(low, high), half
    return builder.extract_element(value, ir.Constant(_I32, 0))


@intrinsic
def _sum(typingctx, v):
    def codegen(context, builder, sig, args):
        return _horizontal_sum(builder, args[0], sig.args[0].lanes)

    return v.dtype(v), codegen


def _vector_call(builder, name, vector_type, value_type, args):
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(value_type, [value_type] * len(args)), f"llvm.{name}.{_suffix(vector_type)}"
    )
    return builder.call(fn, args)


def _elementwise(name, arity):
    """An intrinsic applying LLVM's ``name`` lane by lane to ``arity`` vectors of one type: an
    instruction (fadd, fmul, fsub, fdiv) or an ``llvm.<name>`` intrinsic (maxnum, fabs, floor)."""

    def typer(typingctx, *vectors):
        if not isinstance(vectors[0], Vector) or any(v != vectors[0] for v in vectors):
            return None

        def codegen(context, builder, sig, args):
            if name in ("fadd", "fmul", "fsub", "fdiv"):
                return getattr(builder, name)(*args)
            return _vector_call(builder, name, sig.args[0], context.get_value_type(sig.args[0]), list(args))

        return vectors[0](*vectors), codegen

    if arity == 1:
        return intrinsic(lambda typingctx, a: typer(typingctx, a))
    return intrinsic(lambda typingctx, a, b: typer(typingctx, a, b))


@intrinsic
def _where_ge(typingctx, a, b, x, y):
    if not isinstance(a, Vector) or not a == b == x == y:
        return None

    def codegen(context, builder, sig, args):
        return builder.select(builder.fcmp_ordered(">=", args[0], args[1]), args[2], args[3])

    return a(a, b, x, y), codegen


@intrinsic
def _pow2(typingctx, n):
    """``2**n`` for lanes holding integers in the normal exponent range: ``(n + bias) << mantissa``."""
    if not isinstance(n, Vector):
        return None

    def codegen(context, builder, sig, args):
        vector = sig.args[0]
        bits, bias, shift = (32, 127, 23) if vector.dtype == types.float32 else (64, 1023, 52)
        int_vector = ir.VectorType(ir.IntType(bits), vector.lanes)
        as_int = builder.fptosi(args[0], int_vector)
        biased = builder.add(as_int, ir.Constant(int_vector, [bias] * vector.lanes))
        shifted = builder.shl(biased, ir.Constant(int_vector, [shift] * vector.lanes))
        return builder.bitcast(shifted, context.get_value_type(vector))

    return n(n), codegen


@intrinsic
def _load_cast(typingctx, a, x, j, k):
    """``x[j:j+k]`` (1-D, any float type) as the first ``k`` lanes of a vector of ``a``'s type."""
    if not (_is_matrix(a) and isinstance(x, types.Array) and x.ndim == 1 and x.dtype in (types.float32, types.float64)):
        return None
    vector = Vector(a.dtype)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[1])(context, builder, args[1])
        ptr = cgutils.get_item_pointer(context, builder, sig.args[1], array, [args[2]], wraparound=False)
        bits = x.dtype.bitwidth
        value = _load_first(builder, ptr, context.get_value_type(x.dtype), bits, vector.lanes, args[3])
        target = context.get_value_type(vector)
        if bits > vector.dtype.bitwidth:
            return builder.fptrunc(value, target)
        if bits < vector.dtype.bitwidth:
            return builder.fpext(value, target)
        return value

    return vector(a, x, types.intp, types.intp), codegen


@intrinsic
def _sum_first(typingctx, v, k):
    if not isinstance(v, Vector):
        return None

    def codegen(context, builder, sig, args):
        vector = sig.args[0]
        mask = _first_lanes(builder, vector.lanes, args[1])
        kept = builder.select(mask, args[0], ir.Constant(context.get_value_type(vector), None))
        if vector.dtype != types.float64:  # summed in float64 (a loss total keeps its precision)
            kept = builder.fpext(kept, ir.VectorType(ir.DoubleType(), vector.lanes))
        return _horizontal_sum(builder, kept, vector.lanes)

    return types.float64(v, types.intp), codegen


@overload(lanes)
def _lanes_overload(a):
    if isinstance(a, types.Array):
        n = VECTOR_BYTES // (a.dtype.bitwidth // 8)
        return lambda a: n
    return None


@overload(vzero)
def _vzero_overload(a):
    if _is_matrix(a) or isinstance(a, Vector):
        return lambda a: _zero(a)
    return None


@overload(vsplat)
def _vsplat_overload(a, x):
    if (_is_matrix(a) or isinstance(a, Vector)) and isinstance(x, (types.Float, types.Integer)):
        return lambda a, x: _splat(a, x)
    return None


@overload(vload)
def _vload_overload(a, row, j, k):
    if _is_matrix(a):
        return lambda a, row, j, k: _load(a, row, j, k)
    return None


@overload(vstore)
def _vstore_overload(a, row, j, v, k):
    if _is_matrix(a) and isinstance(v, Vector) and v.dtype == a.dtype:
        return lambda a, row, j, v, k: _store(a, row, j, v, k)
    return None


@overload(vfma)
def _vfma_overload(a, b, c):
    if isinstance(a, Vector) and a == b == c:
        return lambda a, b, c: _fma(a, b, c)
    return None


@overload(vsum)
def _vsum_overload(v):
    if isinstance(v, Vector):
        return lambda v: _sum(v)
    return None


@overload(vsum_first)
def _vsum_first_overload(v, k):
    if isinstance(v, Vector):
        return lambda v, k: _sum_first(v, k)
    return None


def _elementwise_overload(fn, name, arity):
    kernel = _elementwise(name, arity)
    if arity == 1:
        overload(fn)(lambda a: (lambda a: kernel(a)) if isinstance(a, Vector) else None)
    else:
        overload(fn)(lambda a, b: (lambda a, b: kernel(a, b)) if isinstance(a, Vector) and a == b else None)


for _fn, _name, _arity in (
    (vadd, "fadd", 2),
    (vmul, "fmul", 2),
    (vsub, "fsub", 2),
    (vdiv, "fdiv", 2),
    (vmax, "maxnum", 2),
    (vabs, "fabs", 1),
    (vfloor, "floor", 1),
):
    _elementwise_overload(_fn, _name, _arity)


@overload(vwhere_ge)
def _vwhere_ge_overload(a, b, x, y):
    if isinstance(a, Vector) and a == b == x == y:
        return lambda a, b, x, y: _where_ge(a, b, x, y)
    return None


@overload(vpow2)
def _vpow2_overload(n):
    if isinstance(n, Vector):
        return lambda n: _pow2(n)
    return None


@overload(vload_cast)
def _vload_cast_overload(a, x, j, k):
    if _is_matrix(a):
        return lambda a, x, j, k: _load_cast(a, x, j, k)
    return None
