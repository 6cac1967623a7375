"""What a model's page knows about the delegates: each one's rule table (read once, off the GUI
thread, after the model is on screen), the key a report is kept under, and a report as the views
hold it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...core.delegates.settings import DelegateSettings

if TYPE_CHECKING:  # the rule engine loads after the model is on screen (prepare_delegates)
    from ...core.delegates.engine import DelegateReport, OpVerdict


@dataclass(frozen=True)
class DelegateInfo:
    key: str
    title: str
    has_settings: bool  # NNAPI: its verdicts depend on the Android API level
    error: str = ""  # the rule table could not be loaded: shown to the user, never dropped

    def label(self, settings: DelegateSettings) -> str:
        return f"{self.title} (API level {settings.api_level})" if self.has_settings else self.title


def prepare_delegates() -> tuple[DelegateInfo, ...]:
    """Runs in a worker thread: import the engine and read every rule table's title. Importing it
    (tomllib, the rule tables) takes about 60 ms, which is not paid before a model is shown."""
    from ...core.delegates import tables
    from ...core.delegates.engine import DELEGATES
    from ...core.delegates.rules import validate_table
    from ...core.errors import RuleError

    infos = []
    for key in DELEGATES:
        try:
            table = tables.load_rules(key)
            validate_table(key, table)
            delegate = table["delegate"]
            infos.append(DelegateInfo(key, delegate["title"], bool(delegate.get("has_api_level"))))
        except RuleError as e:
            infos.append(DelegateInfo(key, key, False, str(e)))
    return tuple(infos)


AnalysisKey = tuple[str, DelegateSettings | None]  # a delegate, with its settings when it has any


@dataclass(frozen=True)
class DelegateResult:
    """A delegate's report as the views hold it (a result, as opposed to an error message)."""

    report: DelegateReport

    def subgraph_verdicts(self, sg_index: int) -> list[OpVerdict]:
        return self.report.subgraph_verdicts(sg_index)
