"""The Compare page's setup: the candidates, the inputs, and how the inputs are prepared (with the
models' inputs described and the labels to use). Everything shown is the page model's."""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.comparison.inputs import input_specs
from ...core.comparison.signatures import candidate_entry
from ...core.errors import InputError
from ..widgets.inputs import InputList, PreprocessingControls, RandomInputsChoice
from ..widgets.messages import ERROR_STYLE, wrapped_label
from .model import DEFAULT_RANDOM_COUNT, ComparePage

MODEL_FILTER = "TFLite models (*.tflite);;All files (*)"


class SetupPanel(QWidget):
    """Candidates | Inputs | Preprocessing, side by side. `add_candidates_requested(paths)` asks the
    page to read new candidates (a background job)."""

    add_candidates_requested = Signal(list)

    def __init__(self, page: ComparePage, open_models: Callable[[], list[str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self._open_models = open_models
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_candidates_box(), 2)
        layout.addWidget(self._build_inputs_box(), 2)
        layout.addWidget(self._build_preprocessing_box(), 3)
        page.changed.connect(self._page_changed)
        self._show_candidates()
        self._show_preprocessing()

    # -- building ---------------------------------------------------------------------------------

    def _build_candidates_box(self) -> QGroupBox:
        box = QGroupBox("Candidates")
        self.candidate_list = QListWidget()
        self.candidate_list.setMinimumHeight(48)
        self.candidate_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.candidate_list.setToolTip("Models compared with this one; drop .tflite files here to add them")
        self.add_candidate_button = QToolButton()
        self.add_candidate_button.setText("Add candidate…")
        self.add_candidate_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.add_candidate_button.setToolTip("Choose .tflite files; the arrow lists the models open in other tabs")
        self.add_candidate_button.clicked.connect(self.add_candidate_dialog)
        self.open_models_menu = QMenu(self.add_candidate_button)
        self.open_models_menu.aboutToShow.connect(self._fill_open_models_menu)
        self.add_candidate_button.setMenu(self.open_models_menu)
        self.remove_candidate_button = QPushButton("Remove")
        self.remove_candidate_button.clicked.connect(self._remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_candidate_button)
        buttons.addWidget(self.remove_candidate_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.candidate_list, 1)
        layout.addLayout(buttons)
        return box

    def _build_inputs_box(self) -> QGroupBox:
        box = QGroupBox("Inputs")
        self.input_list = InputList(add_files_text="Add images…")
        self.input_list.add_requested.connect(self.page.add_inputs)
        self.input_list.clear_requested.connect(self.page.clear_inputs)
        self.random_inputs = RandomInputsChoice(
            DEFAULT_RANDOM_COUNT, "Random values instead of the files: the results say they come from random data")
        self.random_inputs.changed.connect(self.page.set_random)
        layout = QVBoxLayout(box)
        layout.addWidget(self.input_list, 1)
        layout.addWidget(self.random_inputs)
        return box

    def _build_preprocessing_box(self) -> QGroupBox:
        box = QGroupBox("Preprocessing")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # Which signature runs (its subgraph and inputs): offered when there is a choice.
        self.signature_combo = QComboBox(box)  # parented even when not in the form (one signature or none)
        for key in self.page.signatures:
            self.signature_combo.addItem(key, key)
        self.signature_combo.setToolTip("The signature both models run and are compared in: its subgraph, "
                                        "inputs and outputs (--signature KEY on the command line)")
        if self.page.signature is not None:
            self.signature_combo.setCurrentIndex(self.page.signatures.index(self.page.signature))
        self.signature_combo.currentIndexChanged.connect(
            lambda i: self.page.set_signature(self.signature_combo.itemData(i)))
        if len(self.page.signatures) > 1:
            form.addRow("Signature", self.signature_combo)
        else:
            self.signature_combo.hide()
        self.reference_inputs_label = wrapped_label()
        form.addRow("This model", self.reference_inputs_label)
        self.candidate_inputs_label = wrapped_label()
        form.addRow("Candidates", self.candidate_inputs_label)
        self.preprocessing = PreprocessingControls(self.page.normalization, "Suggested", parent=self)
        self.preprocessing.changed.connect(self._preprocessing_edited)
        self.preprocessing.add_rows(form)
        self._show_signature()
        self.label_edit = QLineEdit()
        self.label_edit.setReadOnly(True)
        self.label_edit.setPlaceholderText("from the models' metadata, if any")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.choose_label_file)
        clear = QToolButton()
        clear.setText("×")
        clear.setToolTip("Use the labels in the models' metadata")
        clear.clicked.connect(lambda: self.page.set_label_file(""))
        labels = QHBoxLayout()
        labels.addWidget(self.label_edit, 1)
        labels.addWidget(browse)
        labels.addWidget(clear)
        form.addRow("Labels", labels)
        self.preprocessing_label = wrapped_label()
        form.addRow("Runs with", self.preprocessing_label)
        return box

    # -- what the user asks -------------------------------------------------------------------------

    def add_candidate_dialog(self) -> None:
        start = os.path.dirname(self.page.reference.path)
        paths, _ = QFileDialog.getOpenFileNames(self, "Add candidate models", start, MODEL_FILTER)
        if paths:
            self.add_candidates_requested.emit(paths)

    def _fill_open_models_menu(self) -> None:
        menu = self.open_models_menu
        menu.clear()
        menu.addAction("Browse…", self.add_candidate_dialog)
        menu.addSeparator()
        offered = [p for p in self._open_models() if p != self.page.reference.path and p not in self.page.candidates]
        for path in offered:
            menu.addAction(path, lambda p=path: self.add_candidates_requested.emit([p]))
        if not offered:
            menu.addAction("No other model is open").setEnabled(False)

    def _remove_selected(self) -> None:
        for item in self.candidate_list.selectedItems():
            self.page.remove_candidate(item.data(Qt.ItemDataRole.UserRole))

    def _preprocessing_edited(self) -> None:
        self.page.set_resize(self.preprocessing.resize)  # notifies: the normalization is already in the model

    def choose_label_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Label file", os.path.dirname(self.page.reference.path),
                                              "Label files (*.txt);;All files (*)")
        if path:
            self.page.set_label_file(path)

    # -- showing the model --------------------------------------------------------------------------

    def _page_changed(self, aspect: str) -> None:
        if aspect == "signature":
            self._show_signature()
        elif aspect == "candidates":
            self._show_candidates()
            self._show_preprocessing()
        elif aspect == "inputs":
            self.input_list.show_paths(self.page.inputs)
            self.random_inputs.show_count(self.page.random_count)
            self.input_list.setEnabled(not self.page.random_count)
        elif aspect == "normalization":
            self.preprocessing.show_choice()
            self._show_preprocessing()
        elif aspect == "preprocessing":
            self.preprocessing.show_resize(self.page.resize)
            self._show_preprocessing()
        elif aspect == "labels":
            self.label_edit.setText(self.page.label_file)
            self.label_edit.setToolTip(self.page.label_file)

    def _show_candidates(self) -> None:
        self.candidate_list.clear()
        lines = []
        for candidate in self.page.candidates.values():
            name = os.path.basename(candidate.path)
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, candidate.path)
            item.setToolTip(candidate.path)
            if candidate.reading:
                item.setText(f"{name} (reading…)")
            elif candidate.problem:
                item.setText(f"{name} (cannot be compared)")
                item.setForeground(QBrush(QColor("#c0392b")))
                item.setToolTip(f"{candidate.path}\n{candidate.problem}")
            self.candidate_list.addItem(item)
            if candidate.model is not None:
                try:
                    specs = "; ".join(s.describe() for s in input_specs(
                        candidate.model, candidate_entry(candidate.model, self.page.entry)))
                except InputError as e:
                    specs = str(e)
                lines.append(f"{name}: {specs}")
        self.candidate_inputs_label.setText("\n".join(lines) or "none yet")

    def _show_signature(self) -> None:
        """The chosen signature's inputs, and whether images can feed them."""
        if self.page.signature is not None and self.signature_combo.currentData() != self.page.signature:
            self.signature_combo.setCurrentIndex(self.page.signatures.index(self.page.signature))
        self.reference_inputs_label.setText("\n".join(s.describe() for s in self.page.reference_specs)
                                            or "no inputs")
        if not any(s.is_image for s in self.page.reference_specs):
            self.preprocessing.disable("This model takes no image: .npy/.npz arrays are used as they are")
        else:
            self.preprocessing.enable()

    def _show_preprocessing(self) -> None:
        suggestion = self.page.suggestion
        self.preprocessing.set_suggestion(f"Suggested: {suggestion.describe()}", suggestion.source)
        try:
            text = self.page.preprocessing().describe()
            self.preprocessing_label.setStyleSheet("")
        except InputError as e:
            text = str(e)
            self.preprocessing_label.setStyleSheet(ERROR_STYLE)
        self.preprocessing_label.setText(text)
