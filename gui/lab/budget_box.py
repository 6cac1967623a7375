"""The device budget of the quantization lab: limits on size, latency, agreement and error, and a
delegate that must take the whole model. The budget is the page model's; core's `apply_budget`
re-marks the last result as soon as it changes, without running anything again."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QGroupBox, QHBoxLayout, QLabel, QWidget

from ...core.lab.settings import LAB_DELEGATES, Budget
from .model import LabPage
from .variant_table import DELEGATE_TITLES


def _spin(low: float, high: float, decimals: int, suffix: str, value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    spin.setValue(value)
    spin.setKeyboardTracking(False)  # re-applied when a number is complete, not at each digit
    return spin


class BudgetBox(QGroupBox):
    """One row: each limit is a check box (is it set?) and its value; then the delegate."""

    def __init__(self, page: LabPage, parent: QWidget | None = None) -> None:
        super().__init__("Device budget (optional; applied to the last run at once)", parent)
        self.page = page
        self._row = row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        self.size_spin = _spin(0.001, 100_000.0, 3, " MB", 1.0)
        self.size_check = self._limit("Max size", self.size_spin,
                                      "The largest file the device takes (1 MB = 1,000,000 bytes)")
        self.latency_spin = _spin(0.001, 1_000_000.0, 3, " ms", 10.0)
        self.latency_check = self._limit("Max median latency", self.latency_spin,
                                         "The slowest median latency allowed, as measured here with XNNPACK")
        self.top1_spin = _spin(0.0, 100.0, 1, " %", 95.0)
        self.top1_check = self._limit("Min top-1", self.top1_spin, "The lowest top-1 agreement with the float model")
        self.sqnr_spin = _spin(-1000.0, 1000.0, 1, " dB", 20.0)
        self.sqnr_check = self._limit("Min output SQNR", self.sqnr_spin,
                                      "The lowest output SQNR against the float model")
        self.delegate_combo = QComboBox()
        self.delegate_combo.addItem("none", None)
        for delegate in LAB_DELEGATES:
            self.delegate_combo.addItem(DELEGATE_TITLES[delegate], delegate)
        self.delegate_combo.setToolTip("A delegate that must take every op of the model")
        self.delegate_combo.currentIndexChanged.connect(lambda _: self._edited())
        row.addWidget(QLabel("Must run wholly on"))
        row.addWidget(self.delegate_combo)
        row.addStretch(1)
        page.changed.connect(lambda aspect: self._show_budget() if aspect == "budget" else None)

    def _limit(self, text: str, spin: QDoubleSpinBox, tip: str) -> QCheckBox:
        check = QCheckBox(text)
        check.setToolTip(tip)
        spin.setEnabled(False)
        spin.setToolTip(tip)
        check.toggled.connect(spin.setEnabled)
        check.toggled.connect(lambda _: self._edited())
        spin.valueChanged.connect(lambda _: self._edited())
        self._row.addWidget(check)
        self._row.addWidget(spin)
        self._row.addSpacing(10)
        return check

    def budget(self) -> Budget:
        """The budget the box shows."""
        return Budget(
            max_size_bytes=round(self.size_spin.value() * 1e6) if self.size_check.isChecked() else None,
            max_latency_ms=self.latency_spin.value() if self.latency_check.isChecked() else None,
            min_top1_agreement=self.top1_spin.value() / 100 if self.top1_check.isChecked() else None,
            min_output_sqnr_db=self.sqnr_spin.value() if self.sqnr_check.isChecked() else None,
            whole_model_delegate=self.delegate_combo.currentData(),
        )

    def _edited(self) -> None:
        self.page.set_budget(self.budget())

    def _show_budget(self) -> None:
        """The page's budget (set from saved settings, or by the caller), without echoing it back."""
        budget = self.page.budget
        values = (
            (self.size_check, self.size_spin, None if budget.max_size_bytes is None else budget.max_size_bytes / 1e6),
            (self.latency_check, self.latency_spin, budget.max_latency_ms),
            (self.top1_check, self.top1_spin,
             None if budget.min_top1_agreement is None else budget.min_top1_agreement * 100),
            (self.sqnr_check, self.sqnr_spin, budget.min_output_sqnr_db),
        )
        widgets = [self.delegate_combo, *(w for check, spin, _ in values for w in (check, spin))]
        for widget in widgets:
            widget.blockSignals(True)
        try:
            for check, spin, value in values:
                check.setChecked(value is not None)
                spin.setEnabled(value is not None)
                if value is not None:
                    spin.setValue(value)
            self.delegate_combo.setCurrentIndex(max(self.delegate_combo.findData(budget.whole_model_delegate), 0))
        finally:
            for widget in widgets:
                widget.blockSignals(False)
