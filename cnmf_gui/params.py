"""Typed, frozen parameters: one dataclass per pipeline stage, grouped in :class:`PipelineParams`.

Every field is declared with :func:`param`, which stores its description, unit, bounds (or
allowed choices) and default in the dataclass field's metadata. The GUI's parameter panel, the
command line's ``--params`` JSON and the documentation are all generated from that one place.

Values are checked when an object is built: an unknown key or a value out of range raises
:class:`~cnmf_gui.errors.ParameterError` naming the key and the allowed range.

Examples
--------
>>> p = PipelineParams.from_dict({"deconvolution": {"epsilon": 0.1}})
>>> p.deconvolution.epsilon
0.1
>>> p2 = p.replace("deconvolution", p=2)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from cnmf_gui.atomic import atomic_path
from cnmf_gui.errors import ParameterError
from cnmf_gui.param_fields import _Stage, describe_range, param  # noqa: F401 (describe_range: API)
from cnmf_gui.params_online import OnlineParams

# ----------------------------------------------------------------------------------------------
# Stages
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MotionParams(_Stage):
    """Motion correction (rigid and piecewise-rigid, NoRMCorre-style)."""

    STAGE = "motion"

    enabled: bool = param(True, "Run motion correction before CNMF.")
    pw_rigid: bool = param(False, "Piecewise-rigid correction on overlapping patches after the rigid pass.")
    max_shift: float = param(15.0, "Largest rigid shift searched in either direction.", unit="px",
                             low=0.0, low_open=True)
    upsample_factor: int = param(50, "Sub-pixel precision of the shift estimate is 1/upsample_factor px.",
                                 low=1, high=1000)
    template_frames: int = param(200, "Frames averaged for the initial template.", unit="frames", low=1)
    template_iterations: int = param(2, "Rounds of template refinement from aligned frames.", low=0, high=10)
    temporal_bin: int = param(0, "Frames averaged per shift estimate for noisy movies (shifts are interpolated "
                                 "between bins): 0 = chosen from the movie's signal-to-noise ratio, 1 = single frames.",
                              unit="frames", low=0)
    highpass_sigma: float = param(3.0, "Gaussian high-pass width applied before matching: structure broader "
                                       "than this (haze, bleaching of a vignetted field, whole cells lighting "
                                       "up) does not steer the shift (0 = off; 3 to 10 for one-photon data).",
                                  unit="px", low=0.0)
    taper_fraction: float = param(0.1, "Width of the spatial taper (Tukey window) as a fraction of the frame.",
                                  low=0.0, high=0.5)
    patch_size: int = param(64, "Side of a piecewise-rigid patch.", unit="px", low=8)
    patch_overlap: int = param(16, "Overlap of neighbouring patches.", unit="px", low=0)
    max_deviation_rigid: float = param(3.0, "Largest deviation of a patch's shift from the rigid shift.",
                                       unit="px", low=0.0)
    chunk_frames: int = param(256, "Frames processed per chunk (bounds memory).", unit="frames", low=1)
    bad_frame_threshold: float = param(5.0, "A frame is flagged bad when its correlation with the template "
                                            "falls this many robust standard deviations below the median.",
                                       low=0.0, low_open=True)
    interpolation: str = param("cubic", "Interpolation when shifting frames: cubic (Keys) keeps them sharp; "
                                        "linear is slightly faster and blurs by up to half a pixel.",
                               choices=("cubic", "linear"))
    pc_metric: bool = param(True, "Also measure residual motion along the movie's principal components "
                                  "(works for short movies).")
    n_workers: int = param(0, "Threads for motion correction (0 = one per core).", low=0)

    def _check_consistency(self) -> None:
        if self.patch_overlap >= self.patch_size:
            raise ParameterError(
                f"parameter motion.patch_overlap = {self.patch_overlap} must be smaller than "
                f"motion.patch_size = {self.patch_size}")


@dataclass(frozen=True)
class InitParams(_Stage):
    """Initialisation of components (greedy detection of neuron-sized blobs)."""

    STAGE = "init"

    neuron_radius: float = param(0.0, "Typical radius of a neuron (0 = estimated from the movie's summary "
                                      "images; the value used is stored with the results).",
                                 unit="px", low=0.0, high=100.0)
    n_components: int = param(0, "Number of components to find per patch (0 = stop automatically "
                                 "by the quality thresholds below).", low=0)
    min_corr: float = param(0.1, "Smallest local correlation of the raw movie near a seed pixel "
                                 "(automatic stop).",
                            low=0.0, high=1.0)
    min_pnr: float = param(6.0, "Smallest peak-to-noise ratio of a seed pixel's filtered trace "
                                "(automatic stop).",
                           low=0.0)
    max_components: int = param(2000, "Upper bound on components in the whole field.", low=1)
    method: str = param("greedy", "Seeding: greedy (two-photon) or corr_pnr (one-photon: correlation and "
                                  "peak-to-noise images of the high-pass filtered movie).",
                        choices=("greedy", "corr_pnr"))

    def __post_init__(self):
        if self.neuron_radius is None:  # JSON null: estimate, like 0
            object.__setattr__(self, "neuron_radius", 0.0)
        super().__post_init__()

    def _check_consistency(self) -> None:
        if 0.0 < self.neuron_radius < 0.5:
            raise ParameterError(f"parameter init.neuron_radius = {self.neuron_radius} is too small: "
                                 "expected 0 (estimate it) or at least 0.5 px")


@dataclass(frozen=True)
class CNMFParams(_Stage):
    """Alternating updates, background, merging and patches."""

    STAGE = "cnmf"

    n_background: int = param(1, "Rank of the non-negative background (nb).", low=0, high=10)
    n_iterations: int = param(2, "Passes of spatial and temporal updates.", low=1, high=50)
    tolerance: float = param(1e-3, "Stop early when the relative change of the model is below this.",
                             low=0.0)
    merge_threshold: float = param(0.85, "Merge overlapping components whose traces correlate above this.",
                                   low=0.0, high=1.0)
    merge_overlap: float = param(0.7, "Merge components whose footprints' cosine similarity is at least "
                                      "this, whatever their traces (duplicates; 1 = never).",
                                 low=0.0, high=1.0)
    dilation_radius: float = param(1.5, "Footprints may grow within this many neuron radii of their support.",
                                   low=0.0, high=10.0)
    patch_size: int = param(0, "Side of a CNMF patch for large fields of view (0 = whole field).",
                            unit="px", low=0)
    patch_overlap: int = param(16, "Overlap of neighbouring CNMF patches.", unit="px", low=0)
    n_workers: int = param(0, "Worker processes for patches (0 = one per core).", low=0)
    scheduler: str = param("", "Address of a dask scheduler to run patches on, e.g. tcp://HOST:8786 "
                               "(workers must see the movie's file); empty = this machine.")
    chunk_frames: int = param(500, "Frames read per chunk when streaming the movie.", unit="frames", low=1)
    background_model: str = param("low_rank", "Background model: low_rank (b f, two-photon) or ring "
                                              "(CNMF-E, one-photon: each pixel from a ring around it).",
                                  choices=("low_rank", "ring"))
    ring_radius: float = param(0.0, "Radius of the ring background's ring (0 = 2.5 neuron radii).", unit="px", low=0.0)
    ring_downsample: int = param(2, "The ring background is fitted on a grid this many times coarser.",
                                 low=1, high=8)

    def _check_consistency(self) -> None:
        import re
        if self.scheduler and not re.match(r"^((tcp|tls|inproc|ucx|ws|wss)://)?[^\s/:]+(:\d{1,5})?$",
                                           self.scheduler.strip()):
            raise ParameterError(f"parameter cnmf.scheduler = {self.scheduler!r}: expected a dask "
                                 f"scheduler address such as tcp://HOST:8786")


@dataclass(frozen=True)
class DeconvParams(_Stage):
    """Noise-constrained deconvolution of every trace."""

    STAGE = "deconvolution"

    # 2 with auto_order (each component AR(1) or AR(2) from its spectrum, AR(1) refined first:
    # deconvolution.single.solve_auto): on every row of the accuracy sweep median r(S) rose by
    # 0.00-0.19 over AR(1) (6s 0.63-0.65 -> 0.78-0.81, fps7 0.92 -> 0.99), r(C) equal or higher.
    p: int = param(2, "Order of the autoregressive calcium model (0 = no deconvolution; with "
                      "auto_order, 2 lets each component be AR(1) or AR(2)).", low=0, high=2)
    auto_order: bool = param(True, "With p = 2, choose each component's order (AR(1) or AR(2), "
                                   "i.e. whether its rise is resolved), kinetics and noise level "
                                   "from a fit of its power spectrum.")
    epsilon: float = param(0.0, "Relaxation of the noise constraint: ||c + b - y|| <= (1 + epsilon) "
                                "sigma sqrt(T).", low=-1.0, low_open=True, high=10.0)
    s_min: float = param(0.0, "Minimum spike size (0 = convex solution; negative = multiple of sigma).")
    baseline: str = param("nonneg", "How the constant baseline b is treated.",
                          choices=("free", "nonneg", "zero"))
    noise_range: tuple = param((0.25, 0.5), "Band of the power spectrum, as fractions of the sampling "
                                           "rate, averaged to estimate the noise level.")
    noise_method: str = param("logmexp", "How the band of the power spectrum is averaged.",
                              choices=("mean", "median", "logmexp"))
    noise_fit: str = param("joint", "Noise level of AR(1) traces: the upper band of the spectrum "
                                    "('band'), or a joint fit of noise floor and AR(1) or AR(2) kinetics to the "
                                    "spectrum ('joint'; the band overstates the noise of fast "
                                    "indicators at low frame rates).", choices=("band", "joint"))
    lags: int = param(5, "Autocovariance lags used to fit the AR coefficients.", low=1, high=100)
    refine_g: bool = param(True, "Refine the AR coefficients by maximising the fit after the first solve.")
    # "shared" is used by the one-photon (ring background) fit, where every cell carries one
    # indicator: engine/onephoton/kinetics.py says why and how
    kinetics: str = param("per_component", "With p = 2, kinetics fitted to each component's trace, or one decay "
                                           "and rise shared by all components (one-photon fit).",
                          choices=("per_component", "shared"))
    method: str = param("fast", "Solver: the exact active-set solver or the CVXPY reference.",
                        choices=("fast", "cvxpy"))

    def _check_consistency(self) -> None:
        lo, hi = (self.noise_range + (None, None))[:2]
        if (len(self.noise_range) != 2 or not all(isinstance(v, (int, float)) for v in self.noise_range)
                or not 0.0 <= lo < hi <= 0.5):
            raise ParameterError(
                "parameter deconvolution.noise_range must be two numbers 0 <= low < high <= 0.5, "
                f"got {list(self.noise_range)!r}")


@dataclass(frozen=True)
class EvalParams(_Stage):
    """Evaluation metrics, automatic accept/reject and dF/F."""

    STAGE = "evaluation"

    min_snr: float = param(2.5, "Accept a component whose trace SNR is at least this ...", low=0.0)
    min_r_value: float = param(0.8, "... and whose spatial consistency is at least this.",
                               low=-1.0, high=1.0)
    min_r_value_demixed: float = param(0.95, "... or whose spatial consistency, once the neighbouring components' "
                                             "own activity is removed, is at least this (0 = off).",
                                       low=0.0, high=1.0)
    snr_lowest: float = param(1.0, "Reject a component whose SNR is below this.", low=0.0)
    r_value_lowest: float = param(0.2, "Reject a component whose spatial consistency is below this.",
                                  low=-1.0, high=1.0)
    min_area: float = param(0.0, "Reject components smaller than this.", unit="px", low=0.0)
    max_area: float = param(0.0, "Reject components larger than this (0 = no limit).", unit="px", low=0.0)
    max_area_discs: float = param(4.0, "Reject components larger than this many discs of radius "
                                       "init.neuron_radius (0 = off).", low=0.0)
    min_area_discs: float = param(0.25, "Reject components smaller than this fraction of a disc of radius "
                                        "init.neuron_radius (0 = off).", low=0.0)
    accept_area_discs: float = param(0.5, "Accept only components at least this fraction of a soma's area: "
                                          "the median area of the components every other rule accepts (a "
                                          "disc of radius init.neuron_radius when fewer than 10); smaller "
                                          "ones stay undecided.", low=0.0)
    min_compactness: float = param(0.35, "Reject components whose shape is less compact than this "
                                        "(1 = a disc; sprawling neuropil scores about 0.2 to 0.4; 0 = off).",
                                   low=0.0, high=1.0)
    accept_compactness: float = param(0.55, "Accept only components at least this compact (dendrites and "
                                           "neuropil between the two limits stay undecided).", low=0.0, high=1.0)
    accept_elongation: float = param(2.0, "Accept only components whose shape is at most this many times longer "
                                          "than wide (longer ones, processes, stay undecided; 0 = off).", low=0.0)
    accept_flatness: float = param(0.6, "Accept only components whose profile is at least this fraction as "
                                        "flat-topped as the movie's accepted somata (median), or flatter than a "
                                        "Gaussian bell: blurrier ones (cells out of the focal plane, neuropil) stay "
                                        "undecided (0 = off).", low=0.0, high=1.0)
    dff_quantile: float = param(8.0, "Percentile of the running baseline F0 for dF/F.", unit="%",
                                low=0.0, high=100.0)
    dff_window: float = param(30.0, "Length of the running-baseline window for dF/F (0 = whole trace).",
                              unit="s", low=0.0)


_STAGES = {
    "motion": MotionParams,
    "init": InitParams,
    "cnmf": CNMFParams,
    "deconvolution": DeconvParams,
    "evaluation": EvalParams,
    "online": OnlineParams,
}


@dataclass(frozen=True)
class PipelineParams:
    """All stages' parameters, plus the recording's frame rate."""

    motion: MotionParams = field(default_factory=MotionParams)
    init: InitParams = field(default_factory=InitParams)
    cnmf: CNMFParams = field(default_factory=CNMFParams)
    deconvolution: DeconvParams = field(default_factory=DeconvParams)
    evaluation: EvalParams = field(default_factory=EvalParams)
    online: OnlineParams = field(default_factory=OnlineParams)
    frame_rate: float | None = None

    def __post_init__(self):
        if self.frame_rate is not None:
            fr = self.frame_rate
            if isinstance(fr, bool) or not isinstance(fr, (int, float)) or not (fr > 0 and math.isfinite(fr)):
                raise ParameterError(f"parameter frame_rate must be a positive number of Hz, got {fr!r}")
            object.__setattr__(self, "frame_rate", float(fr))
        for name, cls in _STAGES.items():
            if not isinstance(getattr(self, name), cls):
                raise ParameterError(f"parameter stage {name} must be a {cls.__name__}")

    # -- conversion -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        out: dict[str, Any] = {name: getattr(self, name).to_dict() for name in _STAGES}
        out["frame_rate"] = self.frame_rate
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "PipelineParams":
        """Build from a (possibly partial) nested dict; missing keys take defaults."""
        if not isinstance(data, dict):
            raise ParameterError(f"parameters must be a JSON object, got {type(data).__name__}")
        allowed = set(_STAGES) | {"frame_rate"}
        for key in data:
            if key not in allowed:
                raise ParameterError(f"unknown parameter stage {key!r}: expected one of {', '.join(sorted(allowed))}")
        kwargs: dict[str, Any] = {name: stage.from_dict(data.get(name, {})) for name, stage in _STAGES.items()}
        kwargs["frame_rate"] = data.get("frame_rate")
        return cls(**kwargs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "PipelineParams":
        try:
            # Real numbers only: JSON has no NaN or Infinity, and no parameter takes them.
            data = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"parameters are not valid JSON: {exc}") from None
        except RecursionError:
            raise ParameterError("parameters are nested too deeply to be a parameter set") from None
        return cls.from_dict(data)

    def replace(self, stage: str | None = None, **changes) -> "PipelineParams":
        """Return a copy with fields of one stage (or top-level fields when stage is None) changed."""
        if stage is None:
            return dataclasses.replace(self, **changes)
        if stage not in _STAGES:
            raise ParameterError(f"unknown parameter stage {stage!r}: expected one of {', '.join(_STAGES)}")
        current = getattr(self, stage).to_dict()
        for key in changes:
            if key not in current:
                raise ParameterError(f"unknown parameter {stage}.{key}: expected one of {', '.join(sorted(current))}")
        current.update(changes)
        return dataclasses.replace(self, **{stage: _STAGES[stage].from_dict(current)})

    @staticmethod
    def stages() -> dict:
        """Stage name to dataclass, in pipeline order."""
        return dict(_STAGES)


# A parameter file is a few kilobytes; anything far larger is the wrong file (a movie).
MAX_PARAMS_BYTES = 2 ** 20


def _reject_constant(name: str):
    raise ParameterError(f"parameters hold {name}, which is not a number JSON allows")


def load_params(path: str | os.PathLike) -> PipelineParams:
    """Read parameters from a JSON file; errors name the file and the key."""
    try:
        if os.path.getsize(path) > MAX_PARAMS_BYTES:
            raise ParameterError(f"{os.fspath(path)} is {os.path.getsize(path)} bytes: not a parameter file "
                                 f"(expected a JSON object of a few kB)")
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ParameterError(f"cannot read parameter file {os.fspath(path)}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{os.fspath(path)} is not a text file: expected parameters as JSON") from None
    try:
        return PipelineParams.from_json(text)
    except ParameterError as exc:
        raise ParameterError(f"{os.fspath(path)}: {exc}") from None


def save_params(params: PipelineParams, path: str | os.PathLike) -> None:
    """Write parameters as JSON, atomically (temporary file renamed into place)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(params.to_json() + "\n")
