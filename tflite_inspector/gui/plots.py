"""pyqtgraph plots of a tensor's values. Imported only when first needed (pyqtgraph
takes about 0.7 s to import). Items are created once and updated with setData."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg


class TensorPlots:
    """A value histogram and, for per-channel tensors, each channel's min-max range."""

    def __init__(self) -> None:
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.setMinimumHeight(320)
        self.widget.setBackground("w")
        self.histogram_plot = self.widget.addPlot(row=0, col=0, title="Histogram")
        self.histogram_plot.setLabel("bottom", "value")
        self.histogram_plot.setLabel("left", "count")
        self.histogram_curve = self.histogram_plot.plot(
            [0, 1], [0], stepMode="center", fillLevel=0, brush=(74, 123, 208, 120), pen=pg.mkPen("#2a5bb0")
        )
        self.channel_plot = self.widget.addPlot(row=1, col=0, title="Range per channel")
        self.channel_plot.setLabel("bottom", "channel")
        self.channel_plot.setLabel("left", "value")
        self.channel_bars = pg.BarGraphItem(x=[], height=[], y0=[], width=0.8, brush=(208, 123, 74, 160))
        self.channel_plot.addItem(self.channel_bars)

    def set_histogram(self, histogram: tuple[np.ndarray, np.ndarray] | None) -> None:
        if histogram is None:
            self.histogram_curve.setData([0, 1], [0])
            return
        counts, edges = histogram
        self.histogram_curve.setData(edges, counts)

    def set_channel_ranges(self, low: np.ndarray | None, high: np.ndarray | None) -> None:
        visible = low is not None and high is not None and low.size > 0
        self.channel_plot.setVisible(visible)
        if not visible:
            self.channel_bars.setOpts(x=[], height=[], y0=[])
            return
        x = np.arange(low.size)
        self.channel_bars.setOpts(x=x, y0=low, height=high - low, width=0.8)
        self.channel_plot.enableAutoRange()

    def histogram_data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.histogram_curve.getData()
