"""Form pieces the Compare page and the quantization lab share: a list of input files and
folders, the random-inputs choice, and how inputs are prepared (normalization and resize).

Each shows a value its page's model holds and says what the user asked for with a signal; the
model changes, and the page shows the new value. Both pages prepare images with core's
comparison/inputs.py, so the two forms offer the same choices and the lab can hand its settings
over to Compare.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.comparison.inputs import ARRAY_SUFFIXES, IMAGE_SUFFIXES, PRESETS, RESIZE_MODES
from ..forms import CUSTOM, SUGGESTED, NormalizationChoice

INPUT_FILTER = ("Images and arrays (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES + ARRAY_SUFFIXES)
                + ");;All files (*)")


class InputList(QWidget):
    """Input files and folders, with Add files / Add folder / Clear. `add_requested(paths)` and
    `clear_requested()` say what the user asked; `show_paths` shows the model's list."""

    add_requested = Signal(list)
    clear_requested = Signal()

    def __init__(self, what: str = "", *, add_files_text: str = "Add files…", max_height: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._what = f"{what} " if what else ""
        self.list = QListWidget()
        self.list.setMinimumHeight(48)
        if max_height is not None:
            self.list.setMaximumHeight(max_height)
        self.list.setToolTip("Images, .npy/.npz arrays and folders (searched recursively); drop them here")
        add_files = QPushButton(add_files_text)
        add_files.clicked.connect(self.add_files_dialog)
        add_folder = QPushButton("Add folder…")
        add_folder.clicked.connect(self.add_folder_dialog)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear_requested)
        buttons = QHBoxLayout()
        for button in (add_files, add_folder, clear):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def add_files_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, f"Add {self._what}inputs", "", INPUT_FILTER)
        if paths:
            self.add_requested.emit(paths)

    def add_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, f"Add a folder of {self._what}inputs")
        if path:
            self.add_requested.emit([path])

    def show_paths(self, paths: Sequence[str]) -> None:
        self.list.clear()
        for path in paths:
            item = QListWidgetItem(os.path.basename(path) + (os.sep if os.path.isdir(path) else ""))
            item.setToolTip(path)
            self.list.addItem(item)


class RandomInputsChoice(QWidget):
    """"Use N random inputs instead": only when the user ticks it, since results on random data
    must be marked as such. `changed(count)` with the count, or None for the files."""

    changed = Signal(object)

    def __init__(self, default_count: int, tip: str, after: str = "random inputs instead",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox("Use")
        self.check.setToolTip(tip)
        self.spin = QSpinBox()
        self.spin.setRange(1, 100_000)
        self.spin.setValue(default_count)
        self.check.toggled.connect(lambda _: self._emit())
        self.spin.valueChanged.connect(lambda _: self._emit())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.check)
        row.addWidget(self.spin)
        row.addWidget(QLabel(after))
        row.addStretch(1)

    def _emit(self) -> None:
        self.changed.emit(self.spin.value() if self.check.isChecked() else None)

    def show_count(self, count: int | None) -> None:
        """`count` random inputs; None: the files (the count shown is kept)."""
        for widget in (self.check, self.spin):
            widget.blockSignals(True)
        if count is not None:
            self.spin.setValue(count)
        self.check.setChecked(count is not None)
        for widget in (self.check, self.spin):
            widget.blockSignals(False)


class PreprocessingControls(QObject):
    """The normalization (the models' suggestion, a preset, or a custom mean and std) and the resize
    mode of a form, over a `NormalizationChoice` the page's model holds. `changed` is emitted when
    the user edits either; the choice is already updated."""

    changed = Signal()

    def __init__(self, choice: NormalizationChoice, suggested_text: str, suggested_tip: str = "", *,
                 min_contents_length: int = 24, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.choice = choice
        self.normalization_combo = QComboBox()
        # Narrow: the presets' long names would widen the whole form.
        self.normalization_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.normalization_combo.setMinimumContentsLength(min_contents_length)
        self.normalization_combo.addItem(suggested_text, SUGGESTED)
        self.set_suggestion(suggested_text, suggested_tip)
        for key, (mean, std, label) in PRESETS.items():
            self.normalization_combo.addItem(f"{label} (mean {mean:g}, std {std:g})", key)
        self.normalization_combo.addItem("Custom…", CUSTOM)
        self.mean_edit = QLineEdit()
        self.mean_edit.setPlaceholderText("mean, e.g. 127.5 or 123.7, 116.3, 103.5")
        self.std_edit = QLineEdit()
        self.std_edit.setPlaceholderText("std, e.g. 127.5 or 58.4, 57.1, 57.4")
        self.custom_row = QWidget()
        custom = QHBoxLayout(self.custom_row)
        custom.setContentsMargins(0, 0, 0, 0)
        custom.addWidget(self.mean_edit)
        custom.addWidget(self.std_edit)
        self.custom_row.setVisible(False)
        self.resize_combo = QComboBox()
        for key, description in RESIZE_MODES.items():
            self.resize_combo.addItem(key, key)
            self.resize_combo.setItemData(self.resize_combo.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        self.normalization_combo.currentIndexChanged.connect(lambda _: self._chosen())
        self.resize_combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        for edit in (self.mean_edit, self.std_edit):
            edit.textChanged.connect(lambda _: self._typed())

    def add_rows(self, form: QFormLayout) -> None:
        form.addRow("Normalization", self.normalization_combo)
        form.addRow("", self.custom_row)
        form.addRow("Resize", self.resize_combo)

    def _chosen(self) -> None:
        self.choice.choose(self.normalization_combo.currentData())
        self.custom_row.setVisible(self.choice.choice == CUSTOM)
        self.changed.emit()

    def _typed(self) -> None:
        self.choice.type_custom(self.mean_edit.text(), self.std_edit.text())
        self.changed.emit()

    def set_suggestion(self, text: str, tip: str = "") -> None:
        """What the first item, the models' own normalization, says."""
        self.normalization_combo.setItemText(0, text)
        self.normalization_combo.setItemData(0, tip or None, Qt.ItemDataRole.ToolTipRole)

    def show_choice(self) -> None:
        """Show the choice the model holds (after it was set from a value, not typed here)."""
        self.normalization_combo.blockSignals(True)
        self.normalization_combo.setCurrentIndex(max(self.normalization_combo.findData(self.choice.choice), 0))
        self.normalization_combo.blockSignals(False)
        mean, std = self.choice.custom_texts()
        for edit, text in ((self.mean_edit, mean), (self.std_edit, std)):
            edit.blockSignals(True)  # the value shown is the model's: nothing to read back
            edit.setText(text)
            edit.blockSignals(False)
        self.custom_row.setVisible(self.choice.choice == CUSTOM)

    @property
    def resize(self) -> str:
        return self.resize_combo.currentData()

    def show_resize(self, resize: str) -> None:
        self.resize_combo.blockSignals(True)
        self.resize_combo.setCurrentIndex(max(self.resize_combo.findData(resize), 0))
        self.resize_combo.blockSignals(False)

    def disable(self, why: str) -> None:
        for widget in (self.normalization_combo, self.resize_combo):
            widget.setEnabled(False)
            widget.setToolTip(why)

    def enable(self) -> None:
        """Again usable (another signature of the model takes an image)."""
        for widget in (self.normalization_combo, self.resize_combo):
            widget.setEnabled(True)
            widget.setToolTip("")
