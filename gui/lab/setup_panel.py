"""The quantization lab's form: the source and modes, the calibration and evaluation inputs, and
how to measure and where to write. Everything shown is the lab's page model (model.py); an edit
goes to the model, and the form shows the model again when it changes (a source chosen, saved
settings loaded)."""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.comparison.signatures import default_of
from ...core.lab.modes import INT8_IO_TYPES, MODES
from ...core.lab.settings import MIN_CALIBRATION_SAMPLES
from ..widgets.inputs import InputList, PreprocessingControls, RandomInputsChoice
from ..widgets.messages import ERROR_STYLE, wrapped_label
from .model import DEFAULT_RANDOM_COUNT, LabPage

SOURCE_FILTER = "Models (*.tflite *.keras *.h5 *.hdf5);;All files (*)"
KIND_TEXT = {
    "tflite": "a .tflite model: quantized with ai-edge-quantizer; the file itself is the float reference",
    "saved_model": "a SavedModel: converted with TensorFlow's TFLiteConverter in a separate process; its float32 "
                   "conversion is the reference",
    "keras": "a Keras file: converted with TensorFlow's TFLiteConverter in a separate process; its float32 "
             "conversion is the reference",
}


class LabSetupPanel(QWidget):
    """Source and modes | Inputs | Measuring and output, side by side."""

    def __init__(self, page: LabPage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_source_box(), 4)
        layout.addWidget(self._build_inputs_box(), 4)
        layout.addWidget(self._build_measuring_box(), 3)
        page.changed.connect(self._page_changed)

    # -- building ---------------------------------------------------------------------------------

    def _build_source_box(self) -> QGroupBox:
        box = QGroupBox("Source and modes")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("a float .tflite, a Keras file (.keras, .h5) or a SavedModel folder")
        self.source_edit.editingFinished.connect(lambda: self.page.set_source(self.source_edit.text().strip()))
        choose_file = QPushButton("File…")
        choose_file.setToolTip("Choose a .tflite or Keras file")
        choose_file.clicked.connect(self.choose_source_file)
        choose_folder = QPushButton("Folder…")
        choose_folder.setToolTip("Choose a SavedModel folder")
        choose_folder.clicked.connect(self.choose_source_folder)
        row = QHBoxLayout()
        row.addWidget(self.source_edit, 1)
        row.addWidget(choose_file)
        row.addWidget(choose_folder)
        form.addRow("Source", row)
        self.kind_label = wrapped_label()
        form.addRow("", self.kind_label)
        modes = QGridLayout()
        modes.setContentsMargins(0, 0, 0, 0)
        self.mode_checks: dict[str, QCheckBox] = {}
        for i, mode in enumerate(MODES.values()):
            check = QCheckBox(mode.title)
            tip = f"{mode.key}: {mode.description}"
            if mode.calibrated:
                tip += " (needs calibration inputs)"
            check.setToolTip(tip)
            check.setChecked(mode.key in self.page.modes)
            check.toggled.connect(lambda on, key=mode.key: self.page.set_mode(key, on))
            self.mode_checks[mode.key] = check
            modes.addWidget(check, i // 2, i % 2)
        form.addRow("Modes", modes)
        self.int8_io_combo = QComboBox()
        for io_type in INT8_IO_TYPES:
            self.int8_io_combo.addItem(io_type, io_type)
        self.int8_io_combo.currentIndexChanged.connect(
            lambda _: self.page.set_measuring(int8_io=self.int8_io_combo.currentData()))
        form.addRow("int8 inputs/outputs", self.int8_io_combo)
        # The signature calibrated, timed and compared: shown when the source has several.
        self.signature_combo = QComboBox()
        self.signature_combo.setToolTip("The signature whose inputs calibrate and evaluate the variants, and "
                                        "whose subgraph is timed and compared (--signature KEY)")
        self.signature_combo.currentIndexChanged.connect(
            lambda _: self.page.set_signature(self.signature_combo.currentData()))
        form.addRow("Signature", self.signature_combo)
        self.signature_form = form
        self.keep_float_edit = QLineEdit()
        self.keep_float_edit.setPlaceholderText("e.g. 12, PRELU, re:dense")
        self.keep_float_edit.setToolTip(
            "Keep these ops in float in every quantized mode (mixed precision, by ai-edge-quantizer's per-op "
            "recipe scopes): 12, 10-14, PRELU, re:^model/dense — comma-separated. Compare's \"Keep in float\" "
            "fills it from the layers selected there.")
        self.keep_float_edit.textEdited.connect(lambda text: self.page.set_mixed_precision(keep_float=text))
        form.addRow("Keep in float", self.keep_float_edit)
        self.suggest_check = QCheckBox("Suggest, for")
        self.suggest_spin = QDoubleSpinBox()
        self.suggest_spin.setRange(1.0, 120.0)
        self.suggest_spin.setValue(30.0)
        self.suggest_spin.setSuffix(" dB output SQNR")
        self.suggest_check.setToolTip("After the modes, keep int8's ops in float one at a time, worst own error "
                                      "first, until the output SQNR reaches the target (at most 8); every step is "
                                      "reported and the last becomes a row")

        def suggest_changed() -> None:
            self.page.set_mixed_precision(
                suggest_sqnr_db=self.suggest_spin.value() if self.suggest_check.isChecked() else None)

        self.suggest_check.toggled.connect(lambda _: suggest_changed())
        self.suggest_spin.valueChanged.connect(lambda _: suggest_changed())
        suggest_row = QHBoxLayout()
        suggest_row.addWidget(self.suggest_check)
        suggest_row.addWidget(self.suggest_spin)
        suggest_row.addStretch(1)
        form.addRow("Mixed precision", suggest_row)
        return box

    def _build_inputs_box(self) -> QGroupBox:
        box = QGroupBox("Inputs")
        layout = QVBoxLayout(box)
        layout.setSpacing(3)
        layout.addWidget(QLabel(f"Calibration ({MIN_CALIBRATION_SAMPLES} or more images or arrays)"))
        self.calibration = InputList("calibration", max_height=72)
        self.calibration.add_requested.connect(self.page.add_calibration)
        self.calibration.clear_requested.connect(self.page.clear_calibration)
        layout.addWidget(self.calibration)
        self.random_inputs = RandomInputsChoice(
            DEFAULT_RANDOM_COUNT, "Random values instead of the files, for calibration and for measuring: every "
            "result is marked as coming from random data", "random inputs instead (results are marked)")
        self.random_inputs.changed.connect(self.page.set_random)
        layout.addWidget(self.random_inputs)
        layout.addWidget(QLabel("Evaluation (optional; default: the calibration inputs)"))
        self.evaluation = InputList("evaluation", max_height=72)
        self.evaluation.add_requested.connect(self.page.add_evaluation)
        self.evaluation.clear_requested.connect(self.page.clear_evaluation)
        layout.addWidget(self.evaluation)
        return box

    def _build_measuring_box(self) -> QGroupBox:
        box = QGroupBox("Measuring and output")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.limit_spin = self._count_spin(0, 1_000_000, "At most this many inputs from each set", "Limit", form,
                                           lambda value: self.page.set_limit(value or None))
        self.limit_spin.setSpecialValueText("no limit")
        self.threads_spin = self._count_spin(
            1, 256, "Interpreter threads for the latency runs (1 gives the steadiest figures)", "Threads", form,
            lambda value: self.page.set_measuring(threads=value))
        self.runs_spin = self._count_spin(1, 1_000_000, "Timed runs per variant, after a few untimed ones", "Runs",
                                          form, lambda value: self.page.set_measuring(runs=value))
        self.seed_spin = self._count_spin(0, 2**31 - 1, "Seed of the random inputs, when they are used",
                                          "Random seed", form, lambda value: self.page.set_measuring(seed=value))
        self.preprocessing = PreprocessingControls(
            self.page.normalization, "From the model",
            "From the model's metadata or input quantization, as Compare suggests it",
            min_contents_length=12, parent=self)
        self.preprocessing.changed.connect(lambda: self.page.set_resize(self.preprocessing.resize))
        self.preprocessing.add_rows(form)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("<source folder>/<name>_variants")
        self.output_edit.textEdited.connect(lambda text: self.page.set_output_dir(text.strip()))
        choose = QPushButton("Choose…")
        choose.clicked.connect(self.choose_output_dir)
        row = QHBoxLayout()
        row.addWidget(self.output_edit, 1)
        row.addWidget(choose)
        form.addRow("Output folder", row)
        self._show_form()
        return box

    @staticmethod
    def _count_spin(low: int, high: int, tip: str, label: str, form: QFormLayout,
                    edited: Callable[[int], None]) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setToolTip(tip)
        spin.valueChanged.connect(edited)
        form.addRow(label, spin)
        return spin

    # -- the user's choices ---------------------------------------------------------------------------

    def choose_source_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model to quantize", os.path.dirname(self.page.source),
                                              SOURCE_FILTER)
        if path:
            self.page.set_source(path)

    def choose_source_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "SavedModel folder", os.path.dirname(self.page.source))
        if path:
            self.page.set_source(path)

    def choose_output_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the variants", self.page.output_dir)
        if path:
            self.page.set_output_dir(path)

    # -- following the model ----------------------------------------------------------------------

    def _page_changed(self, aspect: str) -> None:
        if aspect == "source":
            self._show_source()
        elif aspect == "inputs":
            self.calibration.show_paths(self.page.calibration)
            self.evaluation.show_paths(self.page.evaluation)
            self.random_inputs.show_count(self.page.random_count)
            random = bool(self.page.random_count)
            for widget in (self.calibration, self.evaluation):
                widget.setEnabled(not random)
        elif aspect == "normalization":
            self.preprocessing.show_choice()
        elif aspect == "form":
            self._show_form()

    def _show_source(self) -> None:
        page = self.page
        self.source_edit.setText(page.source)
        self.kind_label.setText(KIND_TEXT[page.kind] if page.kind else (page.kind_error or "no source yet"))
        self.kind_label.setStyleSheet(ERROR_STYLE if page.kind_error else "")
        tensorflow = page.tensorflow_source
        float32 = self.mode_checks["float32"]
        float32.setEnabled(False)  # never a choice: made for TensorFlow sources, the source itself for .tflite
        float32.blockSignals(True)
        float32.setChecked(tensorflow)
        float32.blockSignals(False)
        float32.setToolTip("Always produced from a TensorFlow source: it is the reference" if tensorflow
                           else "Only for TensorFlow sources: a .tflite source is its own float32 reference")
        self.signature_combo.blockSignals(True)
        self.signature_combo.clear()
        for key in page.signatures:
            self.signature_combo.addItem(key, key)
        self.signature_combo.blockSignals(False)
        self.signature_form.setRowVisible(self.signature_combo, len(page.signatures) > 1)
        self.int8_io_combo.setEnabled(tensorflow)
        self.int8_io_combo.setToolTip("Input and output type of full-integer int8" if tensorflow else
                                      "Only for TensorFlow sources: ai-edge-quantizer keeps a .tflite's float "
                                      "inputs and outputs")
        self._show_form()

    def _show_form(self) -> None:
        """The form's values as the model holds them (after it was filled from saved settings)."""
        page = self.page
        if self.output_edit.text() != page.output_dir:
            self.output_edit.setText(page.output_dir)
        if self.keep_float_edit.text() != page.keep_float:
            self.keep_float_edit.setText(page.keep_float)
        if self.suggest_check.isChecked() != (page.suggest_sqnr_db is not None):
            self.suggest_check.blockSignals(True)
            self.suggest_check.setChecked(page.suggest_sqnr_db is not None)
            self.suggest_check.blockSignals(False)
        if page.suggest_sqnr_db is not None and self.suggest_spin.value() != page.suggest_sqnr_db:
            self.suggest_spin.blockSignals(True)
            self.suggest_spin.setValue(page.suggest_sqnr_db)
            self.suggest_spin.blockSignals(False)
        for key, check in self.mode_checks.items():
            if key != "float32" and check.isChecked() != (key in page.modes):
                check.blockSignals(True)
                check.setChecked(key in page.modes)
                check.blockSignals(False)
        for widget, value in ((self.limit_spin, page.limit or 0), (self.threads_spin, page.threads),
                              (self.runs_spin, page.runs), (self.seed_spin, page.seed)):
            if widget.value() != value:
                widget.blockSignals(True)
                widget.setValue(value)
                widget.blockSignals(False)
        self.int8_io_combo.blockSignals(True)
        self.int8_io_combo.setCurrentIndex(max(self.int8_io_combo.findData(page.int8_io), 0))
        self.int8_io_combo.blockSignals(False)
        if page.signatures:
            shown = page.signature or default_of(page.signatures)  # None: the source's default
            self.signature_combo.blockSignals(True)
            self.signature_combo.setCurrentIndex(max(self.signature_combo.findData(shown), 0))
            self.signature_combo.blockSignals(False)
        self.preprocessing.show_resize(page.resize)
