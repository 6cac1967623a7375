"""The Compare page: its plain model (model.py) and its panels — setup, layers, outputs, unmatched —
composed by view.py."""
