"""Ablation: the modality's settings within the scenario's allowed set, start, progress and
cancel, then the lesion's temperature (or concentration) curve and its report.

The lesion runs in a worker thread (:class:`simulator.gui.model.LesionWorker`); the core's
progress reports give the fraction done and the latest temperatures (or concentrations), so the
bar and the curve grow while the model runs, on a time axis that spans the whole lesion; when it
is made, the curve is redrawn from the lesion's logged time course.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QColor, QPainter, QPainterPath, QPen
from PyQt6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar,
                             QPushButton, QSpinBox, QVBoxLayout, QWidget)

from simulator.gui import intents
from simulator.gui.render.curves import lesion_series, progress_series

__all__ = ["AblationPanel", "CurveView"]

_COLORS = ("#e8453c", "#f0a030", "#4aa3df", "#7bc96f")


class CurveView(QWidget):
    """Curves against time (s): the lesion's time course."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.series = []
        self.span_s: float | None = None
        self.setObjectName("lesionCurve")
        self.setMinimumHeight(130)

    def set_series(self, series, span_s: float | None = None) -> None:
        """Draw ``series``; the time axis runs from 0 to ``span_s`` (s), or to the last point."""
        self.series = list(series)
        self.span_s = span_s
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1d2026"))
        painter.setPen(QColor("#aaa"))
        if not self.series:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "the tip's temperature curve appears here")
            painter.end()
            return
        left, top, right, bottom = 44, 8, self.width() - 8, self.height() - 22
        t = self.series[0].time_s
        values = [v for s in self.series for v in s.values if v is not None and math.isfinite(v)]
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        if high - low < 1e-9:
            high = low + 1.0
        end_s = self.span_s if self.span_s is not None else t[-1]
        span_t = max(end_s - t[0], 1e-9)

        def at(ti: float, v: float) -> QPointF:
            return QPointF(left + (ti - t[0]) / span_t * (right - left), bottom - (v - low) / (high - low) * (bottom - top))

        painter.drawRect(left, top, right - left, bottom - top)
        unit = self.series[0].unit
        painter.drawText(2, top + 10, f"{high:.0f}")
        painter.drawText(2, bottom, f"{low:.0f}")
        painter.drawText(left, self.height() - 6, "0 s")
        painter.drawText(right - 60, self.height() - 6, f"{end_s:.0f} s")
        for index, s in enumerate(self.series):
            path, pen_down = QPainterPath(), False
            for ti, v in zip(s.time_s, s.values):
                if v is None or not math.isfinite(v):
                    pen_down = False
                    continue
                (path.lineTo if pen_down else path.moveTo)(at(ti, v))
                pen_down = True
            painter.setPen(QPen(QColor(_COLORS[index % len(_COLORS)]), 2))
            painter.drawPath(path)
            painter.drawText(left + 8, top + 16 + 14 * index, f"{s.label} ({unit})")
        painter.end()


class AblationPanel(QGroupBox):
    def __init__(self, model, parent=None) -> None:
        super().__init__("Ablation", parent)
        self.model = model
        self.fields = []
        self.inputs: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        self.modality = QLabel("")
        layout.addWidget(self.modality)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.start = QPushButton("Start lesion")
        self.start.setObjectName("startLesion")
        self.start.clicked.connect(self._start)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancelLesion")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.model.cancel_lesion)
        row = QHBoxLayout()
        row.addWidget(self.start, 1)
        row.addWidget(self.cancel)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setObjectName("lesionProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.curve = CurveView(self)
        layout.addWidget(self.curve)
        self.result = QLabel("")
        self.result.setObjectName("lesionResult")
        self.result.setWordWrap(True)
        layout.addWidget(self.result)
        model.sessionChanged.connect(self._on_session)
        model.busyChanged.connect(self._on_busy)
        self._reports: list = []
        model.lesionProgress.connect(self._on_progress)
        model.lesionFinished.connect(self._on_finished)
        model.stateChanged.connect(self.refresh)
        model.selectionChanged.connect(self.refresh)

    def _on_session(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.inputs = {}
        scenario = self.model.scenario
        if scenario is None:
            return
        self.modality.setText({"rf": "Radiofrequency", "cryo": "Cryoneurolysis", "chemical": "Chemical neurolysis"}
                              [scenario.procedure.modality] + " (settings within this scenario's limits)")
        self.fields = intents.setting_fields(scenario)
        for f in self.fields:
            if f.kind == "choice":
                box = QComboBox()
                box.addItems(list(f.choices))
            elif f.kind == "int":
                box = QSpinBox()
                box.setRange(int(f.minimum), int(f.maximum))
                box.setValue(int(f.default))
            else:
                box = QDoubleSpinBox()
                box.setDecimals(1)
                box.setRange(f.minimum, f.maximum)
                box.setValue(float(f.default))
                box.setSuffix(f" {f.unit}" if f.unit else "")
            box.setObjectName(f"setting_{f.name}")
            self.form.addRow(f.label, box)
            self.inputs[f.name] = box
        self.curve.set_series(lesion_series(self.model.lesions[-1]) if self.model.lesions else [])
        self.result.setText("")
        self.progress.setValue(0)
        self.refresh()

    def values(self) -> dict:
        out = {}
        for f in self.fields:
            box = self.inputs[f.name]
            out[f.name] = box.currentText() if f.kind == "choice" else box.value()
        return intents.lesion_settings(self.model.scenario.procedure.modality, out)

    def _on_progress(self, report) -> None:
        self.progress.setValue(round(100 * report.fraction))
        self._reports.append(report)
        self.curve.set_series(progress_series(self._reports), span_s=report.duration_s)

    def _start(self) -> None:
        self._reports = []
        self.curve.set_series([])
        self.progress.setValue(0)
        self.result.setText("computing the lesion…")
        if not self.model.ablate(self.values()):
            self.result.setText("")

    def _on_busy(self, busy: bool) -> None:
        self.cancel.setEnabled(busy)
        self.refresh()

    def _on_finished(self, facts) -> None:
        if facts is None:
            self.result.setText("cancelled: no lesion was made")
            self.progress.setValue(0)
            return
        self.progress.setValue(100)
        self.curve.set_series(lesion_series(facts))
        target = facts["intended_target"]
        judged = facts["targets"][target]
        text = f"lesion made: {facts['volume_mm3']:.0f} mm³, {facts['length_mm']:.1f} × {facts['width_mm']:.1f} mm"
        if self.model.view_mode == "instructor":  # the trainee does not see the nerve
            text += f"; {judged['length_mm']:.1f} mm of {target} inside"
        self.result.setText(text)

    def refresh(self) -> None:
        m = self.model
        if m.loaded is not None:  # a debrief: the curve of the last lesion up to the timeline's position
            self.curve.set_series(lesion_series(m.lesions[-1]) if m.lesions else [])
            self.result.setText(m.lesions[-1]["report"].splitlines()[0] if m.lesions else "")
        self.start.setEnabled(m.live and not m.busy and m.current_needle is not None)
        for box in self.inputs.values():
            box.setEnabled(m.live and not m.busy)
