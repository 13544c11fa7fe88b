"""Chapter 5: wrong-but-plausible answers to its exercises (see ``__init__``)."""

from __future__ import annotations

import numpy as np

from wrong_answers.common import wrong

# --- 5.1 · outputs by name, defaults on purpose -------------------------------------------


def _p51(contract_class):
    from demos.input_contract import exercises

    return exercises.check_1(contract_class)


def _contract():
    from demos.input_contract import broken

    return broken


@wrong("5.1", "the default's name written into the class", r"second model.*passed in silence")
def _():
    broken = _contract()

    class HardCoded(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            if "logits" in arrays and "temperature" not in set(arrays) | set(use_defaults):
                raise broken.ContractError("input 'temperature' was left out")
            names = [s.name for s in self.signature.outputs] if outputs is None else outputs
            return dict(zip(names, self.session.run(list(names), self.feeds(arrays)),
                            strict=True))

    return _p51(HardCoded)


@wrong("5.1", "outputs asked by position, then labelled with the names asked for",
       r"silent wrong")
def _():
    broken = _contract()

    class Positional(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            for spec in self.signature.defaults:
                if spec.name not in arrays and spec.name not in use_defaults:
                    raise broken.ContractError(f"input {spec.name!r} was left out")
            names = [s.name for s in self.signature.outputs] if outputs is None else outputs
            values = self.session.run(None, self.feeds(arrays))
            return dict(zip(names, values, strict=True))

    return _p51(Positional)


@wrong("5.1", "every default refused, even those listed in use_defaults",
       r"no longer takes the stored default|ContractError")
def _():
    broken = _contract()

    class Refuses(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            for spec in self.signature.defaults:
                if spec.name not in arrays:
                    raise broken.ContractError(f"input {spec.name!r} was left out")
            return super().run(arrays, outputs, use_defaults=use_defaults)

    return _p51(Refuses)


@wrong("5.1", "a KeyError instead of the ContractError", r"clear error is a ContractError")
def _():
    broken = _contract()

    class KeyErr(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            for spec in self.signature.defaults:
                if spec.name not in arrays and spec.name not in use_defaults:
                    raise KeyError(spec.name)
            names = [s.name for s in self.signature.outputs] if outputs is None else outputs
            return dict(zip(names, self.session.run(list(names), self.feeds(arrays)),
                            strict=True))

    return _p51(KeyErr)


@wrong("5.1", "the left-out default refused only when every output is asked for",
       r"run\(x, outputs=\['shifted'\]\) left out scale and shift, which passed in silence")
def _():
    broken = _contract()

    class OnlyWithoutOutputs(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            if outputs is None:
                for spec in self.signature.defaults:
                    if spec.name not in arrays and spec.name not in use_defaults:
                        raise broken.ContractError(f"input {spec.name!r} was left out")
            names = [s.name for s in self.signature.outputs] if outputs is None else outputs
            return dict(zip(names, self.session.run(list(names), self.feeds(arrays)),
                            strict=True))

    return _p51(OnlyWithoutOutputs)


# --- 5.2 · feeds for a second model ---------------------------------------------------------

_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
_DTYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}


def _p52(make_feeds):
    from demos.input_contract import exercises

    return exercises.check_2(make_feeds)


def _declared_feeds(session, encodings, fields=_FIELDS):
    feeds = {}
    for spec in session.get_inputs():
        if spec.name not in fields:
            raise ValueError(f"cannot supply input {spec.name!r} from a tokenizer")
        feeds[spec.name] = np.array([getattr(e, fields[spec.name]) for e in encodings],
                                    _DTYPES[spec.type])
    return feeds


@wrong("5.2", "input_ids and attention_mask swapped", r"wrong values fed as")
def _():
    swapped = {**_FIELDS, "input_ids": "attention_mask", "attention_mask": "ids"}
    return _p52(lambda session, encodings: _declared_feeds(session, encodings, swapped))


@wrong("5.2", "fed by position: ids, mask, types, whatever the declared order",
       r"inputs in another order: wrong values fed")
def _():
    def feeds(session, encodings):
        columns = [[e.ids for e in encodings], [e.attention_mask for e in encodings],
                   [e.type_ids for e in encodings]]
        out = {}
        for spec, column in zip(session.get_inputs(), columns, strict=False):
            if spec.name not in _FIELDS:
                raise ValueError(f"cannot supply input {spec.name!r}")
            out[spec.name] = np.array(column, _DTYPES[spec.type])
        return out

    return _p52(feeds)


@wrong("5.2", "an attention mask of ones: the padding counted as text", r"wrong values fed as "
       r"attention_mask")
def _():
    ones = {**_FIELDS, "attention_mask": "ids"}

    def feeds(session, encodings):
        out = _declared_feeds(session, encodings, ones)
        if "attention_mask" in out:
            out["attention_mask"] = np.ones_like(out["attention_mask"])
        return out

    return _p52(feeds)


@wrong("5.2", "declared names, always int64", r"distilbert-like int32: onnxruntime refused")
def _():
    def feeds(session, encodings):
        out = _declared_feeds(session, encodings)
        return {k: v.astype(np.int64) for k, v in out.items()}

    return _p52(feeds)


@wrong("5.2", "an input it cannot supply fed as zeros", r"no ValueError for an input")
def _():
    def feeds(session, encodings):
        out = {}
        for spec in session.get_inputs():
            field = _FIELDS.get(spec.name)
            column = ([getattr(e, field) for e in encodings] if field else
                      [[0] * len(e.ids) for e in encodings])
            out[spec.name] = np.array(column, _DTYPES[spec.type])
        return out

    return _p52(feeds)


# --- 5.3 · outputs by a known answer --------------------------------------------------------


def _p53(identify):
    from demos.input_contract import exercises

    return exercises.check_3(identify)


@wrong("5.3", "the first declared output taken as start", r"wrong for: .*swapped")
def _():
    def identify(session, weights):
        first, second = (o.name for o in session.get_outputs())
        return {"start": first, "end": second}

    return _p53(identify)


@wrong("5.3", "compared with the weights' rows instead of columns", r"heads identified")
def _():
    def identify(session, weights):
        probe = np.eye(4, dtype=np.float32)[None]
        names = [o.name for o in session.get_outputs()]
        out = dict(zip(names, session.run(names, {"hidden": probe}), strict=True))
        return {role: min(out, key=lambda n: float(np.abs(out[n][0][:2] - weights[row]).sum()))
                for role, row in (("start", 0), ("end", 1))}

    return _p53(identify)


@wrong("5.3", "the output with the larger values taken as start", r"heads identified")
def _():
    def identify(session, weights):
        probe = np.ones((1, 4, 4), np.float32)
        names = [o.name for o in session.get_outputs()]
        out = dict(zip(names, session.run(names, {"hidden": probe}), strict=True))
        big, small = sorted(names, key=lambda n: -float(out[n].sum()))
        return {"start": big, "end": small}

    return _p53(identify)


# --- 5.4 · a model file against this onnxruntime ---------------------------------------------


def _p54(problems):
    from demos.input_contract import exercises

    return exercises.check_4(problems)


@wrong("5.4", "checks the IR version only", r"ai\.onnx opset \d+ does not load here")
def _():
    from demos.input_contract import runtime

    def problems(model):
        limit = runtime.max_ir_version()
        return ([f"IR version {model.ir_version}; this onnxruntime reads up to {limit}"]
                if model.ir_version > limit else [])

    return _p54(problems)


@wrong("5.4", "compares versions as strings", r"IR version \d+ loads here")
def _():
    from demos.input_contract import runtime

    def problems(model):
        limit = str(runtime.max_ir_version())
        found = [f"IR version {model.ir_version}; this onnxruntime reads up to {limit}"
                 for _ in [0] if str(model.ir_version) > limit]
        for opset in model.opset_import:
            top = runtime.max_opset(opset.domain)
            if top is not None and str(opset.version) > str(top):
                found.append(f"{opset.domain or 'ai.onnx'} opset {opset.version}; up to {top}")
        return found

    return _p54(problems)


@wrong("5.4", "checks the ai.onnx opset only, not the other domains",
       r"ai\.onnx\.ml opset \d+ does not load here")
def _():
    from demos.input_contract import runtime

    def problems(model):
        found = []
        if model.ir_version > runtime.max_ir_version():
            found.append(f"IR version {model.ir_version}; up to {runtime.max_ir_version()}")
        for opset in model.opset_import:
            if opset.domain in ("", "ai.onnx") and opset.version > runtime.max_opset(""):
                found.append(f"ai.onnx opset {opset.version}; up to {runtime.max_opset('')}")
        known = runtime.runtime_operators() or set()
        found += [f"operator {n.op_type} ({n.domain})" for n in model.graph.node
                  if known and (n.domain, n.op_type) not in known]
        return found

    return _p54(problems)


@wrong("5.4", "says the model is too new without naming a version",
       r"does not name \d+, \d+")
def _():
    from demos.input_contract import runtime

    def problems(model):
        too_new = model.ir_version > runtime.max_ir_version() or any(
            (top := runtime.max_opset(o.domain)) is not None and o.version > top
            for o in model.opset_import)
        known = runtime.runtime_operators() or set()
        unknown = [n.op_type for n in model.graph.node if (n.domain, n.op_type) not in known]
        return (["the model is too new for this onnxruntime"] if too_new else []) + unknown

    return _p54(problems)


@wrong("5.4", "never looks at the operators", r"StringRegexReplace.*reported nothing")
def _():
    from demos.input_contract import runtime

    def problems(model):
        found = []
        if model.ir_version > runtime.max_ir_version():
            found.append(f"IR version {model.ir_version}; up to {runtime.max_ir_version()}")
        for opset in model.opset_import:
            top = runtime.max_opset(opset.domain)
            if top is not None and opset.version > top:
                found.append(f"{opset.domain or 'ai.onnx'} opset {opset.version}; up to {top}")
        return found

    return _p54(problems)


@wrong("5.4", "opens the model and reports onnxruntime's error",
       r"opened .* with onnxruntime\.InferenceSession")
def _():
    import onnxruntime as ort

    def problems(model):
        try:
            ort.InferenceSession(model.SerializeToString())
        except Exception as error:  # the refusal is the report
            return [str(error)]
        return []

    return _p54(problems)


def _right_but(ir_limit, opset_limit, *, blind_ops=False, none_is_zero=False,
               at_limit_too=False, raw_domain=False, blind_functions=False):
    """The solution's shape, with the limits or the operator lookup taken another way."""
    from demos.input_contract import runtime

    def problems(model):
        found = []
        if model.ir_version > (ir := ir_limit()) or (at_limit_too and model.ir_version == ir):
            found.append(f"IR version {model.ir_version}; this onnxruntime reads up to {ir}")
        known = runtime.runtime_operators() or set()
        if not blind_functions:
            known = known | {(f.domain, f.name) for f in model.functions}
        names = {op for _, op in known}
        parts = [(model.opset_import, model.graph.node)] + [
            (f.opset_import, f.node) for f in model.functions]  # the bodies count too
        for imports, nodes in parts:
            for opset in imports:
                limit = opset_limit(opset.domain)
                if none_is_zero:
                    limit = limit or 0
                if limit is not None and (opset.version >= limit if at_limit_too
                                          else opset.version > limit):
                    found.append(f"{opset.domain or 'ai.onnx'} opset {opset.version}; "
                                 f"up to {limit}")
            for node in nodes:
                key = (node.domain if raw_domain or node.domain != "ai.onnx" else "",
                       node.op_type)
                if known and (node.op_type not in names if blind_ops else key not in known):
                    found.append(f"operator {node.op_type} from {node.domain or 'ai.onnx'}")
        return found

    return problems


@wrong("5.4", "onnx's own limits (onnx.IR_VERSION, onnx_opset_version()), not onnxruntime's",
       r"limits set to IR \d+.*stamped IR version \d+ does not load under those limits")
def _():
    import onnx

    from demos.input_contract import runtime

    return _p54(_right_but(lambda: onnx.IR_VERSION, lambda d: onnx.defs.onnx_opset_version()
                           if d in ("", "ai.onnx") else runtime.max_opset(d)))


@wrong("5.4", "the limits written in (IR 14, opset 28, ml 5)",
       r"limits set to IR \d+.*stamped IR version \d+ does not load under those limits")
def _():
    return _p54(_right_but(lambda: 14, lambda d: {"": 28, "ai.onnx": 28, "ai.onnx.ml": 5}.get(d)))


@wrong("5.4", "a None limit (a domain without one) taken as 0",
       r"my\.functions opset 1 .*loads here, but you reported")
def _():
    from demos.input_contract import runtime

    return _p54(_right_but(runtime.max_ir_version, runtime.max_opset, none_is_zero=True))


@wrong("5.4", "operators looked up by name, whatever their domain",
       r"Relu from ai\.onnx\.ml .*does not load here, and you reported nothing")
def _():
    from demos.input_contract import runtime

    return _p54(_right_but(runtime.max_ir_version, runtime.max_opset, blind_ops=True))


@wrong("5.4", "every problem joined into one line",
       r"reported 1 line\(s\).*it has 2 problem\(s\)")
def _():
    from demos.input_contract import runtime

    full = _right_but(runtime.max_ir_version, runtime.max_opset)
    return _p54(lambda model: ["; ".join(found)] if (found := full(model)) else [])


# --- 5.2, continued: the check's encodings are sentence pairs padded with a non-zero id ----


@wrong("5.2", "the attention mask rebuilt as ids != 0", r"wrong values fed as attention_mask")
def _():
    def feeds(session, encodings):
        out = _declared_feeds(session, encodings)
        if "attention_mask" in out:
            ids = np.array([e.ids for e in encodings])
            out["attention_mask"] = (ids != 0).astype(out["attention_mask"].dtype)
        return out

    return _p52(feeds)


@wrong("5.2", "token_type_ids fed as zeros", r"wrong values fed as token_type_ids")
def _():
    def feeds(session, encodings):
        out = _declared_feeds(session, encodings)
        if "token_type_ids" in out:
            out["token_type_ids"] = np.zeros_like(out["token_type_ids"])
        return out

    return _p52(feeds)


@wrong("5.4", "an off-by-one: a version at the limit (>=) taken as too new",
       r"stamped IR version \d+ \(the highest read\) loads here, but you reported")
def _():
    from demos.input_contract import runtime

    return _p54(_right_but(runtime.max_ir_version, runtime.max_opset, at_limit_too=True))


@wrong("5.4", "an off-by-one on the opset only (>=)",
       r"ai\.onnx opset \d+ \(the highest read\) loads here, but you reported")
def _():
    from demos.input_contract import runtime

    def ir_only_right(model):
        found = _right_but(runtime.max_ir_version, runtime.max_opset, at_limit_too=True)(model)
        return [line for line in found if not line.startswith("IR version")
                or model.ir_version > runtime.max_ir_version()]

    return _p54(ir_only_right)


@wrong("5.4", "a node's domain \"ai.onnx\" not read as \"\"",
       r"name their domain \"ai\.onnx\".*loads here, but you reported")
def _():
    from demos.input_contract import runtime

    return _p54(_right_but(runtime.max_ir_version, runtime.max_opset, raw_domain=True))


@wrong("5.1", "any use_defaults taken as accepting every default",
       r"run\(x, use_defaults=\['scale'\]\) left out shift, which passed in silence")
def _():
    broken = _contract()

    class AnyOptIn(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            if not use_defaults:  # the caller listed some defaults: take them all
                for spec in self.signature.defaults:
                    if spec.name not in arrays:
                        raise broken.ContractError(f"input {spec.name!r} was left out")
            names = [s.name for s in self.signature.outputs] if outputs is None else outputs
            return dict(zip(names, self.session.run(list(names), self.feeds(arrays)),
                            strict=True))

    return _p51(AnyOptIn)


@wrong("5.4", "a function the model defines itself reported as a missing operator",
       r"DoubleRelu, a function it defines itself .*loads here, but you reported")
def _():
    from demos.input_contract import runtime

    return _p54(_right_but(runtime.max_ir_version, runtime.max_opset, blind_functions=True))


def _probe_outputs(session):
    probe = np.eye(4, dtype=np.float32)[None]  # token k is the k-th unit vector
    names = [o.name for o in session.get_outputs()]
    return names, dict(zip(names, session.run(names, {"hidden": probe}), strict=True))


@wrong("5.3", "matched by the signs of each output, not its values", r"wrong for: weights 4")
def _():
    def identify(session, weights):
        names, out = _probe_outputs(session)
        start = next(n for n in names if (np.sign(out[n][0]) == np.sign(weights[:, 0])).all())
        return {"start": start, "end": next(n for n in names if n != start)}

    return _p53(identify)


@wrong("5.3", "matched by the first value only", r"wrong for: weights 4")
def _():
    def identify(session, weights):
        names, out = _probe_outputs(session)
        start = next(n for n in names if np.isclose(out[n][0][0], weights[0, 0]))
        return {"start": start, "end": next(n for n in names if n != start)}

    return _p53(identify)


# --- 5.1, continued: each default left out must be listed by its own name -----------------


def _contract_checking(check):
    """A ModelContract that runs ``check(defaults, arrays, use_defaults)`` before asking the
    session for its outputs by name (the solution's shape, with another rule for defaults)."""
    broken = _contract()

    class Contract(broken.ModelContract):
        def run(self, arrays, outputs=None, *, use_defaults=()):
            check([s.name for s in self.signature.defaults], arrays, use_defaults)
            names = [s.name for s in self.signature.outputs] if outputs is None else outputs
            return dict(zip(names, self.session.run(list(names), self.feeds(arrays)),
                            strict=True))

    return Contract


@wrong("5.1", "defaults counted, not named: as many may be left out as are listed",
       r"run\(x, scale, use_defaults=\['scale'\]\) left out shift, which passed in silence "
       r"\(are defaults counted")
def _():
    def check(defaults, arrays, use_defaults):
        missing = [name for name in defaults if name not in arrays]
        if len(missing) > len(use_defaults):
            raise _contract().ContractError(f"inputs {missing} were left out")

    return _p51(_contract_checking(check))


@wrong("5.1", "only the last default left out checked",
       r"run\(x, use_defaults=\['shift'\]\) left out scale, which passed in silence "
       r"\(is only the last")
def _():
    def check(defaults, arrays, use_defaults):
        missing = [name for name in defaults if name not in arrays]
        if missing and missing[-1] not in use_defaults:
            raise _contract().ContractError(f"input {missing[-1]!r} was left out")

    return _p51(_contract_checking(check))


@wrong("5.1", "all or nothing: use_defaults must list every default",
       r"run\(x, shift, use_defaults=\['scale'\]\) leaves out only what it lists, yet raised "
       r"ContractError")
def _():
    def check(defaults, arrays, use_defaults):
        if use_defaults and set(use_defaults) != set(defaults):
            raise _contract().ContractError(f"use_defaults must list every default: {defaults}")
        for name in defaults:
            if name not in arrays and not use_defaults:
                raise _contract().ContractError(f"input {name!r} was left out")

    return _p51(_contract_checking(check))


# --- 5.4, continued: the functions a model defines ------------------------------------------


def _function_aware(*, bodies=True, body_imports=True, body_calls=True, skip_domains=False,
                    by_name=False, every_custom=False):
    """The solution's shape (the graph, then each function's body), with one thing about the
    model's own functions taken another way."""
    from demos.input_contract import runtime

    def problems(model):
        found = []
        if model.ir_version > (ir := runtime.max_ir_version()):
            found.append(f"IR version {model.ir_version}; this onnxruntime reads up to {ir}")
        known = runtime.runtime_operators() or set()
        defined = {(f.domain, f.name) for f in model.functions}
        domains, names = {f.domain for f in model.functions}, {f.name for f in model.functions}
        parts = [("the model", model.opset_import, model.graph.node, True)] + [
            (f"function {f.name}", f.opset_import, f.node, False) for f in model.functions
        ] * bodies
        for who, imports, nodes, graph in parts:
            for opset in imports if graph or body_imports else ():
                limit = runtime.max_opset(opset.domain)
                if limit is not None and opset.version > limit:
                    found.append(f"{who}: {opset.domain or 'ai.onnx'} opset {opset.version}; "
                                 f"up to {limit}")
            for node in nodes:
                key = ("" if node.domain == "ai.onnx" else node.domain, node.op_type)
                custom = node.domain not in ("", "ai.onnx", "ai.onnx.ml")
                if ((skip_domains and node.domain in domains)
                        or (by_name and node.op_type in names)
                        or (every_custom and model.functions and custom)):
                    continue
                if known and key not in (known | defined if graph or body_calls else known):
                    found.append(f"{who}: operator {node.op_type} from {node.domain or 'ai.onnx'}")
        return found

    return problems


@wrong("5.4", "the function bodies never looked at",
       r"body uses NoSuchOp from com\.nowhere does not load here, and you reported nothing")
def _():
    return _p54(_function_aware(bodies=False))


@wrong("5.4", "a function's nodes checked, not its opset imports",
       r"imports ai\.onnx opset \d+ does not load here, and you reported nothing")
def _():
    return _p54(_function_aware(body_imports=False))


@wrong("5.4", "a function's body may call only the runtime's operators, not another function",
       r"QuadRelu, a function it defines whose body calls DoubleRelu.* loads here, but you "
       r"reported")
def _():
    return _p54(_function_aware(body_calls=False))


@wrong("5.4", "every node in a domain where the model defines functions skipped",
       r"calling my\.functions:TripleRelu does not load here, and you reported nothing")
def _():
    return _p54(_function_aware(skip_domains=True))


@wrong("5.4", "a function matched by its name only, whatever its domain",
       r"calling other\.functions:DoubleRelu does not load here, and you reported nothing")
def _():
    return _p54(_function_aware(by_name=True))


@wrong("5.4", "every custom-domain node skipped once the model defines functions",
       r"calling my\.functions:TripleRelu does not load here, and you reported nothing")
def _():
    return _p54(_function_aware(every_custom=True))


# --- 5.3, continued: columns that share their last row, their largest value, their sum ------


@wrong("5.3", "matched by the last value only", r"wrong for: weights 5")
def _():
    def identify(session, weights):
        names, out = _probe_outputs(session)
        start = next(n for n in names if np.isclose(out[n][0][-1], weights[-1, 0]))
        return {"start": start, "end": next(n for n in names if n != start)}

    return _p53(identify)


@wrong("5.3", "matched by each output's largest value", r"wrong for: weights 5")
def _():
    def identify(session, weights):
        names, out = _probe_outputs(session)
        return {role: min(names, key=lambda n: abs(out[n][0].max() - weights[:, c].max()))
                for role, c in (("start", 0), ("end", 1))}

    return _p53(identify)


@wrong("5.3", "matched by each output's sum over a probe of ones", r"wrong for: weights 5")
def _():
    def identify(session, weights):
        names = [o.name for o in session.get_outputs()]
        out = dict(zip(names, session.run(names, {"hidden": np.ones((1, 1, 4), np.float32)}),
                       strict=True))
        return {role: min(names, key=lambda n: abs(out[n].sum() - weights[:, c].sum()))
                for role, c in (("start", 0), ("end", 1))}

    return _p53(identify)
