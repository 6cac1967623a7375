"""The desktop app: PySide6 views over the core object model. Thin: no analysis here."""
