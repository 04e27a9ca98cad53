"""Named parameter presets: a few keys set together for a kind of recording.

``one-photon`` (miniscope, microendoscope) switches to CNMF-E: the ring background, seeds from
the correlation and PNR images of the high-pass filtered movie, the whole field at once (the ring
does not split into patches) and a broader high-pass before motion registration (vessels and
cell edges steer the shift, the bright out-of-focus haze does not). ``two-photon`` puts those
keys back to the two-photon defaults. A preset only sets the keys it names; everything else
stays as it was, and keys the user set explicitly can be kept (``keep``).
"""

from __future__ import annotations

from cnmf_gui.errors import ParameterError
from cnmf_gui.params import PipelineParams

__all__ = ["PRESETS", "apply_preset", "preset_names"]

PRESETS: dict[str, dict[str, dict]] = {
    "one-photon": {
        "init": {"method": "corr_pnr", "min_corr": 0.8, "min_pnr": 6.0},
        "cnmf": {"background_model": "ring", "patch_size": 0},
        "motion": {"highpass_sigma": 8.0},
        # one indicator in every cell: the rise is found from the population's onsets, which
        # a single trace's spectrum confuses with bursts (engine/onephoton/kinetics.py)
        "deconvolution": {"kinetics": "shared"},
        # no optical sectioning in one-photon imaging: every soma reaches the image as a blurred
        # bell; the demixed consistency was measured on two-photon movies only
        "evaluation": {"accept_flatness": 0.0, "min_r_value_demixed": 0.0},
    },
    "two-photon": {},   # filled from the defaults below: the same keys, two-photon values
}


def _two_photon() -> dict:
    defaults = PipelineParams().to_dict()
    return {stage: {key: defaults[stage][key] for key in keys} for stage, keys in PRESETS["one-photon"].items()}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def apply_preset(params: PipelineParams, name: str, *, keep=()) -> tuple[PipelineParams, list[str]]:
    """``params`` with the preset's keys set.

    Parameters
    ----------
    params : PipelineParams
    name : str
        A key of :data:`PRESETS`.
    keep : iterable of str
        ``"stage.key"`` names the user set explicitly: left as they are.

    Returns
    -------
    params : PipelineParams
    changes : list of str
        ``"stage.key = value"`` for every key the preset set (what to tell the user).
    """
    if name not in PRESETS:
        raise ParameterError(f"unknown preset {name!r}: expected one of {', '.join(preset_names())}")
    table = _two_photon() if name == "two-photon" else PRESETS[name]
    keep = set(keep)
    changes = []
    for stage, values in table.items():
        values = {k: v for k, v in values.items() if f"{stage}.{k}" not in keep}
        if values:
            params = params.replace(stage, **values)
            changes += [f"{stage}.{k} = {v!r}" for k, v in values.items()]
    return params, changes


def explicit_keys(data: dict) -> set[str]:
    """``"stage.key"`` of every key in a parameter JSON object (what the user set)."""
    return {f"{stage}.{key}" for stage, values in data.items() if isinstance(values, dict) for key in values}
