"""Findings and the probe's Report: what a reader (or CI) sees, as text, JSON and JUnit XML.

One Finding per check that found something: which check, which pitfall and chapter of the
book explains it, the evidence (requests and responses, shortened) and what to change. The
three writers carry the same findings, so a CI job can read whichever it prefers.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

__all__ = ["CHECK_NAMES", "Finding", "Report", "printable", "shorten"]

#: Every check the probe runs, in the order it runs them; JUnit lists one test case each.
CHECK_NAMES = ("readiness", "batching", "bad_input", "precision", "truncation", "concurrency",
               "overload", "poison", "cancellation")

EVIDENCE_CHARS = 300
#: Characters XML 1.0 cannot hold and terminals act on (ESC of a coloured traceback, NUL),
#: and lone surrogates (not encodable as UTF-8): written as \xNN / \uNNNN instead.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def printable(text: str) -> str:
    r"""``text`` with control characters and lone surrogates escaped (``\x1b``, ``\ud800``)."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100
                            else f"\\u{ord(m[0]):04x}", text)


def shorten(value: Any, limit: int = EVIDENCE_CHARS) -> str:
    """``value`` as one line of at most ``limit`` characters (long bodies are cut, counted),
    control characters escaped."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = printable(" ".join(text.split()))
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Finding:
    """One thing the probe saw go wrong.

    Args:
        check: the check that saw it (one of :data:`CHECK_NAMES`).
        pitfall: the pitfall's name in the book, e.g. "One tokenizer, many threads".
        chapter: the chapter that explains it (1-7).
        summary: one line: what was seen.
        evidence: shortened requests and responses that show it.
        fix: what to change.
    """

    check: str
    pitfall: str
    chapter: int
    summary: str
    evidence: tuple[str, ...] = ()
    fix: str = ""

    def __str__(self) -> str:
        lines = [f"FINDING [{self.check}] chapter {self.chapter}, {self.pitfall}: {self.summary}"]
        lines += [f"    evidence: {line}" for line in self.evidence]
        if self.fix:
            lines.append(f"    fix: {self.fix}")
        return "\n".join(lines)


@dataclass
class Report:
    """The probe's result: findings, the checks that ran or were skipped, and why.

    ``clean`` is True when every check ran and none found anything; ``error`` is set when
    the probe could not probe at all (unreachable, not that API): exit status 2.
    """

    url: str
    api: str
    findings: list[Finding] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.findings and not self.error

    @property
    def exit_status(self) -> int:
        """0 nothing found, 1 findings, 2 could not probe."""
        if self.findings:
            return 1
        return 2 if self.error else 0

    def by_check(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    def __str__(self) -> str:
        head = (f"probe {self.url} ({self.api} API): " + (
            f"could not probe: {self.error}" if self.error and not self.findings else
            f"{len(self.findings)} finding(s)" if self.findings else "nothing found"))
        lines = [head, *[str(f) for f in self.findings]]
        lines += [f"skipped [{name}]: {why}" for name, why in self.skipped.items()]
        lines += [f"note: {note}" for note in self.notes]
        if self.error and self.findings:
            lines.append(f"incomplete: {self.error}")
        return printable("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "api": self.api, "clean": self.clean,
                "exit_status": self.exit_status, "error": self.error,
                "seconds": round(self.seconds, 3), "checks_run": list(self.ran),
                "checks_skipped": dict(self.skipped), "notes": list(self.notes),
                "findings": [asdict(f) | {"evidence": list(f.evidence)} for f in self.findings]}

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def junit(self) -> ET.Element:
        """One ``testsuite``: a test case per check, a ``failure`` per finding."""
        suite = ET.Element("testsuite", name="inference-pitfalls probe",
                           tests=str(len(CHECK_NAMES)), failures=str(len(self.findings)),
                           errors="1" if self.error else "0",
                           skipped=str(len(self.skipped)), time=f"{self.seconds:.3f}")
        for name in CHECK_NAMES:
            case = ET.SubElement(suite, "testcase", classname="probe", name=name)
            for finding in self.by_check(name):
                failure = ET.SubElement(case, "failure", type=f"chapter {finding.chapter}",
                                        message=f"{finding.pitfall}: {finding.summary}")
                failure.text = str(finding)
            if name in self.skipped:
                ET.SubElement(case, "skipped", message=self.skipped[name])
            elif name not in self.ran and not self.by_check(name):
                ET.SubElement(case, "skipped", message=self.error or "did not run")
        if self.error:
            ET.SubElement(suite, "system-err").text = self.error
        for element in suite.iter():  # a service's text may hold what XML 1.0 cannot
            element.text = printable(element.text) if element.text else element.text
            for key, value in element.attrib.items():
                element.set(key, printable(value))
        return suite

    def write_junit(self, path: str | Path) -> None:
        tree = ET.ElementTree(self.junit())
        ET.indent(tree)
        tree.write(path, encoding="utf-8", xml_declaration=True)
