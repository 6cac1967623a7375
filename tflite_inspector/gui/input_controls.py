"""Form pieces the Compare page and the Quantization lab share: lists of input files and
folders, the random-inputs choice, how inputs are prepared (normalization and resize), and
labels that wrap.

Both pages prepare images with core/inputs.py; sharing the controls keeps the two forms
offering the same choices, so that the lab can hand its settings over to Compare.
"""

from __future__ import annotations

import os
import re
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
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.inputs import (
    ARRAY_SUFFIXES,
    IMAGE_SUFFIXES,
    PRESETS,
    RESIZE_MODES,
    InputError,
    Normalization,
    custom_normalization,
    preset,
)

INPUT_FILTER = ("Images and arrays (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES + ARRAY_SUFFIXES)
                + ");;All files (*)")

SUGGESTED = "suggested"  # the normalization derived from the models (core's suggest_normalization)
CUSTOM = "custom"


def wrapped_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    # Long tensor names and paths wrap instead of widening the page.
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def parse_numbers(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in re.split(r"[,;\s]+", text.strip()) if t)
    except ValueError:
        raise InputError(f"{what}: give numbers, one or one per channel (e.g. 127.5 or 123.7, 116.3, 103.5)") from None


class InputList(QWidget):
    """Input files and folders, with Add files / Add folder / Clear. Whether each can be used is
    decided, per file, when a run reads it. `changed` is emitted on every change."""

    changed = Signal()

    def __init__(self, what: str = "", *, add_files_text: str = "Add files…", max_height: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths: list[str] = []
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
        clear.clicked.connect(self.clear)
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
        self.add(paths)

    def add_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, f"Add a folder of {self._what}inputs")
        if path:
            self.add([path])

    def add(self, paths: Sequence[str]) -> None:
        for path in paths:
            path = os.path.abspath(path)
            if path in self.paths:
                continue
            self.paths.append(path)
            item = QListWidgetItem(os.path.basename(path) + (os.sep if os.path.isdir(path) else ""))
            item.setToolTip(path)
            self.list.addItem(item)
        self.changed.emit()

    def set_paths(self, paths: Sequence[str]) -> None:
        self.paths.clear()
        self.list.clear()
        self.add(paths)

    def clear(self) -> None:
        self.set_paths(())


class RandomInputsChoice(QWidget):
    """"Use N random inputs instead": only when the user ticks it, since results on random data
    must be marked as such. `changed` is emitted on every change."""

    changed = Signal()

    def __init__(self, default_count: int, tip: str, after: str = "random inputs instead",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox("Use")
        self.check.setToolTip(tip)
        self.spin = QSpinBox()
        self.spin.setRange(1, 100_000)
        self.spin.setValue(default_count)
        self.check.toggled.connect(lambda _: self.changed.emit())
        self.spin.valueChanged.connect(lambda _: self.changed.emit())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.check)
        row.addWidget(self.spin)
        row.addWidget(QLabel(after))
        row.addStretch(1)

    @property
    def count(self) -> int:
        """How many random inputs, 0 for the files."""
        return self.spin.value() if self.check.isChecked() else 0

    def set_count(self, count: int | None) -> None:
        """`count` random inputs; None: the files (the count shown is kept)."""
        if count is not None:
            self.spin.setValue(count)
        self.check.setChecked(count is not None)


class PreprocessingControls(QObject):
    """The normalization (the models' suggestion, a preset, or a custom mean and std) and the
    resize mode of a form. `changed` is emitted on every edit."""

    changed = Signal()

    def __init__(self, suggested_text: str, suggested_tip: str = "", *, min_contents_length: int = 24,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
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
        self.normalization_combo.currentIndexChanged.connect(lambda _: self._edited())
        self.resize_combo.currentIndexChanged.connect(lambda _: self._edited())
        for edit in (self.mean_edit, self.std_edit):
            edit.textChanged.connect(lambda _: self._edited())

    def add_rows(self, form: QFormLayout) -> None:
        form.addRow("Normalization", self.normalization_combo)
        form.addRow("", self.custom_row)
        form.addRow("Resize", self.resize_combo)

    def _edited(self) -> None:
        self.custom_row.setVisible(self.normalization_combo.currentData() == CUSTOM)
        self.changed.emit()

    def set_suggestion(self, text: str, tip: str = "") -> None:
        """What the first item, the models' own normalization, says."""
        self.normalization_combo.setItemText(0, text)
        self.normalization_combo.setItemData(0, tip or None, Qt.ItemDataRole.ToolTipRole)

    def chosen(self) -> Normalization | None:
        """The normalization chosen, None for the suggested one; InputError when the custom mean
        and std are not usable."""
        choice = self.normalization_combo.currentData()
        if choice in PRESETS:
            return preset(choice)
        if choice == CUSTOM:
            return custom_normalization(parse_numbers(self.mean_edit.text(), "mean"),
                                        parse_numbers(self.std_edit.text(), "std"))
        return None

    def choose(self, choice: str) -> None:
        """SUGGESTED, a key of PRESETS, or CUSTOM."""
        index = self.normalization_combo.findData(choice)
        if index < 0:
            raise ValueError(f"no normalization {choice!r}")
        self.normalization_combo.setCurrentIndex(index)

    def set_normalization(self, normalization: Normalization | None) -> None:
        """None chooses the suggestion; a preset (by name and values) is chosen as such, anything
        else as custom mean and std."""
        if normalization is None:
            self.choose(SUGGESTED)
        elif normalization.name in PRESETS and normalization == preset(normalization.name, normalization.source):
            self.choose(normalization.name)
        else:
            self.mean_edit.setText(", ".join(f"{v:.9g}" for v in normalization.mean))
            self.std_edit.setText(", ".join(f"{v:.9g}" for v in normalization.std))
            self.choose(CUSTOM)

    @property
    def resize(self) -> str:
        return self.resize_combo.currentData()

    def set_resize(self, resize: str) -> None:
        self.resize_combo.setCurrentIndex(max(self.resize_combo.findData(resize), 0))

    def disable(self, why: str) -> None:
        for widget in (self.normalization_combo, self.resize_combo):
            widget.setEnabled(False)
            widget.setToolTip(why)
