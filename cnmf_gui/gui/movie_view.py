"""The movie view: frames of the chosen view, playback, contrast, and clickable footprint contours.

Frames come from the session (``session.frame_image(view, t)``), one at a time; nothing is
computed here. Raw and corrected side by side share zoom and pan (linked view boxes) and time.
A click on the image selects the component whose footprint is strongest there (Ctrl+click adds
to the selection).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPoint, QPointF, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton,
                             QSlider, QStyle, QVBoxLayout, QWidget)

from cnmf_gui.errors import UserError
from cnmf_gui.gui.binding import subscriptions
from cnmf_gui.gui.contours import ContourLayer
from cnmf_gui.gui.outline_controls import OutlineControls
from cnmf_gui.session.frames import colours_of, footprint_outlines
from cnmf_gui.session import VIEWS


class MovieView(QWidget):
    """Shows the session's movie (or a still) with contours; plays, seeks and selects.

    Parameters
    ----------
    session : Session
    """

    view_changed = pyqtSignal(str)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.subs = subscriptions(self)
        self.session = session
        self.view = "raw"
        self._contours: dict = {}
        self._auto_levels = True
        self._frames_shown = 0
        self._split_points: list = []     # Alt+clicks so far: (component id, row, col)
        self._was_side = False

        self.view_combo = QComboBox()
        self.view_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.view_combo.setMinimumContentsLength(18)
        self.view_combo.setToolTip("What the image shows: the movie, a model view or a summary image")
        self.view_combo.currentIndexChanged.connect(self._on_combo)
        self.play_button = QPushButton()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.set_playing)
        self.speed = QDoubleSpinBox()
        self.speed.setRange(1.0, 1000.0)
        self.speed.setValue(30.0)
        self.speed.setSuffix(" fps")
        self.speed.setToolTip("Playback speed in frames per second")
        self.speed.valueChanged.connect(self._on_speed)
        self.time_label = QLabel("")
        self.time_label.setMinimumWidth(170)
        self.contours_box = QCheckBox("Outlines")
        self.contours_box.setChecked(True)
        self.contours_box.toggled.connect(self._on_contours_toggled)
        self.outline_filter = QComboBox()
        for label, statuses in (("all", None), ("accepted", (1,)), ("not rejected", (1, 0, 2)),
                                ("undecided", (0,)), ("rejected", (-1,)), ("inactive", (2,))):
            self.outline_filter.addItem(label, statuses)
        # Rejected outlines are off by default: on real data they are mostly neuropil and noise
        # that hide the cells still to judge (the selection is always drawn; "all" shows them).
        self.outline_filter.setCurrentIndex(self.outline_filter.findText("not rejected"))
        self.outline_filter.setToolTip("Which components' outlines are drawn (the selection always is)")
        self.outline_filter.currentIndexChanged.connect(self._on_contours_toggled)
        self.auto_button = QPushButton("Auto levels")
        self.auto_button.setToolTip("Fit the contrast to the current frame")
        self.auto_button.clicked.connect(self.auto_levels)

        top = QHBoxLayout()
        for w in (self.view_combo, self.play_button, self.speed, self.time_label):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.contours_box)
        top.addWidget(self.outline_filter)
        top.addWidget(self.auto_button)
        self.outline_style = OutlineControls()
        self.outline_style.changed.connect(self._on_components)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Panel titles, shown side by side only: which one is raw, which corrected.
        self.left_title = self.graphics.addLabel("raw", row=0, col=0)
        self.right_title = self.graphics.addLabel("motion-corrected", row=0, col=1)
        self.left = self.graphics.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.right = self.graphics.addViewBox(row=1, col=1, lockAspect=True, invertY=True, enableMenu=False)
        self.right.setXLink(self.left)
        self.right.setYLink(self.left)
        # Side by side, both halves the same width: with the default preferred widths the grid
        # gave the corrected panel about two thirds of the raw one, cutting its image off.
        # Side by side, both halves the same width. The grid sizes a column from its items:
        # the titles' different text widths gave the panels different widths (the corrected
        # image came out cut off), so every item of the two columns asks for the same width.
        # (Their minimum widths are made equal in set_view, only while both are shown.)
        for item in (self.left, self.right, self.left_title, self.right_title):
            item.setPreferredWidth(4000)
        self.left_image = pg.ImageItem()
        self.right_image = pg.ImageItem()
        self.left.addItem(self.left_image)
        self.right.addItem(self.right_image)
        self.histogram = pg.HistogramLUTItem(image=self.left_image)
        self.graphics.addItem(self.histogram, row=1, col=2)
        self.left_contours = ContourLayer(self.left)
        self.right_contours = ContourLayer(self.right)
        self.right.setVisible(False)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Frame")
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(self.session.set_frame)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.outline_style)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.slider)

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

        for event, handler in (("data", self._on_data), ("frame", self._on_frame),
                               ("components", self._on_components), ("status", self._on_status),
                               ("selection", self._on_selection), ("motion", self._on_data),
                               ("partial", self._on_partial)):
            self.subs.on(session, event, handler)
        self._on_data()

    # ------------------------------------------------------------------------------------------
    # session events
    # ------------------------------------------------------------------------------------------
    def _on_data(self, *args) -> None:
        self.set_playing(False)
        views = self.session.available_views()
        self.view_combo.blockSignals(True)
        self.view_combo.clear()
        for name in views:
            self.view_combo.addItem(VIEWS[name], name)
        self.view_combo.blockSignals(False)
        if self.session.frame_rate:
            self.speed.setValue(min(max(self.session.frame_rate, 1.0), 1000.0))
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(self.session.n_frames - 1, 0))
        self.slider.setValue(self.session.frame)
        self.slider.blockSignals(False)
        self._contours = {}
        # New results with motion correction: footprints live in corrected coordinates, so the
        # raw view (where outlines would be misplaced and are hidden) gives way to the corrected one.
        has_motion = self.session.data is not None and self.session.data.motion is not None
        keep = self.view in views and not (self.view == "raw" and has_motion and "corrected" in views)
        preferred = self.view if keep else (
            "corrected" if "corrected" in views else (views[0] if views else "raw"))
        self.set_view(preferred, force=True)
        self._on_components()
        if views:
            self.left.autoRange(padding=0.0)

    def _on_frame(self, t: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(t)
        self.slider.blockSignals(False)
        self._show_frame()

    def _on_components(self, *args) -> None:
        comps = self.session.components
        if comps is None:
            self._contours = {}
        else:
            self._contours = footprint_outlines(comps.A, self.session.image_shape, comps.ids,
                                                cache=self._contours)
        self._redraw_contours()

    def _on_partial(self, result) -> None:
        """Outline the footprints a running job has found so far (until its results arrive)."""
        footprints = result.get("footprints") if isinstance(result, dict) else None
        if footprints is None or self.session.data is None:
            return
        K = footprints.shape[1]
        ids = np.arange(-K, 0)        # provisional: never a real id, never selectable
        outlines = footprint_outlines(footprints, self.session.image_shape, ids)
        for layer in (self.left_contours, self.right_contours):
            layer.update(outlines, ids, np.zeros(K, np.int8), ())

    def _on_status(self, ids) -> None:
        self._redraw_contours()

    def _on_selection(self, ids) -> None:
        for layer in (self.left_contours, self.right_contours):
            layer.update_selection(self._contours, ids)

    def _redraw_contours(self) -> None:
        comps = self.session.components
        ids = comps.ids if comps is not None else []
        status = comps.status if comps is not None else []
        colours = {int(i): tuple(int(v) for v in 255 * rgb) for i, rgb in zip(ids, colours_of(ids))}
        for layer in (self.left_contours, self.right_contours):
            layer.set_style(self.outline_style.mode, self.outline_style.filled.isChecked(), colours)
            layer.update(self._contours, ids, status, self.session.selection)

    # ------------------------------------------------------------------------------------------
    # view and frames
    # ------------------------------------------------------------------------------------------
    def _on_combo(self, index: int) -> None:
        name = self.view_combo.itemData(index)
        if name:
            self.set_view(name)

    def set_view(self, name: str, *, force: bool = False) -> None:
        """Show view ``name`` (a key of :data:`cnmf_gui.session.VIEWS`)."""
        if name == self.view and not force:
            return
        self.view = name
        index = self.view_combo.findData(name)
        if index >= 0 and index != self.view_combo.currentIndex():
            self.view_combo.blockSignals(True)
            self.view_combo.setCurrentIndex(index)
            self.view_combo.blockSignals(False)
        side = name == "side_by_side"
        self.right.setVisible(side)
        for title in (self.left_title, self.right_title):
            title.setVisible(side)
            title.setMaximumHeight(20 if side else 0)
        widest = max(t.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()
                     for t in (self.left_title, self.right_title)) if side else 0
        for box in (self.left, self.right):
            box.setMinimumWidth(widest)
        if side != self._was_side and self.session.data is not None:
            # Two panels: each image fills its half, once the layout has given the boxes their size.
            QTimer.singleShot(0, lambda: self.left.autoRange(padding=0.0))
        self._was_side = side
        # Raw frames are not aligned with the footprints: outline cells only where they fit.
        misaligned = name == "raw" and self.session.data is not None and self.session.data.motion is not None
        shown = self.contours_box.isChecked()
        statuses = self.outline_filter.currentData()
        self.left_contours.set_visible(shown and not misaligned and not side, statuses)
        self.contours_box.setToolTip(
            "Outlines are hidden on raw frames: the footprints are in motion-corrected coordinates"
            if misaligned else "Draw footprint outlines coloured by status")
        self.right_contours.set_visible(shown and side, statuses)
        self._auto_levels = True
        self._show_frame()
        self.view_changed.emit(name)

    def _on_contours_toggled(self, *args) -> None:
        self.set_view(self.view, force=True)

    def auto_levels(self) -> None:
        self._auto_levels = True
        self._show_frame()

    def _show_frame(self) -> None:
        s = self.session
        t = s.frame
        if s.data is None or not s.available_views():
            self.left_image.clear()
            self.time_label.setText("")
            return
        if self.view == "side_by_side":
            self._set_image(self.left_image, s.frame_image("raw", t))
            self._set_image(self.right_image, s.frame_image("corrected", t), levels_from=self.left_image)
        else:
            self._set_image(self.left_image, s.frame_image(self.view, t))
        self._auto_levels = False
        self._frames_shown += 1
        if s.is_still(self.view):
            self.time_label.setText("still image")
        else:
            # An unknown rate is said, not shown as a time in frames ("0.00 frames").
            when = f"{s.time_of(t):8.2f} s   " if s.frame_rate else "time unknown (no frame rate)   "
            self.time_label.setText(f"{when}frame {t + 1}/{s.n_frames}")

    def _set_image(self, item: pg.ImageItem, image: np.ndarray, levels_from=None) -> None:
        if image.ndim == 3:
            # Demixed colour frames are RGB in [0, 1].
            item.setImage(image, autoLevels=False, levels=(0.0, 1.0))
        elif levels_from is not None:
            item.setImage(image, autoLevels=False, levels=levels_from.levels)
        elif self._auto_levels:
            item.setImage(image, autoLevels=True)
        else:
            item.setImage(image, autoLevels=False)

    # ------------------------------------------------------------------------------------------
    # playback
    # ------------------------------------------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        playing = bool(playing) and self.session.n_frames > 1 and not self.session.is_still(self.view)
        if self.play_button.isChecked() != playing:
            self.play_button.blockSignals(True)
            self.play_button.setChecked(playing)
            self.play_button.blockSignals(False)
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        if playing == self.timer.isActive():
            return
        # The histogram is recomputed on every new frame; while playing it is frozen (levels stay
        # adjustable) and brought up to date on pause.
        if playing:
            self.left_image.sigImageChanged.disconnect(self.histogram.imageChanged)
            self.timer.start(self._interval_ms())
        else:
            self.timer.stop()
            self.left_image.sigImageChanged.connect(self.histogram.imageChanged)
            self.histogram.imageChanged()

    def toggle_playing(self) -> None:
        self.set_playing(not self.timer.isActive())

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def _interval_ms(self) -> int:
        return max(int(round(1000.0 / self.speed.value())), 0)

    def _on_speed(self, value: float) -> None:
        if self.timer.isActive():
            self.timer.setInterval(self._interval_ms())

    def _tick(self) -> None:
        n = self.session.n_frames
        if n:
            self.session.set_frame((self.session.frame + 1) % n)

    # ------------------------------------------------------------------------------------------
    # clicks
    # ------------------------------------------------------------------------------------------
    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.session.components is None:
            return
        pos = event.scenePos()
        for box in (self.left, self.right):
            if box.isVisible() and box.sceneBoundingRect().contains(pos):
                point = box.mapSceneToView(pos)
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self._seed_at(int(point.y()), int(point.x()))
                elif event.modifiers() & Qt.KeyboardModifier.AltModifier:
                    self._split_point(int(point.y()), int(point.x()))
                else:
                    add = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
                    self.session.select_at(point.y(), point.x(), add=add)
                event.accept()
                return

    def _seed_at(self, row: int, col: int) -> None:
        """Shift+click: a missed cell fitted at the click (the session's seed command, undoable)."""
        try:
            new_id = self.session.seed(row, col)
        except UserError as exc:
            self.session.message(f"cannot seed here: {exc}")
            return
        self.session.message(f"seeded component {new_id} at row {row}, column {col} (Ctrl+Z undoes it)")

    def _split_point(self, row: int, col: int) -> None:
        """Alt+click twice on the selected component: split it with one cell at each point."""
        selection = self.session.selection
        if len(selection) != 1:
            self._split_points = []
            self.session.message("select the component to split first, then Alt+click each of its two cells")
            return
        points = [p for p in self._split_points if p[0] == selection[0]] + [(selection[0], row, col)]
        self._split_points = points
        if len(points) < 2:
            self.session.message(f"split {selection[0]}: Alt+click the second cell")
            return
        self._split_points = []
        try:
            new_ids = self.session.split(selection[0], [p[1:] for p in points])
        except UserError as exc:
            self.session.message(str(exc))
            return
        self.session.message(f"split {points[0][0]} into {new_ids[0]} and {new_ids[1]} (Ctrl+Z undoes it)")

    def widget_pos(self, row: float, col: float) -> QPoint:
        """Where pixel (row, col)'s centre is in ``self.graphics.viewport()`` coordinates (tests, demos)."""
        box = self.right if self.view == "side_by_side" else self.left
        scene = box.mapViewToScene(QPointF(col + 0.5, row + 0.5))
        return self.graphics.mapFromScene(scene)

    def contour_status(self, component_id: int):
        """Status colour the outline of ``component_id`` is drawn in (None when not drawn)."""
        return self.left_contours.status_drawn(component_id)
