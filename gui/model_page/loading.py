"""Opening a model for its page, off the GUI thread: read it, compute its figures, and prepare
what the first view shows (the overview and subgraph 0's rows)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.inspection.stats import ModelStats, model_stats
from ...core.reading.model import Model
from ...core.reading.reader import read_model
from ..widgets.tables import Row
from .overview import overview_html
from .rows import operator_rows, tensor_rows


@dataclass
class LoadedModel:
    """A model with what its views need, prepared off the GUI thread."""

    model: Model
    stats: ModelStats
    overview: str
    rows: dict[int, tuple[list[Row], list[Row]]] = field(default_factory=dict)

    def rows_for(self, sg_index: int) -> tuple[list[Row], list[Row]]:
        if sg_index not in self.rows:
            sg = self.model.subgraphs[sg_index]
            self.rows[sg_index] = (operator_rows(sg, self.stats.subgraphs[sg_index]), tensor_rows(sg))
        return self.rows[sg_index]


def load_for_display(path: str) -> LoadedModel:
    """Runs in a worker thread: read the model and prepare subgraph 0's rows."""
    model = read_model(path)
    stats = model_stats(model)
    loaded = LoadedModel(model, stats, overview_html(model, stats))
    loaded.rows_for(0)
    return loaded
