"""Where the pins are, and whether the installed packages match them (``pin <name>``).

A checkout reads its own ``requirements.txt``; an installed copy of the package reads the
flattened pins shipped with it in ``demos/data/pins.txt``, which ``make doctor`` writes.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from pathlib import Path

from demos.doctor.result import FAIL, PASS, WARN, Result

__all__ = [
    "COLAB_ENV_VAR",
    "DISTRIBUTION",
    "PINS_PATH",
    "REQUIREMENTS_ENV_VAR",
    "check_pins",
    "checkout_root",
    "installed_version",
    "parse_pins",
    "pins_text",
    "read_pins",
    "requirements_path",
]

DISTRIBUTION = "inference-pitfalls"
#: The pins shipped with the package, for an install that is not a checkout.
PINS_PATH = Path(__file__).resolve().parents[1] / "data" / "pins.txt"
#: Overrides where the pins are read from (tests inject a mismatch with it).
REQUIREMENTS_ENV_VAR = "DEMOS_DOCTOR_REQUIREMENTS"
#: On Colab, the book keeps Colab's own numpy, ipykernel and ipywidgets on purpose.
COLAB_ENV_VAR = "COLAB_RELEASE_TAG"


def checkout_root() -> Path | None:
    """The repository this package is run from (an editable install), else None."""
    root = Path(__file__).resolve().parents[3]
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


def installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


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
        found = installed_version(name)
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
