"""The Parameters panel lists the presets; choosing one sets its keys and says which."""

from __future__ import annotations

from cnmf_gui.params import PipelineParams


def test_choosing_the_one_photon_preset_in_the_panel(qtbot):
    from cnmf_gui.gui.params_panel import ParamsPanel
    from cnmf_gui.session import Session

    session = Session(PipelineParams())
    panel = ParamsPanel(session)
    qtbot.addWidget(panel)
    names = [panel.preset.itemText(i) for i in range(panel.preset.count())]
    assert "one-photon" in names and "two-photon" in names
    panel.preset.setCurrentIndex(names.index("one-photon"))
    panel.preset.activated.emit(names.index("one-photon"))
    assert session.params.cnmf.background_model == "ring" and session.params.init.method == "corr_pnr"
    assert "cnmf.background_model = 'ring'" in panel.preset_note.text()
    combo = panel.editors[("cnmf", "background_model")]
    assert combo.currentData() == "ring"                  # the editors show what the preset set
    panel.preset.setCurrentIndex(names.index("two-photon"))
    panel.preset.activated.emit(names.index("two-photon"))
    assert session.params == PipelineParams()
