"""The Overview's input-shape field, for models whose inputs have dynamic (−1) dimensions: the
user gives each such input's shape (filled in with the size the model states, "?" where it states
none), and "Resolve shapes" has the interpreter resize the inputs in its worker process; MACs and
memory are then counted at the shapes it reports (core/inspection/shapes.py, stats.py).

The run goes through the page's own run controller, so it is off the GUI thread, can be cancelled,
and a crash or hang of the interpreter is a message, never the end of the app.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ...core.inspection.shapes import DynamicInput, dynamic_inputs, input_shapes
from ...core.inspection.stats import model_stats
from ..jobs import SharedWorkers
from ..run_controller import RunController, RunTask
from ..widgets.run_bar import RunBar
from .model import ModelPage
from .overview import overview_html


def _runtime_worker() -> tuple[Any, ...]:
    from ...core.runtime.interpreter import RuntimeWorker  # multiprocessing: imported when first needed

    return (RuntimeWorker(),)


class ShapeBar(QWidget):
    """One shape field per dynamic input, and Resolve shapes with its progress and outcome."""

    def __init__(self, page: ModelPage, inputs: tuple[DynamicInput, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self.inputs = inputs
        self._workers = SharedWorkers(_runtime_worker)
        self.runs = RunController(self, self._workers)
        self.runs.finished.connect(self._resolved)
        self.runs.failed.connect(lambda message: self.run_bar.set_outcome(f"Shapes not resolved: {message}"))
        self.runs.cancelled.connect(lambda: self.run_bar.set_outcome("Cancelled; the figures are at static shapes."))
        self.fields: list[QLineEdit] = []
        fields = QHBoxLayout()
        fields.setContentsMargins(0, 0, 0, 0)
        fields.addWidget(QLabel("Input shape"))
        for model_input in inputs:
            edit = QLineEdit(model_input.default_text())
            edit.setPlaceholderText(",".join("N" if d < 0 else str(d) for d in model_input.signature))
            edit.setToolTip(f"{model_input.name}: dynamic shape [{','.join(str(d) for d in model_input.signature)}]; "
                            "give every dimension, e.g. 1,144000"
                            + (f" (filled in from {model_input.default_source})" if model_input.default_source
                               else ""))
            edit.returnPressed.connect(self.resolve)
            if len(inputs) > 1:
                fields.addWidget(QLabel(model_input.label))
            fields.addWidget(edit, 1)
            self.fields.append(edit)
        self.run_bar = RunBar(self.runs, progress_format="%v / %m")
        self.run_bar.run_button.setText("Resolve shapes")
        self.run_bar.run_button.setToolTip("Resize the inputs in the interpreter and count MACs and memory at the "
                                           "shapes it gives every tensor")
        self.run_bar.run_button.clicked.connect(self.resolve)
        self.run_bar.set_outcome("MACs and memory count each −1 as 1 until the shapes are resolved.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addLayout(fields)
        layout.addWidget(self.run_bar)

    def specs(self) -> list[str]:
        """The fields as --input-shape values (NAME=DIMS)."""
        return [f"{model_input.label}={edit.text().strip()}" for model_input, edit in zip(self.inputs, self.fields)]

    def resolve(self) -> bool:
        """Start resolving at the shapes in the fields; False if a run is under way."""
        model = self.page.model
        specs = self.specs()

        def work(task: RunTask) -> tuple[Any, str]:
            task.progress(0, 2, "checking the shapes")
            shapes = input_shapes(model, specs)  # InputError: its message is the outcome
            task.progress(1, 2, "resizing in the interpreter")
            resolved = task.workers[0].resolve_shapes(model.path, shapes)
            stats = model_stats(model, resolved)
            task.progress(2, 2, "counting")
            return stats, overview_html(model, stats)

        started = self.runs.start(work)
        if started:
            self.run_bar.started("Resolving the shapes…")
        return started

    def _resolved(self, result: tuple[Any, str]) -> None:
        stats, overview = result
        self.page.shapes_resolved(stats, overview)
        self.run_bar.ended(2, 2)
        resolved = stats.resolved
        left = stats.dynamic_tensor_count
        self.run_bar.set_outcome(
            f"Resolved at {resolved.inputs_text(self.page.model.subgraphs[0])}"
            + (f"; {left:,} tensors still have unknown shapes (see the warning)" if left else "") + ".")

    def close_bar(self) -> None:
        self.runs.close()
        self._workers.close()


def shape_bar_for(page: ModelPage) -> ShapeBar | None:
    """The bar for a model whose inputs have dynamic dimensions; None for one whose are all fixed."""
    inputs = dynamic_inputs(page.model)
    return ShapeBar(page, inputs) if inputs else None
