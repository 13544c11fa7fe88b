"""The running example: converter vs numpy oracle, the encoder's contract, cache, threads."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re

import numpy as np
import onnx
import pytest

from demos.harness import hammer
from demos.models import (
    CACHE_ENV_VAR,
    INSTALL_COMMAND,
    Encoder,
    ModelNotInstalledError,
    bench,
    build_onnx,
    load_encoder,
    model_files,
    pairwise_cosines,
    reference_forward,
    source,
    tiny_encoder,
)
from demos.models.cache import load_or_build
from demos.models.fidelity import FIXTURE, Reference, compare, st_reference
from demos.models.tiny import TINY_CONFIG, tiny_weights

LONG_TEXT = " ".join(f"token{i} alpha beta" for i in range(150))  # ~ 600 word pieces
TEXTS = ["A man is eating food.", "x", "café naïve Zürich", "Das ist gut. " * 12]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return load_encoder()


@pytest.fixture(scope="module")
def tiny() -> Encoder:
    return tiny_encoder(seed=0)


def _reference(enc: Encoder, config: dict, weights: dict, texts: list[str]) -> None:
    feeds = enc.feeds(texts)
    hidden, pooled = enc.session.run(["last_hidden_state", "sentence_embedding"], feeds)
    ref_hidden, ref_pooled = reference_forward(config, weights, **feeds)
    assert np.abs(pooled - ref_pooled).max() <= 1e-5
    real = feeds["attention_mask"].astype(bool)  # padded positions are never used
    assert np.abs(hidden - ref_hidden)[real].max() <= 1e-5 * max(1.0, np.abs(ref_hidden).max())


def test_tiny_graph_matches_the_numpy_reference_on_a_padded_batch(tiny: Encoder) -> None:
    _reference(tiny, TINY_CONFIG, tiny_weights(0), [*TEXTS, LONG_TEXT])


def test_real_graph_matches_the_numpy_reference_on_a_padded_batch(encoder: Encoder) -> None:
    files = model_files()
    _reference(encoder, files.config, files.weights, TEXTS)


def test_graph_is_opset_17_and_looks_up_positions_by_slice_not_range() -> None:
    model = build_onnx(TINY_CONFIG, tiny_weights(1))
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    ops = {node.op_type for node in model.graph.node}
    assert {"Gather", "Slice", "LayerNormalization", "Erf", "Softmax", "ReduceL2"} <= ops
    assert "Range" not in ops
    dims = [[d.dim_param for d in i.type.tensor_type.shape.dim] for i in model.graph.input]
    assert dims == [["batch", "sequence"]] * 3


def test_session_contract_names_int64_inputs_and_384_wide_outputs(encoder: Encoder) -> None:
    rows = {(r["kind"], r["name"]): (r["type"], r["shape"]) for r in encoder.contract}
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert rows["input", name] == ("tensor(int64)", ["batch", "sequence"])
    assert rows["output", "last_hidden_state"] == ("tensor(float)", ["batch", "sequence", 384])
    assert rows["output", "sentence_embedding"] == ("tensor(float)", ["batch", 384])
    assert (encoder.dim, encoder.max_seq_length) == (384, 256)


def test_eating_food_is_closer_to_eating_bread_than_to_riding_a_horse(encoder: Encoder) -> None:
    food, bread, horse = encoder.encode(
        ["A man is eating food.", "A man is eating a piece of bread.", "A man is riding a horse."]
    )
    assert food @ bread > food @ horse + 0.3
    assert np.allclose(np.linalg.norm([food, bread, horse], axis=1), 1.0, atol=1e-6)


def test_a_sentence_alone_equals_itself_inside_a_padded_batch(encoder: Encoder) -> None:
    alone = encoder.encode(["x"])
    feeds = encoder.feeds([*TEXTS, LONG_TEXT])  # one call: "x" padded to 256 pieces
    batch = encoder.session.run(["sentence_embedding"], feeds)[0]
    assert np.abs(batch[1] - alone[0]).max() <= 1e-5


def test_encode_cuts_by_token_budget_and_returns_rows_in_input_order(encoder: Encoder) -> None:
    texts = [LONG_TEXT, *TEXTS, "A man is riding a horse.", LONG_TEXT[:200], "Zürich"]
    one_by_one = np.concatenate([encoder.encode([t]) for t in texts])
    for batch_size, budget in ((32, None), (4, 64), (2, 1)):
        cut = encoder.encode(texts, batch_size=batch_size, max_batch_tokens=budget)
        assert np.abs(cut - one_by_one).max() <= 1e-5


def test_token_lengths_count_pieces_after_truncation(encoder: Encoder) -> None:
    assert encoder.token_lengths(["x", LONG_TEXT]) == [3, 256]


def test_real_encoder_matches_sentence_transformers_on_the_stored_reference(
        encoder: Encoder) -> None:
    """tools/st_reference.py stored sentence-transformers' own output (torch, scratch venv)."""
    ref = st_reference()
    assert len(ref.texts) >= 24 and ref.max_seq_length == 256
    gap = compare(encoder, ref)
    assert gap["longest_uncut"] > 256  # one text is cut, on both sides alike
    assert gap["same_zip"], "the fixture was made from another model.zip: re-make it"
    assert gap["same_word_pieces"] and gap["longest"] == 256
    assert gap["max_abs_diff"] <= 1e-5
    assert gap["worst_cosine"] >= 1 - 1e-6


def test_the_reference_comparison_sees_a_row_that_is_not_its_texts(encoder: Encoder) -> None:
    ref = st_reference()
    shifted = Reference(ref.texts, np.roll(ref.embeddings, 1, axis=0), ref.word_pieces,
                        ref.versions, ref.max_seq_length, ref.model_zip_sha256)
    gap = compare(encoder, shifted)
    assert gap["worst_cosine"] < 0.9 and gap["max_abs_diff"] > 0.05


def test_a_reference_fixture_with_missing_rows_is_refused(tmp_path) -> None:
    raw = json.loads(FIXTURE.read_text(encoding="utf-8"))
    raw["texts"].append("one text too many")
    bad = tmp_path / "st_reference.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match=r"^embeddings_float32_le_base64: expected 33 x 384"):
        st_reference(bad)


@pytest.mark.parametrize("budget", [0, True, 2.5])
def test_encode_rejects_a_bad_token_budget(tiny: Encoder, budget) -> None:
    with pytest.raises(ValueError, match=r"^max_batch_tokens must be an int >= 1 or None, got "):
        tiny.encode(["fine"], max_batch_tokens=budget)


def test_texts_longer_than_256_pieces_are_truncated_at_256(encoder: Encoder) -> None:
    feeds = encoder.feeds([LONG_TEXT, "short"])
    assert feeds["input_ids"].shape == (2, 256)
    assert feeds["attention_mask"].sum(axis=1).tolist() == [256, 3]
    assert feeds["input_ids"][0, -1] == 102  # [SEP] closes the truncated text
    same_head = encoder.encode([LONG_TEXT, LONG_TEXT + " a different ending"])
    assert np.abs(same_head[0] - same_head[1]).max() == 0.0


def test_shipped_tokenizer_json_says_128_but_the_encoder_uses_256(encoder: Encoder) -> None:
    shipped = json.loads(encoder.tokenizer_json)
    assert shipped["truncation"]["max_length"] == 128
    assert shipped["padding"]["strategy"] == {"Fixed": 128}
    assert encoder.tokenizer.truncation["max_length"] == 256
    assert encoder.tokenizer.padding["length"] is None  # pad to the longest of each batch


def test_encoder_outputs_are_float32_unit_rows_for_float16_too(encoder: Encoder) -> None:
    half = load_encoder(dtype="float16")
    a, b = encoder.encode(TEXTS), half.encode(TEXTS)
    assert b.dtype == np.float32 and half.dtype == "float16"
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-3)
    assert ((a * b).sum(axis=1) > 0.999).all()


def test_concurrent_encode_from_8_threads_equals_single_threaded(encoder: Encoder) -> None:
    texts = [*TEXTS, "A man is riding a horse.", "Zürich", LONG_TEXT]
    expected = {i: encoder.encode([t]) for i, t in enumerate(texts)}
    result = hammer(lambda th, i: (k := (th + i) % len(texts), encoder.encode([texts[k]])),
                    threads=8, calls_per_thread=6, timeout_s=60, name="encode")
    assert result.errors == []
    assert len(result.values) == 48
    for k, embedding in result.values:
        assert np.abs(embedding - expected[k]).max() <= 1e-6


def test_conversion_is_cached_on_disk_and_reused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path))
    first = tiny_encoder(seed=3)
    stamp = first.model_path.stat().st_mtime_ns
    second = tiny_encoder(seed=3)
    assert first.model_path.parent == tmp_path and second.model_path == first.model_path
    assert second.model_path.stat().st_mtime_ns == stamp
    assert np.array_equal(first.encode(TEXTS), second.encode(TEXTS))


@pytest.mark.parametrize("damage", ["truncated", "overwritten", "sidecar_missing"])
def test_a_damaged_cache_file_is_rebuilt_not_loaded(tmp_path, monkeypatch, damage) -> None:
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path))
    expected = tiny_encoder(seed=4).encode(TEXTS)
    path = next(tmp_path.glob("*.onnx"))
    sidecar = path.with_name(path.name + ".sha256")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "overwritten":
        path.write_bytes(b"\0" * 1000)
    else:
        sidecar.unlink()
    rebuilt = tiny_encoder(seed=4)
    assert np.array_equal(rebuilt.encode(TEXTS), expected)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert sidecar.read_text().strip() == digest


def test_load_or_build_reports_whether_it_built(tmp_path) -> None:
    calls = []
    build = lambda: calls.append(1) or b"model bytes"  # noqa: E731
    assert load_or_build("m.onnx", build, tmp_path).built
    again = load_or_build("m.onnx", build, tmp_path)
    assert (again.built, again.data, len(calls)) == (False, b"model bytes", 1)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_encode_rejects_an_empty_list(tiny: Encoder) -> None:
    with pytest.raises(ValueError, match=r"^texts must hold at least one text, got an empty list$"):
        tiny.encode([])


def test_encode_rejects_a_non_string_item(tiny: Encoder) -> None:
    with pytest.raises(TypeError, match=r"^texts\[1\] must be str, got int$"):
        tiny.encode(["fine", 42])


def test_encode_rejects_a_bare_string(tiny: Encoder) -> None:
    with pytest.raises(TypeError, match=r"^texts must be a list of str, got a bare str"):
        tiny.feeds("not a list")


def test_encode_rejects_a_batch_size_of_zero(tiny: Encoder) -> None:
    with pytest.raises(ValueError, match=r"^batch_size must be >= 1, got 0$"):
        tiny.encode(["fine"], batch_size=0)


def test_build_onnx_rejects_float64() -> None:
    with pytest.raises(ValueError, match=r"^dtype must be float32 or float16, got float64$"):
        build_onnx(TINY_CONFIG, tiny_weights(0), dtype=np.float64)


def test_a_missing_model_wheel_names_the_install_command(monkeypatch) -> None:
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(source.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(source.importlib.metadata, "distribution", not_installed)
    with pytest.raises(ModelNotInstalledError, match=re.escape(INSTALL_COMMAND)):
        source.model_zip_path()


def test_tiny_encoder_is_deterministic_per_seed_and_differs_across_seeds(tiny: Encoder) -> None:
    assert np.array_equal(tiny_encoder(seed=0).encode(TEXTS), tiny.encode(TEXTS))
    assert not np.allclose(tiny_encoder(seed=1).encode(TEXTS), tiny.encode(TEXTS))
    assert tiny.encode(TEXTS).shape == (len(TEXTS), 32)


def test_bench_returns_json_ready_rates_per_batch_size(tiny: Encoder) -> None:
    result = bench((1, 4), seconds=0.05, encoder=tiny)
    assert set(result["sentences_per_s"]) == {"1", "4"}
    assert all(rate > 0 for rate in result["sentences_per_s"].values())
    json.dumps(result)


def test_pairwise_cosines_is_symmetric_with_a_unit_diagonal(tiny: Encoder) -> None:
    texts, matrix = pairwise_cosines(TEXTS, encoder=tiny)
    assert texts == TEXTS and matrix.shape == (4, 4)
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1.0, atol=1e-6)


# fastembed, the peer of `python -m demos bench encoder --peer fastembed` (requirements-bench.txt)


def test_fastembed_on_our_graph_and_our_encoder_both_return_sentence_transformers_rows(
        encoder: Encoder) -> None:
    from demos.models.peer import fastembed_embed, fastembed_folder, fastembed_model

    ref = st_reference()
    rows = [0, 12, 21, int(np.argmax(ref.word_pieces))]  # short, accented, CJK, cut at 256
    texts = [ref.texts[i] for i in rows]
    model = fastembed_model(fastembed_folder(256, encoder), threads=1)
    for got in (fastembed_embed(model, texts, batch_size=2), encoder.encode(texts)):
        assert got.dtype == np.float32 and got.shape == (4, 384)
        assert np.abs(got - ref.embeddings[rows]).max() <= 1e-6


def test_bench_peer_reports_median_ratios_of_paired_rounds_per_batch_size(
        encoder: Encoder) -> None:
    from demos.models.bench import bench_peer

    result = bench_peer("fastembed", (1, 2), rounds=2, encoder=encoder,
                        texts=["A man is eating food.", "It is raining.", "ok"])
    assert set(result["ratios"]) == {"ours", "ours_spinning"}
    for by_size in result["ratios"].values():
        assert set(by_size) == {"1", "2"} and all(r > 0 for r in by_size.values())
    assert result["peer"] == "fastembed 0.9.1" and result["texts"] == 3
    assert result["max_abs_diff"] <= 1e-6
    json.dumps(result)
    with pytest.raises(ValueError, match=r"^peer must be one of 'fastembed', got 'st'$"):
        bench_peer("st", encoder=encoder)


def test_the_held_out_bench_texts_are_64_with_one_cut_at_256(encoder: Encoder) -> None:
    from demos.models.bench import held_out_texts

    lengths = encoder.token_lengths(held_out_texts())
    assert len(lengths) == 64 and lengths.count(256) == 1 and min(lengths) < 16


def test_the_cli_refuses_a_peer_for_anything_but_the_encoder(capsys) -> None:
    from demos.__main__ import EXIT_USAGE, main

    assert main(["bench", "batching", "--peer", "fastembed"]) == EXIT_USAGE
    assert capsys.readouterr().err == (
        "error: --peer and --spinning apply to the encoder only, got target 'batching'\n")
    assert main(["bench", "batching", "--spinning"]) == EXIT_USAGE
    assert "apply to the encoder only" in capsys.readouterr().err
    assert main(["bench", "encoder", "--peer", "fastembed", "--spinning"]) == EXIT_USAGE
    assert capsys.readouterr().err == (
        "error: --peer and --spinning are separate benches: pass one of them\n")


def test_bench_spinning_times_session_run_both_ways_for_each_number_of_callers(
        encoder: Encoder) -> None:
    from demos.models.spinning import bench_spinning

    result = bench_spinning((1, 2), rounds=2, encoder=encoder,
                            texts=["A man is eating food.", "It is raining.", "ok"])
    assert set(result["ratios"]) == set(result["ratio_range"]) == {"1", "2"}
    for n, (low, high) in result["ratio_range"].items():
        assert 0 < low <= result["ratios"][n] <= high
    assert result["calls"] == 3 and result["rounds"] == 2
    json.dumps(result)
    with pytest.raises(ValueError, match=r"^callers must be a non-empty list of ints >= 1"):
        bench_spinning([0], encoder=encoder)
    with pytest.raises(ValueError, match=r"^rounds must be an int >= 1, got 0$"):
        bench_spinning(rounds=0, encoder=encoder)


def test_fastembed_truncates_where_the_folder_says_and_only_256_matches_the_reference(
        encoder: Encoder) -> None:
    from demos.models.peer import truncation_gap, wheel_model_max_length

    ref = st_reference()
    i = int(np.argmax(ref.word_pieces))  # the fixture's one text past 256 pieces
    gap = truncation_gap(ref.texts[i], (512, 256), reference=ref.embeddings[i], encoder=encoder)
    assert wheel_model_max_length() == 512  # what a folder built from the wheel says
    assert gap["word_pieces"] > 300  # longer than 256, shorter than 512: 512 keeps it all
    assert gap["cosine"]["256"] >= 1 - 1e-6
    assert gap["cosine"]["512"] < 0.99
