"""Widgets the pages share: sortable tables over row data, input lists and preprocessing
controls, plots, and the way messages and errors are shown."""
