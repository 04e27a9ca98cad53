"""online.init_light: the initial batch fit runs with the light settings, and the run keeps the
user's own settings (and what the pipeline resolved) afterwards."""

from __future__ import annotations

from cnmf_gui.engine.online.cnmf import INIT_LIGHT, _values, _with
from cnmf_gui.params import PipelineParams


def test_light_initialisation_changes_only_its_fields_and_gives_the_settings_back():
    user = PipelineParams(frame_rate=30.0).replace("deconvolution", p=2, noise_fit="joint")
    light = _with(user, INIT_LIGHT)
    assert (light.deconvolution.p, light.deconvolution.noise_fit, light.motion.template_iterations) == (1, "band", 1)
    assert light.replace("deconvolution", p=2, noise_fit="joint").replace(
        "motion", template_iterations=user.motion.template_iterations) == user
    resolved = light.replace("init", neuron_radius=5.5)          # as the pipeline resolves it
    back = _with(resolved, _values(user, INIT_LIGHT))
    assert back == user.replace("init", neuron_radius=5.5)
    assert PipelineParams().online.init_light is False
