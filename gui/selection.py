"""What is selected in one open model, and the way back to what was: one object every view of the
model reads and sets (the op and tensor tables, the detail panel and its links, the Compare
page's layers; the graph to come), so that they all show the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .notify import Notifier


@dataclass(frozen=True)
class Place:
    """An op or a tensor of a subgraph, or a subgraph itself (index −1)."""

    kind: str  # "op", "tensor" or "subgraph"
    subgraph: int
    index: int

    @staticmethod
    def op(subgraph: int, index: int) -> Place:
        return Place("op", subgraph, index)

    @staticmethod
    def tensor(subgraph: int, index: int) -> Place:
        return Place("tensor", subgraph, index)

    @staticmethod
    def subgraph_of(subgraph: int) -> Place:
        return Place("subgraph", subgraph, -1)


class Selection:
    """The current place and the history of places, for Back and Forward.

    `changed` is notified with "place" when the place changes and "history" when only what Back
    and Forward can do changed. A place selected while going back or forward is not recorded.
    """

    def __init__(self) -> None:
        self.place: Place | None = None
        self._history: list[Place] = []
        self._position = -1
        self.changed = Notifier()

    def select(self, place: Place, *, record: bool = True) -> None:
        moved = place != self.place
        self.place = place
        if record:
            self._record(place)
        if moved:
            self.changed.notify("place")

    def clear(self) -> None:
        """Nothing selected (the detail panel empties); the history stays."""
        if self.place is not None:
            self.place = None
            self.changed.notify("place")

    def _record(self, place: Place) -> None:
        if 0 <= self._position < len(self._history) and self._history[self._position] == place:
            return
        del self._history[self._position + 1:]
        self._history.append(place)
        self._position = len(self._history) - 1
        self.changed.notify("history")

    def can_go_back(self) -> bool:
        return self._position > 0

    def can_go_forward(self) -> bool:
        return self._position < len(self._history) - 1

    def back(self) -> Place | None:
        if not self.can_go_back():
            return None
        self._position -= 1
        self.select(self._history[self._position], record=False)
        self.changed.notify("history")
        return self.place

    def forward(self) -> Place | None:
        if not self.can_go_forward():
            return None
        self._position += 1
        self.select(self._history[self._position], record=False)
        self.changed.notify("history")
        return self.place
