"""Form state the Compare page and the quantization lab share, as plain values: how images are
normalized. The pages' models hold these; the widgets (widgets/inputs.py) only show and edit
them, so a value handed over from one page to the other (the lab's normalization to Compare)
travels as a value, never through a text field.
"""

from __future__ import annotations

import re

from ..core.comparison.inputs import PRESETS, Normalization, custom_normalization, preset
from ..core.errors import InputError

SUGGESTED = "suggested"  # the normalization derived from the models (core's suggest_normalization)
CUSTOM = "custom"


def parse_numbers(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in re.split(r"[,;\s]+", text.strip()) if t)
    except ValueError:
        raise InputError(f"{what}: give numbers, one or one per channel (e.g. 127.5 or 123.7, 116.3, 103.5)") from None


def format_numbers(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.9g}" for v in values)


class NormalizationChoice:
    """The models' suggestion, a preset (a key of core's PRESETS), or a custom mean and std."""

    def __init__(self) -> None:
        self.choice = SUGGESTED
        self.custom: Normalization | None = None  # as given, or as last typed and read
        self.custom_error = ""  # why the typed mean and std are not usable ("" when they are)

    def choose(self, choice: str) -> None:
        if choice not in PRESETS and choice not in (SUGGESTED, CUSTOM):
            raise ValueError(f"no normalization {choice!r}")
        self.choice = choice

    def set(self, normalization: Normalization | None) -> None:
        """None chooses the suggestion; a preset (by name and values) is chosen as such, anything
        else as a custom mean and std."""
        if normalization is None:
            self.choice = SUGGESTED
        elif normalization.name in PRESETS and normalization == preset(normalization.name, normalization.source):
            self.choice = normalization.name
        else:
            self.choice, self.custom, self.custom_error = CUSTOM, normalization, ""

    def type_custom(self, mean_text: str, std_text: str) -> None:
        """The user typed a mean and a std: read them now, and say why when they are not usable."""
        try:
            self.custom = custom_normalization(parse_numbers(mean_text, "mean"), parse_numbers(std_text, "std"))
            self.custom_error = ""
        except InputError as e:
            self.custom, self.custom_error = None, str(e)

    def chosen(self) -> Normalization | None:
        """The normalization chosen, None for the suggestion; InputError when the custom one is
        not usable."""
        if self.choice in PRESETS:
            return preset(self.choice)
        if self.choice == CUSTOM:
            if self.custom is None:
                raise InputError(self.custom_error or "normalization: give a mean and a std")
            return self.custom
        return None

    def custom_texts(self) -> tuple[str, str]:
        """What the custom fields show for the custom value held."""
        if self.custom is None:
            return "", ""
        return format_numbers(self.custom.mean), format_numbers(self.custom.std)
