"""Render the main window with a file open to a PNG (``cnmf-gui screenshot``)."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from cnmf_gui.atomic import atomic_path
from cnmf_gui.errors import UserError


def render(path, out, *, view=None, size=(1400, 900), frame=None, select=None, dock=None,
           outlines: str = "all") -> None:
    """Open ``path`` in a fresh window (default layout), show ``view`` and save a PNG to ``out``."""
    from PyQt6.QtCore import QSettings

    from cnmf_gui.app import application
    from cnmf_gui.gui.main_window import MainWindow

    app = application(offscreen_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # A throwaway settings file: screenshots always show the default layout.
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        # Nobody is there to answer (a recovery file, a job): every question gets its cautious answer.
        window.ask_questions = False
        try:
            window.resize(*size)
            window.show()
            window.resize(*size)       # the first show arranges the docks at the default size
            if not window.open_path(path):
                box = window.error_dialog
                raise UserError(box.text() if box is not None else f"{path}: cannot open")
            s = window.session
            if view is not None:
                if view not in s.available_views():
                    raise UserError(f"view {view!r} is not available for {path}: expected one of "
                                    f"{', '.join(s.available_views())}")
                window.movie_view.set_view(view)
            mv = window.movie_view
            if outlines == "none":
                mv.contours_box.setChecked(False)
            else:
                mv.outline_filter.setCurrentIndex(mv.outline_filter.findText(outlines))
            comps = s.components
            if select is None and comps is not None and comps.n_components:
                snr = np.nan_to_num(np.asarray(comps.metrics.get("snr", np.zeros(comps.n_components)), float))
                select = [int(comps.ids[k]) for k in np.argsort(-snr)[:2]]
            if select:
                s.select(select)
            s.set_frame(s.n_frames // 2 if frame is None else frame)
            if dock is not None:
                window.docks[dock].raise_()
            for _ in range(5):
                app.processEvents()
            image = window.grab()
            with atomic_path(out) as tmp_png:
                if not image.save(tmp_png, "PNG"):
                    raise UserError(f"{out}: could not write the PNG")
        finally:
            window._closing_ok = True
            window.close()
            window.deleteLater()
            app.processEvents()
