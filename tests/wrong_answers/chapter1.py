"""Chapter 1: wrong-but-plausible answers to its exercises (see ``__init__``)."""

from __future__ import annotations

import ml_dtypes
import numpy as np

from wrong_answers.common import wrong

# --- 1.1 · a float32 running mean -----------------------------------------------------------


class _RunningMeanBase:
    def __init__(self):
        self._total = np.float32(0.0)
        self._count = 0

    @property
    def count(self):
        return self._count

    def total(self):
        return np.float32(self._total)

    def mean(self):
        return np.float32(self._total / self._count)


def _p11(cls):
    from demos.precision import exercises

    return exercises.check_1(cls)


@wrong("1.1", "keeps only the last batch's mean", r"one at a time: \d")
def _():
    class LastMean(_RunningMeanBase):
        def add(self, batch):
            values = np.asarray(batch, dtype=np.float32)
            self._last = np.float32(values.mean(dtype=np.float32))
            self._count += values.size

        def mean(self):
            return self._last

    return _p11(LastMean)


@wrong("1.1", "a float64 total inside a one-element array", r"array of float64")
def _():
    class Boxed(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._total = np.zeros(1, np.float64)

        def add(self, batch):
            values = np.asarray(batch, dtype=np.float32)
            self._total += values.sum(dtype=np.float64)
            self._count += values.size

        def mean(self):
            return np.float32(self._total[0] / self._count)

    return _p11(Boxed)


@wrong("1.1", "a Python float total (float64 by another name)", r"holds a Python float")
def _():
    class PyFloat(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._total = 0.0

        def add(self, batch):
            self._total += float(np.asarray(batch, np.float32).sum(dtype=np.float64))
            self._count += np.size(batch)

    return _p11(PyFloat)


@wrong("1.1", "keeps every batch in float32 and sums them at the end", r"must not grow")
def _():
    class KeepAll(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._batches = []

        def add(self, batch):
            self._batches.append(np.asarray(batch, np.float32))
            self._count += np.size(batch)

        def total(self):
            return np.float32(np.concatenate(self._batches).sum(dtype=np.float64))

        def mean(self):
            return np.float32(self.total() / self._count)

    return _p11(KeepAll)


@wrong("1.1", "Kahan with the compensation added instead of subtracted", r"streams off by")
def _():
    class WrongSign(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._carry = np.float32(0.0)

        def add(self, batch):
            values = np.asarray(batch, dtype=np.float32)
            y = values.sum(dtype=np.float32) + self._carry
            t = np.float32(self._total + y)
            self._carry = np.float32((t - self._total) - y)
            self._total = t
            self._count += values.size

    return _p11(WrongSign)


@wrong("1.1", "an incremental float32 mean without compensation",
       r"1 of 4 streams off .*one at a time: within, \d")
def _():
    class Incremental(_RunningMeanBase):
        def add(self, batch):
            values = np.asarray(batch, dtype=np.float32).ravel()
            self._count += values.size
            step = values.mean(dtype=np.float32) - self._total
            self._total = np.float32(self._total + step * np.float32(values.size / self._count))

        def mean(self):
            return np.float32(self._total)

        def total(self):
            return np.float32(self._total * self._count)

    return _p11(Incremental)


@wrong("1.1", "the float64 total hidden in a list", r"holds a Python float")
def _():
    class Listed(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._total = [0.0]

        def add(self, batch):
            self._total[0] += float(np.asarray(batch, np.float32).sum(dtype=np.float64))
            self._count += np.size(batch)

        def mean(self):
            return np.float32(self._total[0] / self._count)

    return _p11(Listed)


@wrong("1.1", "Kahan right, but the count kept in float32", r"count is .* keep the count exact")
def _():
    class Float32Count(_RunningMeanBase):
        def __init__(self):
            super().__init__()
            self._carry = np.float32(0.0)
            self._count = np.float32(0.0)

        def add(self, batch):
            values = np.asarray(batch, dtype=np.float32)
            y = values.sum(dtype=np.float32) - self._carry
            t = np.float32(self._total + y)
            self._carry = np.float32((t - self._total) - y)
            self._total = t
            self._count = np.float32(self._count + np.float32(values.size))

    return _p11(Float32Count)


# --- 1.2 · a checked cast to bfloat16 -------------------------------------------------------

_BF16 = ml_dtypes.bfloat16


def _p12(cast):
    from demos.precision import exercises

    return exercises.check_2(cast)


def _bf16(values):
    x = np.asarray(values, np.float64)
    with np.errstate(over="ignore", under="ignore"):
        out = x.astype(_BF16)
    return x, out, out.astype(np.float64)


def _real_budget(x, back):
    eps = float(ml_dtypes.finfo(_BF16).eps)
    if np.any(np.isfinite(x) & ~np.isfinite(back)) or np.any(np.abs(back - x) > eps * np.abs(x)):
        raise ValueError("out of budget")


@wrong("1.2", "refuses overflow only", r"the id 257 passed in silence")
def _():
    def cast(values, kind, resolution=None, rtol=None):
        x, out, back = _bf16(values)
        if not np.all(np.isfinite(back)):
            raise ValueError("overflow")
        return out

    return _p12(cast)


@wrong("1.2", "decides from the values: all whole numbers means ids (the old fix)",
       r"0\.5 and 257 as ids passed in silence")
def _():
    def cast(values, kind, resolution=None, rtol=None):
        x, out, back = _bf16(values)
        if np.all(x == np.round(x)):
            if np.any(back != x):
                raise ValueError("an id changed")
            return out
        _real_budget(x, back)
        return out

    return _p12(cast)


@wrong("1.2", "ignores the kind: every input under the relative budget",
       r"the id 257 passed in silence")
def _():
    def cast(values, kind, resolution=None, rtol=None):
        x, out, back = _bf16(values)
        _real_budget(x, back)
        return out

    return _p12(cast)


@wrong("1.2", "refuses every whole number above 256, whatever its kind",
       r"70000 as real, past float16's range raised")
def _():
    def cast(values, kind, resolution=None, rtol=None):
        x, out, back = _bf16(values)
        if np.any((x == np.round(x)) & (np.abs(x) > 256)):
            raise ValueError("not exact")
        _real_budget(x, back)
        return out

    return _p12(cast)


@wrong("1.2", "a timestamp judged by the relative budget, not its resolution",
       r"Unix seconds at 1 second passed in silence")
def _():
    def cast(values, kind, resolution=None, rtol=None):
        x, out, back = _bf16(values)
        if kind in ("id", "count") and np.any((x != np.round(x)) | (back != x)):
            raise ValueError("not exact")
        _real_budget(x, back)
        return out

    return _p12(cast)


@wrong("1.2", "ids checked for exactness, but fractions let through",
       r"the count 2\.5 passed in silence")
def _():
    def cast(values, kind, resolution=None, rtol=None):
        x, out, back = _bf16(values)
        if kind in ("id", "count") and np.any(np.abs(x) > 256):
            raise ValueError("not exact")
        if kind == "timestamp" and np.any(np.spacing(np.abs(out)).astype(float) > resolution):
            raise ValueError("too coarse")
        _real_budget(x, back)
        return out

    return _p12(cast)


@wrong("1.2", "a relative budget of float32's epsilon, refusing ordinary values", r"raised")
def _():
    def cast(values, kind, resolution=None, rtol=None):
        x, out, back = _bf16(values)
        if np.any(np.abs(back - x) > 1.2e-7 * np.abs(x)):
            raise ValueError("moved")
        return out

    return _p12(cast)


@wrong("1.2", "checks right, but returns float32", r"came back as float32")
def _():
    def cast(values, kind, resolution=None, rtol=None):
        x, out, back = _bf16(values)
        if kind in ("id", "count") and np.any((x != np.round(x)) | (back != x)):
            raise ValueError("not exact")
        if kind == "timestamp" and np.any(np.spacing(np.abs(out)).astype(float) > resolution):
            raise ValueError("too coarse")
        if kind == "real":
            _real_budget(x, back)
        return back.astype(np.float32)

    return _p12(cast)


def _cast12(values, kind, resolution=None, rtol=None, *, timestamp_exact=False,
            strict_gap=False, exact_up_to_256=False, counts_may_be_negative=False,
            rtol_mode="right", refuse_zero=False):
    """A right bfloat16 cast, with one mistake switched on by the caller."""
    x, out, back = _bf16(values)
    if kind in ("id", "count"):
        if np.any((x != np.round(x)) | (back != x)):
            raise ValueError("not exact")
        if exact_up_to_256 and np.any(np.abs(x) > 256):
            raise ValueError("past 256")
        if kind == "count" and not counts_may_be_negative and np.any(x < 0):
            raise ValueError("negative")
    elif kind == "timestamp":
        gap = np.spacing(np.abs(out)).astype(float)
        if timestamp_exact:
            if np.any(back != x):
                raise ValueError("moved")
        elif np.any(gap >= resolution if strict_gap else gap > resolution):
            raise ValueError("too coarse")
    else:
        if refuse_zero and np.any(back == 0):  # "non-zero" read as "never 0", a 0 sent included
            raise ValueError("underflow: became 0")
        eps = float(ml_dtypes.finfo(_BF16).eps)
        budget = {"right": eps if rtol is None else rtol, "ignored": eps,
                  "ulps": eps * (1.0 if rtol is None else rtol)}[rtol_mode]
        if np.any(np.isfinite(x) & ~np.isfinite(back)) or np.any(
                np.abs(back - x) > budget * np.abs(x)):
            raise ValueError("out of budget")
    return out


@wrong("1.2", "a timestamp checked for exactness, not against its resolution",
       r"Unix seconds of 2023 at 1 second passed in silence")
def _():
    return _p12(lambda v, k, **kw: _cast12(v, k, **kw, timestamp_exact=True))


@wrong("1.2", "a timestamp refused when the spacing equals its resolution",
       r"300\.5 at a resolution of 2 .* raised")
def _():
    return _p12(lambda v, k, **kw: _cast12(v, k, **kw, strict_gap=True))


@wrong("1.2", "every id or count above 256 refused (bfloat16 holds all whole numbers to 256)",
       r"the even ids 258 and 512 raised")
def _():
    return _p12(lambda v, k, **kw: _cast12(v, k, **kw, exact_up_to_256=True))


@wrong("1.2", "a count checked like an id: negative counts let through",
       r"the count -3 passed in silence")
def _():
    return _p12(lambda v, k, **kw: _cast12(v, k, **kw, counts_may_be_negative=True))


@wrong("1.2", "the declared rtol ignored: always bfloat16's epsilon",
       r"0\.1 as real within rtol 1e-4 passed in silence")
def _():
    return _p12(lambda v, k, **kw: _cast12(v, k, **kw, rtol_mode="ignored"))


@wrong("1.2", "rtol read as a number of bfloat16 epsilons",
       r"0\.1 as real within rtol 0\.01 raised")
def _():
    return _p12(lambda v, k, **kw: _cast12(v, k, **kw, rtol_mode="ulps"))


@wrong("1.2", "refuses every real value that is 0 after the cast, a 0 sent as 0 included",
       r"0\.0 as real, sent as 0 raised")
def _():
    return _p12(lambda v, k, **kw: _cast12(v, k, **kw, refuse_zero=True))


@wrong("1.2", "every budget right, but NaN and inf let through (no finite check)",
       r"nan as real passed in silence")
def _():
    return _p12(_cast12)


# --- 1.3 · an int8 cast ---------------------------------------------------------------------


def _p13(quantize):
    from demos.precision import exercises

    return exercises.check_3(quantize)


@wrong("1.3", "rounds, but wraps what does not fit", r"out of range: returned")
def _():
    return _p13(lambda v, s: np.rint(np.asarray(v, np.float64) / s).astype(np.int8))


@wrong("1.3", "rounds and clips: saturates in silence", r"out of range: returned")
def _():
    return _p13(lambda v, s: np.clip(np.rint(np.asarray(v) / s), -128, 127).astype(np.int8))


@wrong("1.3", "truncates toward zero, refuses what does not fit", r"round to 3 and -3: got")
def _():
    def quantize(values, scale):
        q = np.trunc(np.asarray(values, np.float64) / scale)
        if not np.all(np.isfinite(q)) or np.any((q < -128) | (q > 127)):
            raise ValueError("out of range")
        return q.astype(np.int8)

    return _p13(quantize)


@wrong("1.3", "range checked, nan let through", r"nan has no int8")
def _():
    def quantize(values, scale):
        q = np.rint(np.asarray(values, np.float64) / scale)
        if np.any((q < -128) | (q > 127)):
            raise ValueError("out of range")
        with np.errstate(invalid="ignore"):
            return q.astype(np.int8)

    return _p13(quantize)


@wrong("1.3", "range check off by one: |q| > 128 refused, so 128 wraps to -128",
       r"12\.8 at scale 0\.1 is 128: one past the end: returned")
def _():
    def quantize(values, scale):
        q = np.rint(np.asarray(values, np.float64) / scale)
        if not np.all(np.isfinite(q)) or np.any(np.abs(q) > 128):
            raise ValueError("out of range")
        return q.astype(np.int8)

    return _p13(quantize)


@wrong("1.3", "range checked before rounding, on the truncated value",
       r"12\.76 at scale 0\.1 rounds to 128: out of range: returned")
def _():
    def quantize(values, scale):
        scaled = np.asarray(values, np.float64) / scale
        t = np.trunc(scaled)
        if not np.all(np.isfinite(t)) or np.any((t < -128) | (t > 127)):
            raise ValueError("out of range")
        return np.rint(scaled).astype(np.int8)

    return _p13(quantize)


# --- 1.4 · what a float16 graph computes in float32 -----------------------------------------


def _p14(answer):
    from demos.precision import exercises

    return exercises.check_4(answer)


def _typed(model):
    """(graph, {tensor name: elem type}) of a model, by onnx shape inference."""
    import onnx

    graph = onnx.shape_inference.infer_shapes(model).graph
    types = {v.name: v.type.tensor_type.elem_type
             for v in [*graph.input, *graph.output, *graph.value_info]}
    types.update({t.name: t.data_type for t in graph.initializer})
    return graph, types


@wrong("1.4", "counts only the nodes that read a Cast onnxruntime inserted",
       r"missing \['Erf', 'Exp', 'ReduceMax'\]")
def _():
    from demos.precision import graphs

    return _p14(graphs.float32_islands)


@wrong("1.4", "reads the model as stored, not the graph onnxruntime runs",
       r"float16: expected .*got \{\} \(missing")
def _():
    import onnx

    def answer(model):
        graph, types = _typed(onnx.load_from_string(model))
        found = {}
        for node in graph.node:
            if node.op_type != "Cast" and 1 in [types.get(t) for t in [*node.input, *node.output]]:
                found[node.op_type] = found.get(node.op_type, 0) + 1
        return found

    return _p14(answer)


@wrong("1.4", "counts the Cast nodes too", r"not float32 \['Cast'\]")
def _():
    from demos.precision import graphs

    return _p14(lambda model: graphs.compute_dtypes(model).get("float32", {}))


@wrong("1.4", "lists every node of the optimised graph, whatever its dtype",
       r"not float32 \['Reshape'\]")
def _():
    from collections import Counter

    from demos.precision import graphs

    def answer(model):
        graph = graphs.optimized_graph(model, level="all")
        return dict(Counter(n.op_type for n in graph.node if n.op_type != "Cast"))

    return _p14(answer)


@wrong("1.3", "range checked before rounding: 127.4 and -128.4 refused",
       r"round to the ends: raised")
def _():
    def quantize(values, scale):
        q = np.asarray(values, np.float64) / scale
        if not np.all(np.isfinite(q)) or np.any((q < -128) | (q > 127)):
            raise ValueError("out of range")
        return np.rint(q).astype(np.int8)

    return _p13(quantize)


# --- 1.5 · int8 weights with one scale per row ----------------------------------------------


def _p15(answer):
    from demos.precision import exercises

    return exercises.check_5(answer)


@wrong("1.5", "one scale for the whole matrix", r"one scale for the whole matrix, not one per row")
def _():
    def quantize_rows(w):
        scale = np.abs(w).max() / 127
        return np.rint(w / scale).astype(np.int8), np.full(w.shape[0], scale)

    return _p15(quantize_rows)


@wrong("1.5", "truncates toward zero instead of rounding",
       r"rows off by more than half their own step.*q truncates toward zero")
def _():
    def quantize_rows(w):
        top = np.abs(w).max(axis=1)
        scales = np.where(top > 0, top / 127, 1.0)
        return (w / scales[:, None]).astype(np.int8), scales

    return _p15(quantize_rows)


@wrong("1.5", "one scale per column", r"expected one per row")
def _():
    def quantize_rows(w):
        top = np.abs(w).max(axis=0)
        scales = np.where(top > 0, top / 127, 1.0)
        return np.rint(w / scales[None, :]).astype(np.int8), scales

    return _p15(quantize_rows)


@wrong("1.5", "divides a row of zeros by its zero scale",
       r"the scale of row 5 is 0\.0, expected finite and > 0")
def _():
    def quantize_rows(w):
        scales = np.abs(w).max(axis=1) / 127
        with np.errstate(invalid="ignore"):
            q = np.nan_to_num(np.rint(w / scales[:, None]))
        return q.astype(np.int8), scales

    return _p15(quantize_rows)


# rev15: five more, each refused with the mistake named


@wrong("1.5", "scale max|row| / 128: the largest weight rounds to 128 and wraps to -128",
       r"too small: its largest weight lands past 127 and wraps around to the other sign")
def _():
    def quantize_rows(w):
        top = np.abs(w).max(axis=1)
        scales = np.where(top > 0, top / 128, 1.0)
        return np.rint(w / scales[:, None]).astype(np.int8), scales

    return _p15(quantize_rows)


@wrong("1.5", "scale max|row| / 128, clipped to [-128, 127]",
       r"scale is 0\.992 x max\|row\| / 127, too small: .* is clipped")
def _():
    def quantize_rows(w):
        top = np.abs(w).max(axis=1)
        scales = np.where(top > 0, top / 128, 1.0)
        return np.clip(np.rint(w / scales[:, None]), -128, 127).astype(np.int8), scales

    return _p15(quantize_rows)


@wrong("1.5", "asymmetric min/max scale per row, zero point dropped", r"too small: .* is clipped")
def _():
    def quantize_rows(w):
        lo, hi = w.min(axis=1), w.max(axis=1)
        scales = np.where(hi > lo, (hi - lo) / 255, 1.0)
        q = np.rint((w - lo[:, None]) / scales[:, None]) - 128
        return np.clip(q, -128, 127).astype(np.int8), scales

    return _p15(quantize_rows)


@wrong("1.5", "scale from each row's mean |weight|",
       r"scale is 0\.\d+ x max\|row\| / 127, too small")
def _():
    def quantize_rows(w):
        mean = np.abs(w).mean(axis=1)
        scales = np.where(mean > 0, mean / 127, 1.0)
        return np.clip(np.rint(w / scales[:, None]), -127, 127).astype(np.int8), scales

    return _p15(quantize_rows)


@wrong("1.5", "codes stored as float16, not int8", r"q is float16 .*expected int8")
def _():
    def quantize_rows(w):
        top = np.abs(w).max(axis=1)
        scales = np.where(top > 0, top / 127, 1.0)
        return np.rint(w / scales[:, None]).astype(np.float16), scales

    return _p15(quantize_rows)


@wrong("1.5", "returns the dequantised matrix instead of the codes",
       r"holds the dequantised weights, q \* scale: return the int8 codes")
def _():
    def quantize_rows(w):
        top = np.abs(w).max(axis=1)
        scales = np.where(top > 0, top / 127, 1.0)
        return (np.rint(w / scales[:, None]) * scales[:, None]).astype(np.float32), scales

    return _p15(quantize_rows)


@wrong("1.5", "scale from each row's signed max, not its largest |weight|",
       r"too small: its largest weight lands past 127")
def _():
    def quantize_rows(w):
        top = w.max(axis=1)
        scales = np.where(top > 0, top / 127, 1.0)
        return np.clip(np.rint(w / scales[:, None]), -128, 127).astype(np.int8), scales

    return _p15(quantize_rows)
