"""What the conformance kit reports: one result per check, and the error listing the failures."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


class ConformanceError(AssertionError):
    """A plugin failed one or more conformance checks; `report` holds every result."""

    def __init__(self, report: "Report"):
        self.report = report
        super().__init__(report.summary())


@dataclass
class CheckResult:
    name: str
    status: str  # "passed", "failed" or "skipped"
    reason: str = ""  # one line: why it failed or was skipped
    seconds: float = 0.0
    details: str = ""  # a traceback, when an exception was behind the failure


@dataclass
class Report:
    """Every check's result for one algorithm."""

    algo: str
    results: list[CheckResult] = field(default_factory=list)
    plugin: str = ""  # "distribution version"
    workdir: str = ""  # where the runs were written (empty when they were deleted)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "failed"]

    def result(self, name: str) -> CheckResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no check {name!r} in this report; checks: {', '.join(r.name for r in self.results)}")

    def summary(self) -> str:
        counted = [r for r in self.results if r.status != "skipped"]
        plugin = f" ({self.plugin})" if self.plugin else ""
        head = (f"rlforge conformance of {self.algo!r}{plugin}: "
                + (f"{len(self.failures)} of {len(counted)} checks failed" if self.failures else f"all {len(counted)} checks passed"))
        order = {"failed": 0, "passed": 1, "skipped": 2}
        lines = [head]
        for r in sorted(self.results, key=lambda r: order[r.status]):
            mark = {"failed": "FAIL", "passed": "ok  ", "skipped": "skip"}[r.status]
            lines.append(f"  {mark} {r.name}" + (f": {r.reason}" if r.reason else "") + f" ({r.seconds:.1f} s)")
        if self.workdir:
            lines.append(f"  runs kept in {self.workdir}")
        return "\n".join(lines)

    __str__ = summary

    def raise_for_failures(self) -> "Report":
        if self.failures:
            raise ConformanceError(self)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        return cls(data["algo"], [CheckResult(**r) for r in data["results"]], data.get("plugin", ""),
                   data.get("workdir", ""))
