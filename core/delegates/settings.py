"""What a delegate is asked to target: one typed object, passed from the command line or the app
to the rule engine and shown in reports.

Only NNAPI has a setting today: the Android API level, which decides which ops and types its
rules allow (resources/delegates/nnapi.toml names the level each needs).
"""

from __future__ import annotations

from dataclasses import dataclass

# Android 11: the default of the NNAPI delegate's users we know, and of these rules.
DEFAULT_NNAPI_API_LEVEL = 30
# The levels the app offers: NNAPI exists from Android 8.1 (27); 35 is Android 15, the newest
# level the rules distinguish. Lower levels are accepted (NNAPI then takes no op).
NNAPI_API_LEVELS = range(27, 36)


@dataclass(frozen=True)
class DelegateSettings:
    """The settings of one analysis. Hashable: the app keeps one report per delegate and settings."""

    api_level: int = DEFAULT_NNAPI_API_LEVEL  # NNAPI's Android API level

    def __post_init__(self) -> None:
        if self.api_level < 1:
            raise ValueError(f"an Android API level is a positive number, not {self.api_level}")

    def as_dict(self) -> dict[str, int]:
        """The settings as the JSON and the report show them."""
        return {"api_level": self.api_level}
