"""The graph of a subgraph: its structure, a layered layout, overlays and an SVG drawing."""
