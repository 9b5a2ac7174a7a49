"""Dialogs: choosing a scenario, a readable error, resuming a session, and the score."""

from __future__ import annotations

import sys
from pathlib import Path

from PyQt6.QtCore import QProcess, Qt, QUrl, pyqtSignal
from PyQt6.QtGui import QColor, QDesktopServices
from PyQt6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QMessageBox,
                             QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

from simulator.gui.widgets.layout import row

__all__ = ["ScenarioDialog", "ScoreDialog", "show_error", "ask_resume"]


def show_error(parent, title: str, text: str) -> QMessageBox:
    """A readable, non-blocking error dialog (``objectName`` ``"errorDialog"``)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def ask_resume(parent, unfinished, on_answer) -> QMessageBox:
    """Offer to resume the newest unfinished session; ``on_answer(path or None)`` is called."""
    session = unfinished[0]
    box = QMessageBox(QMessageBox.Icon.Question, "Resume the last session?",
                      f"The session {session.path.name} ({session.scenario_title}, {session.records} actions, "
                      f"{session.time_s / 60:.1f} min) did not end. Resume it?"
                      + (f"\n({len(unfinished) - 1} more unfinished in {session.path.parent})" if len(unfinished) > 1
                         else ""), QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("resumeDialog")
    resume = box.addButton("Resume", QMessageBox.ButtonRole.AcceptRole)
    resume.setObjectName("resumeButton")
    new = box.addButton("New session", QMessageBox.ButtonRole.RejectRole)
    new.setObjectName("newSessionButton")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: on_answer(session.path if button is resume else None))
    box.open()
    return box


class ScenarioDialog(QDialog):
    """The library (double-click or Open), or a file; emits ``chosen`` with an id or a path."""

    chosen = pyqtSignal(str)

    def __init__(self, parent=None, folder=None) -> None:
        super().__init__(parent)
        from simulator.scenario import library, load_scenario

        self.setWindowTitle("Open a scenario")
        self.setObjectName("scenarioDialog")
        self.list = QListWidget(self)
        self.list.setObjectName("scenarioList")
        for scenario_id, path in library(folder).items():
            s = load_scenario(path)
            item = QListWidgetItem(f"{s.meta.title}  ·  {s.meta.difficulty}, {s.procedure.modality}")
            item.setData(Qt.ItemDataRole.UserRole, scenario_id)
            item.setToolTip("\n".join(s.meta.learning_objectives))
            self.list.addItem(item)
        self.list.itemDoubleClicked.connect(self._accept_item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(lambda: self.list.currentItem() and self._accept_item(self.list.currentItem()))
        buttons.rejected.connect(self.reject)
        self.open_button = buttons.button(QDialogButtonBox.StandardButton.Open)
        self.file_button = QPushButton("From a file…")
        self.file_button.setObjectName("scenarioFromFile")
        self.file_button.clicked.connect(self._from_file)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Scenarios of the library:"))
        layout.addWidget(self.list)
        layout.addLayout(row(self.file_button, None, buttons))
        self.resize(560, 420)

    def _accept_item(self, item) -> None:
        self.accept()
        self.chosen.emit(item.data(Qt.ItemDataRole.UserRole))

    def _from_file(self) -> None:
        from PyQt6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Scenario file", "", "Scenarios (*.toml);;All files (*)")
        if path:
            self.accept()
            self.chosen.emit(path)


class ScoreDialog(QDialog):
    """The score of an ended session: the verdict, each criterion, and the HTML report (written in
    a separate process by ``rhizosim score --report``, so the window stays responsive)."""

    reportWritten = pyqtSignal(str)

    def __init__(self, report, session_path: Path, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("scoreDialog")
        self.setWindowTitle("Score")
        self.report = report
        self.report_path = Path(session_path).with_suffix(".report.html")
        verdict = "PASS" if report.passed else "FAIL"
        self.verdict = QLabel(f"<h2 style='color:{'#2e7d32' if report.passed else '#c62828'}'>{verdict} "
                              f"{report.percent:.1f} %</h2> pass mark {report.pass_mark:g} %"
                              + (f"; required criteria failed: {', '.join(report.failed_required)}"
                                 if report.failed_required else ""))
        self.verdict.setObjectName("scoreVerdict")
        self.table = QTableWidget(len(report.criteria), 4, self)
        self.table.setObjectName("scoreTable")
        self.table.setHorizontalHeaderLabels(["criterion", "points", "", "feedback"])
        for line, c in enumerate(report.criteria):
            status = "pass" if c.passed else ("n/a" if not c.applicable else "fail")
            cells = [c.title, f"{c.points:.1f} / {c.weight:g}", status, c.feedback]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, c.id)
                if column == 2:
                    item.setForeground(QColor({"pass": "#2e7d32", "fail": "#c62828"}.get(status, "#777")))
                self.table.setItem(line, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.open_report = QPushButton("Writing the HTML report…")
        self.open_report.setObjectName("openReport")
        self.open_report.setEnabled(False)
        self.open_report.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.report_path))))
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table, 1)
        layout.addLayout(row(self.open_report, None, close))
        self.resize(900, 560)
        self.process = QProcess(self)
        self.process.finished.connect(self._written)
        self.process.start(sys.executable, ["-m", "simulator.cli", "score", str(session_path), "--report", "--quiet"])

    def _written(self, code: int, _status) -> None:
        if code == 0 and self.report_path.exists():
            self.open_report.setText("Open the HTML report")
            self.open_report.setEnabled(True)
            self.reportWritten.emit(str(self.report_path))
        else:
            error = bytes(self.process.readAllStandardError()).decode(errors="replace").strip().splitlines()
            self.open_report.setText("The report could not be written")
            self.open_report.setToolTip(error[-1] if error else f"exit code {code}")

    def done(self, result: int) -> None:
        if self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.waitForFinished(60000)
        super().done(result)
