"""One line of the doctor's report, and the three statuses a line can have."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAIL", "PASS", "WARN", "Result"]

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"


@dataclass(frozen=True)
class Result:
    """One line of the report: the check's name, its status and the value found."""

    name: str
    status: str
    value: str

    def __str__(self) -> str:
        return f"{self.status}  {self.name:<28} {self.value}"
