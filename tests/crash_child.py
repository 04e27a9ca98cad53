"""A window that a test kills with SIGKILL: it opens a session and makes edits with the keyboard.

Run as ``python -m tests.crash_child SESSION.h5 N_EDITS INTERVAL_S SETTINGS.ini``. Each edit
selects the next component's row with a click and presses R (or A when the component is already
rejected), so every key press changes a status. It prints ``edit I`` after each edit and, after
the last, ``done`` and the statuses it left as JSON; then it keeps running until it is killed.
Not a test module: ``test_issue12_kill_window.py`` drives it.
"""

from __future__ import annotations

import json
import sys


def main(argv) -> None:
    from PyQt6.QtCore import QSettings, Qt, QTimer
    from PyQt6.QtTest import QTest
    from PyQt6.QtWidgets import QApplication

    from cnmf_gui.app import configure_pyqtgraph
    from cnmf_gui.gui.main_window import MainWindow
    from cnmf_gui.results import STATUS_REJECTED
    from cnmf_gui.session import Session

    path, n_edits, interval, settings = argv[0], int(argv[1]), float(argv[2]), argv[3]
    app = QApplication([])
    configure_pyqtgraph()
    session = Session()
    session.open(path)
    w = MainWindow(session, settings=QSettings(settings, QSettings.Format.IniFormat))
    w.ask_questions = False
    w.show()
    done = [0]

    def edit():
        comps = session.components
        k = done[0] % comps.n_components
        table = w.table.table
        rect = table.visualRect(table.model().index(w.table.row_of(int(comps.ids[k])), 0))
        QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        key = Qt.Key.Key_A if comps.status[k] == STATUS_REJECTED else Qt.Key.Key_R
        QTest.keyClick(table, key)
        done[0] += 1
        print(f"edit {done[0]}", flush=True)
        if done[0] == n_edits:
            timer.stop()
            print("done " + json.dumps(session.components.status.tolist()), flush=True)

    timer = QTimer()
    timer.timeout.connect(edit)
    timer.start(int(interval * 1000))
    app.exec()


if __name__ == "__main__":
    main(sys.argv[1:])
