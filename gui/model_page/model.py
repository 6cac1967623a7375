"""One open model as its page sees it, without widgets: the model and its prepared rows, the
subgraph shown, what is selected (and the way back), the delegate chosen with its settings, and
what the runtime said about it. The page's widgets (view.py, delegate_bar.py) show this and
change it; `changed` names what changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...core.delegates.settings import DEFAULT_NNAPI_API_LEVEL, DelegateSettings
from ...core.reading.model import Model
from ..notify import Notifier
from ..selection import Place, Selection

from .delegate_state import AnalysisKey, DelegateInfo

if TYPE_CHECKING:  # the rule engine loads after the model is on screen (prepare_delegates)
    from ...core.delegates.runtime_check import OpDelegation, RuntimeComparison
    from ...core.inspection.stats import ModelStats
    from .loading import LoadedModel

XNNPACK = "xnnpack"  # the one delegate the interpreter here runs, so the one checked against it


class ModelPage:
    """The state of one model's page. Aspects notified: "subgraph", "delegates" (the rule tables
    were read), "delegate" (the chosen one), "settings", "runtime", "shapes" (the figures are now
    at the shapes the interpreter resolved)."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.selection = Selection()
        self.subgraph_index = 0
        self.delegates: tuple[DelegateInfo, ...] | None = None  # None until the rule tables are read
        self.delegates_error = ""
        self.delegate_key: str | None = None
        self._wanted_delegate: str | None = None  # chosen by a link before the rule tables were read
        self.settings = DelegateSettings(DEFAULT_NNAPI_API_LEVEL)
        self.runtime: RuntimeComparison | None = None  # XNNPACK as the interpreter delegated it
        self.runtime_error = ""
        self.runtime_checking = False
        self.changed = Notifier()
        # Connected first, so that the subgraph is shown before any view shows the place in it.
        self.selection.changed.connect(self._follow_selection)

    @property
    def model(self) -> Model:
        return self.loaded.model

    # -- subgraph and selection ----------------------------------------------------------------

    def set_subgraph(self, index: int) -> None:
        if index != self.subgraph_index and 0 <= index < len(self.model.subgraphs):
            self.subgraph_index = index
            self.changed.notify("subgraph")

    def select(self, place: Place, *, record: bool = True) -> None:
        """Select `place`; the page switches to its subgraph."""
        self.selection.select(place, record=record)

    def _follow_selection(self, aspect: str) -> None:
        place = self.selection.place
        if aspect == "place" and place is not None:
            self.set_subgraph(place.subgraph)

    # -- delegates ----------------------------------------------------------------------------

    def delegates_ready(self, infos: tuple[DelegateInfo, ...]) -> None:
        self.delegates = infos
        self.changed.notify("delegates")
        if self._wanted_delegate is not None:
            self.set_delegate(self._wanted_delegate)

    def delegates_failed(self, message: str) -> None:
        self.delegates_error = message
        self.changed.notify("delegates")

    def info(self, key: str | None = None) -> DelegateInfo | None:
        """The chosen delegate's (or `key`'s) info; None for no delegate, or before the tables are read."""
        key = key or self.delegate_key
        if key is None or self.delegates is None:
            return None
        return next((info for info in self.delegates if info.key == key), None)

    def analysis_key(self, info: DelegateInfo) -> AnalysisKey:
        return (info.key, self.settings if info.has_settings else None)

    def set_delegate(self, key: str | None) -> None:
        """Show `key`'s verdicts (None: no delegate); remembered until the tables are read."""
        if self.delegates is None and key is not None:
            self._wanted_delegate = key
            return
        self._wanted_delegate = None
        if key != self.delegate_key and (key is None or self.info(key) is not None):
            self.delegate_key = key
            self.changed.notify("delegate")

    def set_api_level(self, level: int) -> None:
        if level != self.settings.api_level:
            self.settings = DelegateSettings(level)
            self.changed.notify("settings")

    # -- the runtime's answer ------------------------------------------------------------------

    def runtime_started(self) -> None:
        self.runtime_checking, self.runtime_error = True, ""
        self.changed.notify("runtime")

    def runtime_checked(self, comparison: RuntimeComparison) -> None:
        self.runtime_checking, self.runtime, self.runtime_error = False, comparison, ""
        self.changed.notify("runtime")

    def runtime_failed(self, message: str) -> None:
        self.runtime_checking, self.runtime_error = False, message
        self.changed.notify("runtime")

    # -- shapes the interpreter resolved ----------------------------------------------------------

    def shapes_resolved(self, stats: ModelStats, overview: str) -> None:
        """The model's figures at the interpreter's shapes (stats.resolved) and the overview made
        from them replace the static ones; the rows are made again from them when shown."""
        self.loaded.stats = stats
        self.loaded.overview = overview
        self.loaded.rows.clear()
        self.changed.notify("shapes")

    def runtime_row(self, sg_index: int, op_index: int) -> OpDelegation | None:
        """What the runtime did with an op, when the chosen delegate is the one it was checked for."""
        if self.runtime is None or self.delegate_key != XNNPACK or sg_index != 0:
            return None
        return self.runtime.op(op_index)
