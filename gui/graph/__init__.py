"""The Graph page: a subgraph laid out as a graph, with overlays (model.py, scene.py, view.py)."""
