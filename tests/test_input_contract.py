"""Chapter 5: feeds that do not match the graph, caught (fixed) or not (broken)."""

from __future__ import annotations

import types

import numpy as np
import onnxruntime as ort
import pytest

from demos import catalogue
from demos.input_contract import broken, fixed, graphs, scenario
from demos.input_contract.native_log import capture_native_stderr
from demos.input_contract.pooling import mask_mistakes
from demos.input_contract.signature import ContractError
from demos.models import tiny_encoder

ORT_VERSION = tuple(int(p) for p in ort.__version__.split(".")[:2])
#: The newest onnxruntime these expectations were measured on.
MEASURED_ON = (1, 32)

SILENT = ["mask_broadcast", "key_broadcast", "omitted_default", "swapped_outputs"]
UNCLEAR = ["int32_ids", "sequence_mismatch", "batch_mismatch"]
CLEAR = ["misspelt_name", "extra_name", "wrong_rank", "wrong_fixed_dim"]


@pytest.fixture(scope="module")
def tiny():
    return tiny_encoder()


@pytest.fixture()
def temperature():
    return graphs.session(graphs.temperature_classifier())


@pytest.mark.parametrize("case", SILENT)
def test_broken_contract_returns_a_silently_wrong_result(case):
    result = scenario.attempt(broken, case, model="tiny")
    assert result.verdict == "silent wrong"
    assert result.max_abs_diff > 1e-3


@pytest.mark.parametrize("case", UNCLEAR)
def test_broken_contract_lets_onnxruntime_raise_an_error_that_does_not_name_the_input(case):
    result = scenario.attempt(broken, case, model="tiny")
    if ORT_VERSION <= MEASURED_ON:
        assert result.verdict == "unclear error", result.message
    else:  # a newer onnxruntime may name the input; it must still raise
        assert result.verdict in ("unclear error", "clear error"), result.message


@pytest.mark.parametrize("case", CLEAR)
def test_onnxruntime_already_names_names_ranks_and_fixed_sizes(case):
    assert scenario.attempt(broken, case, model="tiny").verdict == "clear error"


@pytest.mark.parametrize("case", list(scenario.CASES))
def test_fixed_contract_names_every_mistake_or_gets_it_right(case):
    result = scenario.attempt(fixed, case, model="tiny")
    assert result.verdict == ("correct" if case == "swapped_outputs" else "clear error")


@pytest.mark.parametrize("model", ["tiny", "real"])
def test_whole_catalogue_manifests_for_broken_and_holds_for_fixed(model):
    bad, good = scenario.run(broken, model=model), scenario.run(fixed, model=model)
    assert bad.manifested and bad.metrics["silent_wrong"] == len(SILENT)
    assert not good.manifested and good.metrics["clear_error"] == len(scenario.CASES) - 1


def test_single_case_report_carries_the_raw_message():
    report = scenario.run(broken, case="int32_ids", model="tiny")
    assert report.manifested and "tensor(int32)" in report.metrics["message"]
    assert not scenario.run(fixed, case="int32_ids", model="tiny").manifested


def test_scenario_rejects_an_unknown_case_and_model():
    with pytest.raises(ValueError, match=r"^case must be one of misspelt_name, .*, got 'nope'$"):
        scenario.run(fixed, case="nope")
    with pytest.raises(ValueError, match=r"^model must be one of real, tiny, got 'big'$"):
        scenario.run(fixed, case="int32_ids", model="big")


def test_contract_table_lists_the_real_encoders_inputs_and_outputs(encoder):
    table = str(fixed.ModelContract(encoder.session)).splitlines()
    assert table[0].split() == ["kind", "name", "dtype", "shape"]
    assert table[2].split() == ["input", "input_ids", "int64", "[batch,", "sequence]"]
    assert table[-1].split() == ["output", "sentence_embedding", "float32", "[batch,", "384]"]


def test_real_encoder_contract_feeds_the_tokenizer_output_unchanged(encoder):
    texts = ["one text", "and a second, longer text"]
    out = fixed.ModelContract(encoder.session).run(encoder.feeds(texts), ["sentence_embedding"])
    assert np.allclose(out["sentence_embedding"], encoder.encode(texts), atol=1e-5)


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
    with pytest.raises(ContractError, match=r"^input 'temperature' was left out and would "
                       r"silently take the model's default; pass it, or accept the default "
                       r"with use_defaults=\['temperature'\]$"):
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
    with pytest.raises(ContractError, match=r"^missing input 'token_type_ids'; expected inputs"):
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
    report = scenario.run(mine, case="omitted_default", model="tiny")
    assert report.impl == "yours" and not report.manifested
