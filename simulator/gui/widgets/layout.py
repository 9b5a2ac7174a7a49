"""A row of widgets in one call: text becomes a label, ``None`` a stretch."""

from __future__ import annotations

from PyQt6.QtWidgets import QHBoxLayout, QLabel

__all__ = ["row"]


def row(*items) -> QHBoxLayout:
    """A horizontal layout of ``items``: widgets as they are, ``str`` as a :class:`QLabel`,
    ``None`` as a stretch."""
    layout = QHBoxLayout()
    for item in items:
        if item is None:
            layout.addStretch(1)
        elif isinstance(item, str):
            layout.addWidget(QLabel(item))
        else:
            layout.addWidget(item)
    return layout
