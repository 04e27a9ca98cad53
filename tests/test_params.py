"""Typed parameters: defaults, bounds, unknown keys, JSON round trip."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnmf_gui.errors import ParameterError
from cnmf_gui.params import (DeconvParams, MotionParams, PipelineParams, describe_range, load_params,
                             save_params)


def test_defaults_are_valid_and_every_field_is_documented():
    p = PipelineParams()
    for name, stage in PipelineParams.stages().items():
        for info in stage.field_info():
            assert info["description"], f"{name}.{info['name']} has no description"
            assert info["default"] == getattr(getattr(p, name), info["name"])


def test_json_round_trip(tmp_path):
    p = PipelineParams(frame_rate=15.0).replace("deconvolution", epsilon=0.25, p=2, noise_range=(0.2, 0.4))
    path = tmp_path / "p.json"
    save_params(p, path)
    assert load_params(path) == p
    assert json.loads(path.read_text())["deconvolution"]["noise_range"] == [0.2, 0.4]


def test_partial_json_takes_defaults():
    p = PipelineParams.from_dict({"motion": {"pw_rigid": True}})
    assert p.motion.pw_rigid is True
    assert p.motion.max_shift == MotionParams().max_shift
    assert p.cnmf == PipelineParams().cnmf


@pytest.mark.parametrize("data, words", [
    ({"deconvolution": {"epsilon": -1.0}}, ["deconvolution.epsilon", "(-1.0"]),
    ({"deconvolution": {"eps": 0.1}}, ["unknown parameter deconvolution.eps", "epsilon"]),
    ({"motoin": {}}, ["unknown parameter stage 'motoin'", "motion"]),
    ({"init": {"neuron_radius": 0.1}}, ["init.neuron_radius", "0 (estimate it) or at least 0.5 px"]),
    ({"init": {"neuron_radius": -1}}, ["init.neuron_radius", "[0.0, 100.0]", "px"]),
    ({"deconvolution": {"noise_method": "mode"}}, ["deconvolution.noise_method", "'logmexp'"]),
    ({"cnmf": {"n_background": 1.5}}, ["cnmf.n_background", "integer"]),
    ({"motion": {"pw_rigid": "yes"}}, ["motion.pw_rigid", "true or false"]),
    ({"motion": {"patch_size": 32, "patch_overlap": 32}}, ["motion.patch_overlap", "smaller"]),
    ({"deconvolution": {"noise_range": [0.4, 0.2]}}, ["deconvolution.noise_range"]),
    ({"frame_rate": -3}, ["frame_rate", "positive"]),
    ({"deconvolution": {"epsilon": float("nan")}}, ["deconvolution.epsilon", "nan"]),
    ({"motion": {"template_frames": float("inf")}}, ["motion.template_frames", "integer"]),
    ({"motion": {"template_frames": float("nan")}}, ["motion.template_frames", "integer"]),
    ({"motion": {"max_shift": float("inf")}}, ["motion.max_shift", "finite"]),
])
def test_bad_values_name_the_key_and_the_range(data, words):
    with pytest.raises(ParameterError) as info:
        PipelineParams.from_dict(data)
    for w in words:
        assert w in str(info.value)


def test_neuron_radius_is_estimated_by_default_and_old_files_stay_valid():
    assert PipelineParams().init.neuron_radius == 0.0            # 0: estimate from the movie
    assert PipelineParams.from_dict({"init": {"neuron_radius": None}}).init.neuron_radius == 0.0
    old = PipelineParams.from_json('{"init": {"neuron_radius": 6}}')  # files written before: a radius
    assert old.init.neuron_radius == 6.0


def test_bad_json_file_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ParameterError, match="bad.json"):
        load_params(path)
    with pytest.raises(ParameterError, match="missing.json"):
        load_params(tmp_path / "missing.json")


def test_frozen():
    p = DeconvParams()
    with pytest.raises(Exception):
        p.epsilon = 3.0


def test_describe_range():
    assert describe_range(DeconvParams.__dataclass_fields__["epsilon"].metadata) == "(-1.0, 10.0]"


@settings(max_examples=50, deadline=None)
@given(eps=st.floats(-5, 20, allow_nan=False))
def test_epsilon_bounds_are_enforced_exactly(eps):
    ok = -1.0 < eps <= 10.0
    if ok:
        assert DeconvParams(epsilon=eps).epsilon == eps
    else:
        with pytest.raises(ParameterError):
            DeconvParams(epsilon=eps)
