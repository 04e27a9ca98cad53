"""Issue 17 item 6: a window that says what things are.

Every parameter has a human label (code name in the tooltip), an unknown frame rate is said as
such, components.csv has one area column in pixels, and the export dialog takes a folder that
does not exist yet (the export creates it).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PyQt6.QtWidgets import QLabel, QLineEdit

from cnmf_gui.param_labels import LABELS, label_of
from cnmf_gui.params import PipelineParams
from tests.test_export_csv import _read, _session
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401


def test_every_parameter_has_a_human_label():
    missing = [f"{stage}.{f.name}" for stage, cls in PipelineParams.stages().items()
               for f in dataclasses.fields(cls) if (stage, f.name) not in LABELS]
    assert not missing, f"add labels in cnmf_gui/param_labels.py for: {', '.join(missing)}"
    assert label_of("evaluation", "snr_lowest") == "Reject below SNR"


def test_params_panel_shows_labels_with_the_code_name_in_the_tooltip(qtbot, window):  # noqa: F811
    labels = {w.text(): w.toolTip() for w in window.params_panel.findChildren(QLabel)}
    assert "Soma radius (0 = estimate) (px)" in labels
    assert labels["Soma radius (0 = estimate) (px)"].startswith("init.neuron_radius:")
    assert not any(text in labels for text in ("snr_lowest", "n_background", "min_pnr"))


def test_unknown_frame_rate_is_said(qtbot, window):  # noqa: F811
    s = window.session
    s.data.frame_rate = None
    s.set_param(None, "frame_rate", None)
    s.set_frame(3)
    text = window.movie_view.time_label.text()
    assert "no frame rate" in text and "frame 4/" in text and "0.00" not in text


def test_one_area_column_in_pixels(tmp_path):
    from cnmf_gui.io.export_csv import export_csv

    data = _session()
    data.components.metrics["area"] = np.array([5.0, 9.0, 2.0, 4.0])
    export_csv(data, tmp_path, include_all=True)
    header, rows = _read(tmp_path / "components.csv")
    assert [h for h in header if "area" in h] == ["area_px"]
    assert [float(r[header.index("area_px")]) for r in rows] == [5.0, 9.0, 2.0, 4.0]


def test_export_dialog_takes_a_new_folder_and_the_export_creates_it(qtbot, window, tmp_path):  # noqa: F811
    from cnmf_gui.gui.dialogs import export_folder_dialog

    dialog = export_folder_dialog(window, "Export", str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    new = tmp_path / "exports" / "day1"
    edit = [e for e in dialog.findChildren(QLineEdit) if e.isVisible()][0]
    edit.setText(str(new))
    dialog.accept()
    assert dialog.result() == 1 and dialog.selectedFiles()[0] == str(new)
    assert window.export_csv(False, folder=str(new))
    qtbot.waitUntil(lambda: not window.worker.busy, timeout=10000)
    assert (new / "components.csv").exists()
