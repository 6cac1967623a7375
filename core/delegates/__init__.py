"""Which ops each delegate takes, and why not: settings, the rule tables and their checks, the
engine that evaluates them with the delegate's partitioning, the comparison with what the
runtime really delegated, and the `compat` command's output. engine.py starts the tour."""
