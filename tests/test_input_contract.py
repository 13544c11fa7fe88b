"""Chapter 5: feeds that do not match the graph, and files newer than the runtime, caught
by the contract (fixed) or not (broken)."""

from __future__ import annotations

import json
import re
import types

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tokenizers
from onnx import TensorProto, helper, numpy_helper

from demos import catalogue
from demos.input_contract import (
    broken,
    cases,
    exercises,
    fixed,
    graphs,
    runtime,
    runtime_exercise,
    scenario,
    versions,
)
from demos.input_contract.facts import Fact, dtype, facts_named, name, number
from demos.input_contract.native_log import capture_native_stderr
from demos.input_contract.pooling import mask_mistakes
from demos.input_contract.runtime import RuntimeMismatchError
from demos.input_contract.signature import ContractError
from demos.models import tiny_encoder

ORT_VERSION = tuple(int(p) for p in ort.__version__.split(".")[:2])
#: The newest onnxruntime these expectations of onnxruntime's own messages were measured on.
MEASURED_ON = (1, 32)
#: Every bound in these tests: nothing here should take more than a second or two.
BOUND_S = 10.0

SILENT = ["mask_broadcast", "key_broadcast", "omitted_default", "swapped_outputs",
          "tokenizer_field_too_new"]
#: onnxruntime's messages leave out the input (int32, both size mismatches); serde's leaves out
#: the unknown type.
UNCLEAR = ["int32_ids", "sequence_mismatch", "batch_mismatch", "tokenizer_type_too_new"]
#: onnxruntime's messages name every fact: the name, the rank, the fixed size, both IR
#: versions, the opset and its domain, the operator and its domain.
NAMED_BY_RUNTIME = ["misspelt_name", "extra_name", "wrong_rank", "wrong_fixed_dim",
                    "ir_too_new", "opset_too_new", "unknown_operator"]
IR, OPSET = runtime.max_ir_version(), runtime.max_opset("")
ORT, TOK = re.escape(f"onnxruntime {ort.__version__}"), re.escape(
    f"tokenizers {tokenizers.__version__}")

#: The fixed contract's own words for every mistake on the tiny model (3 texts, 25 tokens).
PINNED = {
    "misspelt_name": r"^unknown input 'input_id' \(did you mean 'input_ids'\?\); expected "
                     r"inputs: input_ids, attention_mask, token_type_ids$",
    "extra_name": r"^unknown input 'position_ids'; expected inputs: input_ids, attention_mask, "
                  r"token_type_ids$",
    "int32_ids": r"^input 'input_ids' must be int64, got int32 \(lossless here: cast it with "
                 r"\.astype\)$",
    "wrong_rank": r"^input 'input_ids' must have rank 2 \[batch, sequence\], got shape \(25,\)$",
    "sequence_mismatch": r"^inputs disagree on dimension 'sequence': 'input_ids' has 25, "
                         r"'attention_mask' has 29$",
    "batch_mismatch": r"^inputs disagree on dimension 'batch': 'input_ids' has 3, "
                      r"'attention_mask' has 1$",
    "mask_broadcast": r"^inputs disagree on dimension 'sequence': 'input_ids' has 25, "
                      r"'attention_mask' has 1$",
    "key_broadcast": r"^inputs disagree on dimension 'n': 'query' has 6, 'key' has 1$",
    "wrong_fixed_dim": r"^input 'hidden' axis 2 must be 4 \[batch, sequence, 4\], "
                       r"got shape \(2, 5, 3\)$",
    "omitted_default": r"^input 'temperature' was left out and would silently take the model's "
                       r"default; pass it, or accept the default with "
                       r"use_defaults=\['temperature'\]$",
    "ir_too_new": rf"^the model has IR version {IR + 1} \(written by [^)]+\); {ORT} reads up to "
                  rf"IR version {IR}: upgrade onnxruntime, or re-export the model for IR "
                  rf"version {IR} and opset {OPSET}$",
    "opset_too_new": rf"^the model imports opset {OPSET + 1} of ai\.onnx; {ORT} reads up to "
                     rf"opset {OPSET}: upgrade onnxruntime, or re-export the model for IR "
                     rf"version {IR} and opset {OPSET}$",
    "unknown_operator": rf"^the model uses ai\.onnx\.contrib:StringRegexReplace, which {ORT} "
                        r"does not implement: register the library that implements it "
                        r"\(SessionOptions\.register_custom_ops_library\)$",
    "tokenizer_type_too_new": rf"^tokenizer\.json has model type 'WordPieceV2'; {TOK} knows "
                              r"BPE, Unigram, WordLevel, WordPiece: it was written by a newer "
                              r"tokenizers; upgrade tokenizers$",
    "tokenizer_field_too_new": rf"^tokenizer\.json has fields {TOK} ignores: "
                               r"model\.future_option: it was written by a newer tokenizers; "
                               r"upgrade tokenizers$",
}


@pytest.fixture(scope="module")
def tiny():
    return tiny_encoder()


@pytest.fixture()
def temperature():
    return graphs.session(graphs.temperature_classifier())


def _raise_through(impl, case):
    """Make mistake ``case`` by calling ``impl`` directly (no scenario judging)."""
    spec = scenario.CASES[case]
    if isinstance(spec, cases.LoadCase):
        kind, data = spec.make(scenario._encoder("tiny").tokenizer_json)
        return (impl.open_session if kind == "model" else impl.open_tokenizer)(data)
    session, right = scenario._setup("tiny", spec.model)
    arrays, outputs, use_defaults = spec.make(dict(right))
    with capture_native_stderr():
        return impl.ModelContract(session).run(arrays, outputs, use_defaults=use_defaults)


def test_every_case_has_a_pinned_message_except_the_one_the_fix_gets_right():
    assert set(PINNED) == set(scenario.CASES) - {"swapped_outputs"}
    assert set(SILENT + UNCLEAR + NAMED_BY_RUNTIME) == set(scenario.CASES)


@pytest.mark.parametrize("case", sorted(PINNED))
def test_fixed_contract_raises_its_own_error_in_its_own_words(case):
    """Kills fixed.py → broken.py: onnxruntime's errors are not ContractError, and the
    silent cases do not raise at all."""
    with pytest.raises(ContractError, match=PINNED[case]):
        _raise_through(fixed, case)


@pytest.mark.parametrize("case", sorted(PINNED))
def test_scenario_judges_the_fixed_contract_clear_by_the_same_rule(case):
    result = scenario.attempt(fixed, case, model="tiny", timeout_s=BOUND_S)
    assert result.verdict == "clear error", result.message
    assert re.search(PINNED[case], result.message)


def test_fixed_contract_gets_swapped_outputs_right():
    assert scenario.attempt(fixed, "swapped_outputs", model="tiny",
                            timeout_s=BOUND_S).verdict == "correct"


@pytest.mark.parametrize("case", SILENT)
def test_broken_contract_returns_a_silently_wrong_result(case):
    result = scenario.attempt(broken, case, model="tiny", timeout_s=BOUND_S)
    assert result.verdict == "silent wrong"
    if case in scenario.FEED_CASES:
        assert result.max_abs_diff > 1e-3


@pytest.mark.parametrize("case", UNCLEAR)
def test_broken_contract_lets_the_runtime_raise_an_error_that_does_not_name_the_problem(case):
    result = scenario.attempt(broken, case, model="tiny", timeout_s=BOUND_S)
    if ORT_VERSION <= MEASURED_ON:
        assert result.verdict == "unclear error", result.message
    else:  # a newer onnxruntime may name more; it must still raise, and never as the contract
        assert result.verdict in ("unclear error", "named by runtime"), result.message


@pytest.mark.parametrize("case", NAMED_BY_RUNTIME)
def test_onnxruntime_names_names_ranks_and_fixed_sizes_but_not_as_the_contract(case):
    result = scenario.attempt(broken, case, model="tiny", timeout_s=BOUND_S)
    assert result.verdict == "named by runtime", result.message
    with pytest.raises(Exception) as caught:
        _raise_through(broken, case)
    assert not isinstance(caught.value, ContractError)


def test_verdict_needs_the_contracts_type_and_every_fact():
    facts = (name("the input", "x"), dtype("the expected type", np.int64),
             dtype("the received type", np.int32))
    assert scenario.verdict_of(ContractError("input 'x' must be int64, got int32"),
                               facts) == "clear error"
    assert scenario.verdict_of(ValueError("x: expected tensor(int64), got tensor(int32)"),
                               facts) == "named by runtime"
    assert scenario.verdict_of(ContractError("input 'x' must be int64"), facts) == "unclear error"
    assert scenario.verdict_of(ContractError("anything at all"), ()) == "unclear error"


def test_a_fact_is_found_as_a_whole_token_never_in_noise():
    def found(message, fact):
        return facts_named(message, [fact])[0][1]

    assert not found("missing input_ids", name("the name fed", "input_id"))
    assert found("feed (['input_id', 'mask'])", name("the name fed", "input_id"))
    assert not found("opset of ai.onnx.contrib", name("the domain", "ai.onnx"))
    assert found("official support for domain ai.onnx is till opset 28.",
                 name("the domain", "ai.onnx"))
    assert found("official support for domain ai.onnx is till opset 28.", number("max", 28))
    for noise in ("version 1.14", "140 columns", "/src/core/graph/model.cc:14 failed",
                  "[ONNXRuntimeError] : 14 : NOT_IMPLEMENTED : failed"):
        assert not found(noise, number("the highest IR version", 14)), noise
    assert found("tensor(float)", dtype("the type", np.float32))
    assert found("got shape (25,)", number("the received rank", 1, (25,)))
    with pytest.raises(ValueError, match=r"^a fact is spelled as one or more single tokens, "):
        Fact("advice", ("upgrade onnxruntime",))


def _cases_facts(case, model="tiny"):
    spec = scenario.CASES[case]
    if isinstance(spec, cases.LoadCase):
        return spec.facts(), None, None
    _, right = scenario._setup(model, spec.model)
    fed = spec.make(dict(right))[0]
    return spec.facts(right, fed), right, fed


@pytest.mark.parametrize("case", sorted(scenario.FEED_CASES))
def test_a_feed_cases_facts_come_from_what_it_changed(case):
    """Not from anybody's message: the input named is the one fed differently, and the
    expected and received values are read from the right and the fed arrays."""
    facts, right, fed = _cases_facts(case)
    changed = (set(right) ^ set(fed)) | {k for k in set(right) & set(fed)
                                         if np.shape(right[k]) != np.shape(fed[k])
                                         or np.asarray(right[k]).dtype != np.asarray(fed[k]).dtype}
    where = [f.value for f in facts if f.what in ("the input", "the name fed",
                                                   "the input left out")]
    if case == "swapped_outputs":
        assert facts == () and not changed
        return
    assert len(where) == 1 and where[0] in changed, (where, changed)
    for fact in facts:
        if fact.what.startswith("the expected"):
            source = right[where[0]]
        elif fact.what.startswith("the received"):
            source = np.asarray(fed[where[0]])
        else:
            continue
        assert fact.value in {str(source.dtype), str(source.ndim), *map(str, source.shape)}
    # Membership alone would pass a size read from the wrong axis (the batch is 3 wherever
    # it is read): the expected and the received value must differ, as the mistake makes them.
    expected = [f.value for f in facts if f.what.startswith("the expected")]
    received = [f.value for f in facts if f.what.startswith("the received")]
    assert len(expected) == len(received) and all(e != r for e, r in zip(expected, received,
                                                                          strict=True))


def test_load_cases_facts_come_from_what_the_runtime_was_observed_to_read():
    values = {case: [f.value for f in scenario.CASES[case].facts()]
              for case in scenario.LOAD_CASES}
    assert values["ir_too_new"] == [str(IR + 1), str(IR)]
    assert values["opset_too_new"] == ["ai.onnx", str(OPSET + 1), str(OPSET)]
    model = graphs.needs_extension()
    assert values["unknown_operator"] == [model.graph.node[0].op_type, model.graph.node[0].domain]
    assert values["tokenizer_type_too_new"] == ["model", cases.FUTURE_MODEL_TYPE]
    assert values["tokenizer_field_too_new"] == [cases.FUTURE_FIELD]


@pytest.mark.parametrize("case", sorted(PINNED))
def test_advice_is_welcome_but_not_a_fact(case):
    """The fixed messages stay clear without their advice: a verdict never rests on our
    own phrases ("upgrade onnxruntime", "use_defaults")."""
    with pytest.raises(ContractError) as caught:
        _raise_through(fixed, case)
    advice = r": upgrade |: register |; pass it|: it was written| \((lossless|casting)"
    message = re.split(advice, str(caught.value))[0]
    facts = _cases_facts(case)[0]
    assert all(found for _, found in facts_named(message, facts)), (message, facts)


@pytest.mark.parametrize("model", ["tiny", "real"])
def test_whole_catalogue_manifests_for_broken_and_holds_for_fixed(model):
    bad = scenario.run(broken, model=model, timeout_s=BOUND_S)
    good = scenario.run(fixed, model=model, timeout_s=BOUND_S)
    assert bad.manifested and bad.metrics["silent_wrong"] == len(SILENT)
    assert bad.metrics["clear_error"] == 0
    if ORT_VERSION <= MEASURED_ON:
        assert bad.metrics["unclear_error"] == len(UNCLEAR)
        assert bad.metrics["named_by_runtime"] == len(NAMED_BY_RUNTIME)
        assert bad.headline == (f"{len(SILENT)} of {len(scenario.CASES)} mistakes went silent, "
                                f"{len(UNCLEAR)} raised errors that leave out a fact (the "
                                "input, field or value at fault)")
    assert not good.manifested and good.metrics["clear_error"] == len(scenario.CASES) - 1
    assert good.metrics["correct"] == 1


@pytest.mark.parametrize("group, size", [("feeds", 11), ("loads", 5)])
def test_scenario_runs_the_feed_and_the_load_cases_apart(group, size):
    bad = scenario.run(broken, case=group, model="tiny", timeout_s=BOUND_S)
    good = scenario.run(fixed, case=group, model="tiny", timeout_s=BOUND_S)
    assert bad.manifested and not good.manifested
    assert sum(good.metrics[v.replace(" ", "_")] for v in scenario.VERDICTS) == size
    assert set(good.metrics) - {v.replace(" ", "_") for v in scenario.VERDICTS} == set(
        scenario.FEED_CASES if group == "feeds" else scenario.LOAD_CASES)


def test_single_case_report_carries_the_raw_message():
    report = scenario.run(broken, case="int32_ids", model="tiny", timeout_s=BOUND_S)
    assert report.manifested and "tensor(int32)" in report.metrics["message"]
    assert not scenario.run(fixed, case="int32_ids", model="tiny", timeout_s=BOUND_S).manifested


def test_scenario_rejects_an_unknown_case_model_and_bound():
    with pytest.raises(ValueError, match=r"^case must be one of 'all', 'feeds', 'loads', "
                       r"'misspelt_name', .*, got 'nope'$"):
        scenario.run(fixed, case="nope")
    with pytest.raises(ValueError, match=r"^model must be one of 'real', 'tiny', got 'big'$"):
        scenario.run(fixed, case="int32_ids", model="big")
    with pytest.raises(ValueError, match=r"^timeout_s must be a finite number > 0 \(seconds\), "
                       r"got 0$"):
        scenario.run(fixed, case="int32_ids", model="tiny", timeout_s=0)


def test_runtime_limits_are_observed_and_agree_with_onnxruntimes_own_words():
    assert IR >= 7 and OPSET >= 13
    with pytest.raises(Exception) as caught:
        broken.open_session(graphs.stamped(graphs.span_head(), ir_version=IR + 1))
    said = re.search(r"max supported IR version: (\d+)", str(caught.value))
    if said:  # the words onnxruntime has used since 2021 (onnxruntime#8796)
        assert int(said.group(1)) == IR
    assert broken.open_session(graphs.stamped(graphs.span_head(), ir_version=IR))
    assert broken.open_session(graphs.stamped(graphs.span_head(), opset=OPSET))
    assert runtime.max_opset("com.example.unchecked") is None


def test_fixed_opens_the_real_model_and_its_tokenizer_json(encoder):
    session = fixed.open_session(encoder.model_path.read_bytes())
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask",
                                                      "token_type_ids"]
    tok = fixed.open_tokenizer(encoder.tokenizer_json)
    assert tok.encode("a cat").ids == tokenizers.Tokenizer.from_str(
        encoder.tokenizer_json).encode("a cat").ids


def test_fixed_tokenizer_check_names_a_newer_format_and_an_unknown_normalizer(tiny):
    data = json.loads(tiny.tokenizer_json)
    with pytest.raises(RuntimeMismatchError, match=rf"^tokenizer\.json has format version "
                       rf"'2\.0'; {TOK} writes '{re.escape(runtime.tokenizer_format())}': it was "
                       r"written by a newer tokenizers; upgrade tokenizers$"):
        fixed.open_tokenizer(json.dumps({**data, "version": "2.0"}))
    with pytest.raises(RuntimeMismatchError, match=r"^tokenizer\.json has normalizer type "
                       r"'FutureNorm'; "):
        fixed.open_tokenizer(json.dumps({**data, "normalizer": {
            "type": "Sequence", "normalizers": [{"type": "FutureNorm"}]}}))
    with pytest.raises(RuntimeMismatchError, match=r"ignores: normalizer\.future$"
                       r"|ignores: normalizer\.future: "):
        fixed.open_tokenizer(json.dumps({**data, "normalizer": {**data["normalizer"],
                                                                "future": 1}}))


def test_fixed_openers_reject_bad_arguments():
    with pytest.raises(TypeError, match=r"^model must be bytes \(a serialized ONNX model\), "
                       r"got str$"):
        fixed.open_session("model.onnx")
    with pytest.raises(TypeError, match=r"^text must be the str contents of a tokenizer\.json, "
                       r"got bytes$"):
        fixed.open_tokenizer(b"{}")


def test_mislabelled_output_names_fool_asking_by_name_and_a_known_answer_sees_it():
    """pytorch#165758: names applied by position at export; by name is then wrong too."""
    hidden = np.eye(4, dtype=np.float32)[None]  # token k is the k-th unit vector
    for mislabelled in (False, True):
        session = graphs.session(graphs.span_head(mislabelled=mislabelled))
        out = fixed.ModelContract(session).run({"hidden": hidden})
        column = 1 if mislabelled else 0
        assert np.allclose(out["start_logits"][0], graphs.SPAN_WEIGHTS[:, column])


def test_overridable_initializer_is_not_listed_as_an_input_and_defaults_silently(temperature):
    assert [i.name for i in temperature.get_inputs()] == ["logits"]
    assert [i.name for i in temperature.get_overridable_initializers()] == ["temperature"]
    logits = np.array([[1.0, 2.0, 3.0]], np.float32)
    default = temperature.run(None, {"logits": logits})[0]
    assert np.allclose(default, np.exp(logits) / np.exp(logits).sum())


def test_onnxruntime_only_logs_a_warning_for_an_overridable_initializer():
    with capture_native_stderr() as log:
        graphs.session(graphs.temperature_classifier(), log_severity=2)
    assert log.text.startswith("[W:onnxruntime:")  # colour codes and timestamp removed
    assert "Initializer temperature appears in graph inputs" in log.text


def test_fixed_contract_takes_a_default_only_when_asked(temperature):
    contract = fixed.ModelContract(temperature)
    logits = np.zeros((2, 3), np.float32)
    with pytest.raises(ContractError, match=PINNED["omitted_default"]):
        contract.run({"logits": logits})
    out = contract.run({"logits": logits}, use_defaults=["temperature"])
    assert np.allclose(out["probs"], 1 / 3)


def test_fixed_contract_suggests_the_name_you_meant(tiny):
    contract = fixed.ModelContract(tiny.session)
    feeds = tiny.feeds(["x"])
    feeds["attention_maks"] = feeds.pop("attention_mask")
    with pytest.raises(ContractError, match=r"^unknown input 'attention_maks' \(did you mean "
                       r"'attention_mask'\?\); expected inputs: input_ids, attention_mask, "
                       r"token_type_ids$"):
        contract.feeds(feeds)
    with pytest.raises(ContractError, match=r"^missing input 'token_type_ids'; expected inputs: "
                       r"input_ids, attention_mask, token_type_ids$"):
        contract.feeds({k: v for k, v in tiny.feeds(["x"]).items() if k != "token_type_ids"})


def test_fixed_contract_refuses_to_cast_and_says_whether_casting_is_lossless(temperature):
    contract = fixed.ModelContract(temperature)
    with pytest.raises(ContractError, match=r"^input 'logits' must be float32, got float64 "
                       r"\(casting would lose information: convert it on purpose\)$"):
        contract.feeds({"logits": np.zeros((1, 3))}, use_defaults=["temperature"])
    with pytest.raises(ContractError, match=r"^input 'logits' must be float32, got float16 "
                       r"\(lossless here: cast it with .astype\)$"):
        contract.feeds({"logits": np.zeros((1, 3), np.float16)}, use_defaults=["temperature"])


def test_fixed_contract_checks_rank_fixed_sizes_and_shared_dims():
    head = fixed.ModelContract(graphs.session(graphs.span_head()))
    with pytest.raises(ContractError, match=r"^input 'hidden' must have rank 3 "
                       r"\[batch, sequence, 4\], got shape \(5, 4\)$"):
        head.feeds({"hidden": np.zeros((5, 4), np.float32)})
    with pytest.raises(ContractError, match=r"^input 'hidden' axis 2 must be 4 "
                       r"\[batch, sequence, 4\], got shape \(1, 5, 8\)$"):
        head.feeds({"hidden": np.zeros((1, 5, 8), np.float32)})
    pair = fixed.ModelContract(graphs.session(graphs.pair_scorer()))
    with pytest.raises(ContractError, match=r"^inputs disagree on dimension 'batch': "
                       r"'query' has 2, 'key' has 3$"):
        pair.feeds({"query": np.zeros((2, 4), np.float32), "key": np.zeros((3, 4), np.float32)})


def test_fixed_contract_returns_outputs_by_name_in_the_order_asked():
    session = graphs.session(graphs.span_head())
    hidden = np.random.default_rng(1).normal(size=(2, 3, 4)).astype(np.float32)
    out = fixed.ModelContract(session).run({"hidden": hidden}, ["end_logits", "start_logits"])
    assert list(out) == ["end_logits", "start_logits"]
    assert np.allclose(out["end_logits"], hidden @ graphs.SPAN_WEIGHTS[:, 1])
    swapped = broken.ModelContract(session).run({"hidden": hidden}, ["end_logits", "start_logits"])
    assert np.allclose(swapped["end_logits"], hidden @ graphs.SPAN_WEIGHTS[:, 0])


def test_fixed_contract_rejects_bad_arguments(temperature):
    contract = fixed.ModelContract(temperature)
    logits = {"logits": np.zeros((1, 3), np.float32), "temperature": np.float32(2)}
    with pytest.raises(ContractError, match=r"^unknown output 'prob' \(did you mean 'probs'\?\); "
                       r"expected outputs: probs$"):
        contract.run(logits, ["prob"])
    with pytest.raises(TypeError, match=r"^outputs must be a sequence of names, got str 'probs'$"):
        contract.run(logits, "probs")
    with pytest.raises(TypeError, match=r"^use_defaults must be a collection of names, "
                       r"got str 'temperature'$"):
        contract.feeds(logits, use_defaults="temperature")
    with pytest.raises(TypeError, match=r"^arrays must be a mapping of input names to arrays, "
                       r"got list$"):
        contract.feeds([np.zeros((1, 3), np.float32)])
    with pytest.raises(TypeError, match=r"^session must be an onnxruntime.InferenceSession, "
                       r"got str$"):
        fixed.ModelContract("model.onnx")


def test_broken_and_fixed_export_the_same_names():
    assert broken.__all__ == fixed.__all__


def test_mask_mistakes_change_padded_rows_only(tiny):
    texts = ["short", "a much longer text that sets the padded length of the batch"]
    cosines = mask_mistakes(tiny, texts)
    assert np.allclose(cosines["right (numpy pooling)"], 1, atol=1e-5)
    for mistake in ("mask ignored in attention", "padding counted in pooling"):
        assert cosines[mistake][0] < 0.99 and cosines[mistake][1] == pytest.approx(1, abs=1e-5)
    assert "pooler output" not in cosines  # the tiny model has no pooler weights
    with pytest.raises(ValueError, match=r"^texts must differ in length so the batch is padded, "
                       r"got 2 texts of 3 tokens each$"):
        mask_mistakes(tiny, ["same", "same"])


def test_catalogue_finds_the_chapter():
    pitfall = catalogue.find("input_contract")
    assert pitfall.chapter == 5 and pitfall.title == "The model's input contract"


def test_bench_reports_both_medians_and_their_ratio():
    result = scenario.bench(model="tiny", repeats=3)
    assert result["fixed_over_broken"] == pytest.approx(
        result["fixed_median_s"] / result["broken_median_s"])
    with pytest.raises(ValueError, match=r"^repeats must be an int >= 1, got 0$"):
        scenario.bench(model="tiny", repeats=0)


def test_scenario_accepts_a_readers_namespace_and_labels_it():
    mine = types.SimpleNamespace(ModelContract=fixed.ModelContract, NAME="yours")
    report = scenario.run(mine, case="omitted_default", model="tiny", timeout_s=BOUND_S)
    assert report.impl == "yours" and not report.manifested


def test_version_probes_answer_every_question_in_a_few_words():
    seen = versions.observe()
    assert set(seen) == set(versions.PROBES)
    assert all(isinstance(v, str) and 0 < len(v) <= 100 and ".cc" not in v and ".h:" not in v
               for v in seen.values())
    assert seen["max_ir_version"].startswith(f"loads IR {IR}; IR {IR + 1}: ")
    assert seen["max_opset"].startswith(f"loads opset {OPSET}; opset {OPSET + 1}: ")


# ----- exercises: the stub fails its check, the solution passes (copied from the notebook)


class _Stub1(broken.ModelContract):
    def run(self, arrays, outputs=None, *, use_defaults=()):
        return super().run(arrays, outputs, use_defaults=use_defaults)


class _Solution1(broken.ModelContract):
    def run(self, arrays, outputs=None, *, use_defaults=()):
        for spec in self.signature.defaults:
            if spec.name not in arrays and spec.name not in use_defaults:
                raise broken.ContractError(f"input {spec.name!r} was left out; pass it or "
                                           "list it in use_defaults")
        names = [s.name for s in self.signature.outputs] if outputs is None else list(outputs)
        return dict(zip(names, self.session.run(names, self.feeds(arrays)), strict=True))


def _stub2(session, encodings):
    return {"input_ids": np.array([e.ids for e in encodings], np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], np.int64)}


def _solution2(session, encodings):
    fields = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
    dtypes = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}
    feeds = {}
    for spec in session.get_inputs():
        if spec.name not in fields:
            raise ValueError(f"cannot supply input {spec.name!r} from a tokenizer")
        feeds[spec.name] = np.array([getattr(e, fields[spec.name]) for e in encodings],
                                    dtypes[spec.type])
    return feeds


def _stub3(session, weights):
    return {"start": "start_logits", "end": "end_logits"}


def _solution3(session, weights):
    hidden = np.eye(4, dtype=np.float32)[None]
    names = [o.name for o in session.get_outputs()]
    out = dict(zip(names, session.run(names, {"hidden": hidden}), strict=True))
    return {role: next(n for n, v in out.items() if np.allclose(v[0], weights[:, column]))
            for role, column in (("start", 0), ("end", 1))}


@pytest.mark.parametrize("check, stub, solution", [
    (exercises.check_1, _Stub1, _Solution1),
    (exercises.check_2, _stub2, _solution2),
    (exercises.check_3, _stub3, _solution3),
], ids=["5.1", "5.2", "5.3"])
def test_exercise_stub_fails_and_solution_passes(check, stub, solution):
    assert not check(stub).passed
    assert check(solution).raise_if_failed().passed


def test_exercise_checks_turn_a_crash_into_not_yet():
    def crashes(session, encodings):
        raise NotImplementedError("your turn")

    verdict = exercises.check_2(crashes)
    assert not verdict.passed and "not implemented yet" in verdict.message


def _weights_as_inputs(ir_version: int, opset: int) -> bytes:
    """``y = x @ w`` with the weight ``w`` listed among the graph inputs, as exporters wrote
    every weight before IR 4 (and torch's keep_initializers_as_input=True still does)."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "weights_as_inputs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(np.array([[1, 2], [3, 4]], np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def test_before_ir_4_an_initializer_listed_as_an_input_is_a_weight_and_the_contract_runs():
    """IR < 4 required every initializer among the graph inputs; onnxruntime reads them as
    constants (neither inputs nor overridable), so the contract neither asks for them nor
    refuses to run without them. From IR 4 on, the same file makes ``w`` a default."""
    x = np.ones((1, 2), np.float32)
    old = fixed.ModelContract(fixed.open_session(_weights_as_inputs(3, 8)))
    assert [s.name for s in old.signature.inputs] == ["x"] and old.signature.defaults == ()
    assert np.array_equal(old.run({"x": x})["y"], [[4, 6]])
    with pytest.raises(ContractError, match=r"^unknown input 'w'; expected inputs: x$"):
        old.run({"x": x, "w": np.eye(2, dtype=np.float32)})
    with pytest.raises(Exception, match=r"Invalid input name: w"):  # onnxruntime agrees
        old.session.run(None, {"x": x, "w": np.eye(2, dtype=np.float32)})
    with capture_native_stderr():  # the load-time warning about w
        new = fixed.ModelContract(fixed.open_session(_weights_as_inputs(4, 9)))
    assert [s.name for s in new.signature.defaults] == ["w"]
    with pytest.raises(ContractError, match=r"^input 'w' was left out and would silently "):
        new.run({"x": x})
    assert np.array_equal(new.run({"x": x}, use_defaults=["w"])["y"], [[4, 6]])
    assert np.array_equal(new.run({"x": x, "w": np.eye(2, dtype=np.float32)})["y"], x)


def test_the_verdict_grid_draws_each_side_in_its_own_family():
    """Whatever onnxruntime alone leads to is drawn in the broken family, what the contract
    leads to in the fixed family (issue 24: "named by runtime" was light blue)."""
    import matplotlib.pyplot as plt

    from demos import plotting
    from demos.input_contract import plots

    broken_side = {a.verdict for a in (scenario.attempt(broken, c, model="tiny")
                                       for c in scenario.CASES)}
    fixed_side = {a.verdict for a in (scenario.attempt(fixed, c, model="tiny")
                                      for c in scenario.CASES)}
    assert broken_side == {"silent wrong", "unclear error", "named by runtime"}
    assert fixed_side == {"clear error", "correct"}
    assert {plots.VERDICT_COLOURS[v] for v in broken_side} <= set(plotting.FAMILIES["broken"])
    assert {plots.VERDICT_COLOURS[v] for v in fixed_side} <= set(plotting.FAMILIES["fixed"])
    assert len(set(plots.VERDICT_COLOURS.values())) == len(scenario.VERDICTS)
    fig, ax = plots.verdict_grid({"broken": [scenario.attempt(broken, "wrong_rank",
                                                              model="tiny")]})
    assert ax.patches[0].get_facecolor()[:3] == pytest.approx(
        plt.matplotlib.colors.to_rgb(plotting.FAMILIES["broken"][3]))
    plt.close(fig)


def test_exercise_5_4_models_load_here_exactly_when_they_list_no_problem():
    """Each model's count of problems agrees with onnxruntime itself (the check's oracle):
    the ones with functions too (a body using an unknown operator or a too-new opset, a call
    to a function the model does not define in that domain, a function calling another)."""
    cases = runtime_exercise.models()
    assert len({what for what, _, _, _ in cases}) == len(cases) == 18
    wrong = [what for what, model, _, reasons in cases
             if runtime_exercise._loads(model) != (reasons == 0)]
    assert wrong == []
