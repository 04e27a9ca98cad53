"""Issue 17 item 5: outlines that read well.

Sub-pixel iso-lines (a Gaussian's iso-line is a circle of the known radius, not a staircase),
one stable colour per component id shared by outlines, traces and the demixed view, the status
as the line style when coloured by component, translucent fills, and a small fragment that is
still clickable.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from PyQt6.QtCore import Qt

from cnmf_gui.engine.isolines import isolines
from cnmf_gui.session.frames import colours_of, footprint_outlines
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401


def test_isoline_of_a_gaussian_is_the_circle_of_its_level():
    rr, cc = np.mgrid[:25, :25]
    sigma, radius, centre = 3.0, 5.0, (12.3, 11.6)
    img = np.exp(-((rr - centre[0]) ** 2 + (cc - centre[1]) ** 2) / (2 * sigma ** 2))
    loops = isolines(img, np.exp(-0.5 * (radius / sigma) ** 2))
    assert len(loops) == 1 and np.allclose(loops[0][0], loops[0][-1])
    dist = np.hypot(loops[0][:, 0] - centre[0], loops[0][:, 1] - centre[1])
    assert np.abs(dist - radius).max() < 0.1           # a pixel staircase is off by up to 0.7 px
    # Two blobs give two loops; a saddle's corners joined by their centre give one.
    two = np.zeros((10, 10))
    two[2:4, 2:4] = two[6:8, 6:8] = 1
    assert len(isolines(two, 0.5)) == 2


def test_outlines_in_image_coordinates_and_colours_stable_per_id():
    H, W = 20, 20
    img = np.zeros((H, W))
    img[5:10, 6:12] = 1.0
    A = sp.csc_matrix(img.reshape(-1, 1))
    poly = footprint_outlines(A, (H, W), [7])[7]
    pts = poly[~np.isnan(poly[:, 0])]
    # Pixel centres of rows 5..9 are at 5.5..9.5 in image coordinates; the 0.2 iso-line crosses
    # 20 % of the way from the outside centre to the inside one.
    np.testing.assert_allclose([pts[:, 0].min(), pts[:, 0].max()], [4.7, 10.3])
    np.testing.assert_allclose([pts[:, 1].min(), pts[:, 1].max()], [5.7, 12.3])
    np.testing.assert_array_equal(colours_of([3, 9, 12])[1], colours_of([9])[0])


def test_component_colours_line_styles_fills_and_small_fragments(qtbot, window):  # noqa: F811
    w = window
    s = w.session
    mv = w.movie_view
    mv.set_view("mean")
    ids = [int(i) for i in s.ids]
    s.reject([ids[1]])
    mv.outline_style.colour_by.setCurrentIndex(mv.outline_style.colour_by.findData("component"))
    layer = mv.left_contours
    assert set(layer.items) == set(ids)
    colour = tuple(int(v) for v in 255 * colours_of([ids[0]])[0])
    curve, fill, status = layer.items[ids[0]]
    assert curve.opts["pen"].color().getRgb()[:3] == colour and curve.isVisible()
    assert layer.items[ids[1]][0].opts["pen"].style() == Qt.PenStyle.DotLine       # rejected: dotted
    assert layer.items[ids[0]][0].opts["pen"].style() == Qt.PenStyle.SolidLine or status != 1
    assert "dotted: rejected" in mv.outline_style.legend.text()
    # The trace of the selection is drawn in the same colour as its outline.
    s.select([ids[0]])
    assert w.traces.labels[0].color.getRgb()[:3] == colour
    # Filled: translucent shapes behind the outlines.
    mv.outline_style.filled.setChecked(True)
    assert layer.items[ids[0]][1].isVisible() and not layer.items[ids[0]][1].path().isEmpty()
    mv.outline_style.colour_by.setCurrentIndex(mv.outline_style.colour_by.findData("status"))
    assert not layer.fills[0].path().isEmpty() or not layer.fills[1].path().isEmpty()
    # A click one pixel beside a component's footprint (on no footprint) still selects it.
    from scipy import ndimage
    covered = (abs(s.components.A).sum(axis=1).A.ravel() > 0).reshape(s.image_shape)
    k = 2
    own = s.components.A[:, k].toarray().reshape(s.image_shape) > 0
    rim = ndimage.binary_dilation(own, np.ones((3, 3))) & ~covered
    near_others = ndimage.binary_dilation(covered & ~own, np.ones((3, 3)))
    rows, cols = np.nonzero(rim & ~near_others)
    assert rows.size
    assert s.component_at(rows[0] + 0.5, cols[0] + 0.5) == ids[k]
    far = ~ndimage.binary_dilation(covered, np.ones((3, 3)))
    rows, cols = np.nonzero(far)
    assert s.component_at(rows[0] + 0.5, cols[0] + 0.5) is None


def test_motion_qc_readable_at_1400_by_900_and_side_by_side_labelled(qtbot, window, tmp_path):  # noqa: F811
    from PyQt6.QtWidgets import QApplication

    from cnmf_gui.results import MotionResult

    w = window
    s = w.session
    T = s.n_frames
    rng = np.random.default_rng(0)
    shifts = np.cumsum(rng.normal(0, 0.1, (T, 2)), axis=0).astype(np.float32)
    s.apply_motion_result(MotionResult(shifts=shifts, template=np.zeros(s.image_shape, np.float32),
                                       metrics={"corr_before": rng.uniform(0.4, 0.8, T),
                                                "corr_after": rng.uniform(0.8, 0.9, T)}))
    w.resize(1400, 900)
    w.docks["motion"].show()
    w.docks["motion"].raise_()
    for _ in range(5):
        QApplication.processEvents()
    assert w.height() <= 900
    qc = w.motion_qc
    for plot in (qc.shift_plot, qc.corr_plot):
        assert plot.vb.height() >= 120, plot.vb.height()
    # The legend is the title: every curve's whole name is there.
    assert "dy (rows)" in qc.shift_plot.titleLabel.text and "dx (cols)" in qc.shift_plot.titleLabel.text
    assert "before" in qc.corr_plot.titleLabel.text and "after" in qc.corr_plot.titleLabel.text
    mv = w.movie_view
    mv.set_view("side_by_side")
    assert mv.left_title.isVisible() and mv.left_title.text == "raw"
    assert mv.right_title.isVisible() and "corrected" in mv.right_title.text
    for _ in range(5):
        QApplication.processEvents()
    # Both panels the same width (the corrected one came out two thirds of the raw, cut off).
    assert abs(mv.left.width() - mv.right.width()) <= 2, (mv.left.width(), mv.right.width())
    mv.set_view("corrected")
    assert not mv.left_title.isVisible()
    for _ in range(5):
        QApplication.processEvents()
    assert mv.left.width() > 1.8 * mv.right.width() or not mv.right.isVisible()
