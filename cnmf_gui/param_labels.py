"""Human labels of the parameters, for the Parameters panel (the code name goes in the tooltip).

One entry per field of :mod:`cnmf_gui.params` (a test checks that none is missing), so the panel
reads "Soma radius" rather than ``neuron_radius`` and "Reject below SNR" rather than
``snr_lowest``; the JSON files and ``--params`` keep the code names.
"""

from __future__ import annotations

STAGE_TITLES = {"motion": "Motion correction", "init": "Finding cells", "cnmf": "CNMF",
                "deconvolution": "Deconvolution", "evaluation": "Evaluation", "online": "Online"}

LABELS = {
    ("motion", "enabled"): "Correct motion",
    ("motion", "pw_rigid"): "Piecewise-rigid (non-rigid) pass",
    ("motion", "max_shift"): "Largest shift",
    ("motion", "upsample_factor"): "Sub-pixel precision (1/n px)",
    ("motion", "template_frames"): "Frames in the first template",
    ("motion", "template_iterations"): "Template refinements",
    ("motion", "temporal_bin"): "Frames per shift estimate",
    ("motion", "highpass_sigma"): "High-pass filter width",
    ("motion", "taper_fraction"): "Edge taper (fraction of the frame)",
    ("motion", "patch_size"): "Patch size",
    ("motion", "patch_overlap"): "Patch overlap",
    ("motion", "max_deviation_rigid"): "Largest patch deviation from rigid",
    ("motion", "chunk_frames"): "Frames per chunk",
    ("motion", "bad_frame_threshold"): "Bad-frame threshold",
    ("motion", "interpolation"): "Interpolation",
    ("motion", "pc_metric"): "Measure motion along principal components",
    ("motion", "n_workers"): "Threads (0 = one per core)",
    ("init", "neuron_radius"): "Soma radius (0 = estimate)",
    ("init", "n_components"): "Cells per patch (0 = automatic)",
    ("init", "min_corr"): "Smallest local correlation of a seed",
    ("init", "min_pnr"): "Smallest peak-to-noise ratio of a seed",
    ("init", "max_components"): "Most cells in the field",
    ("init", "method"): "How cells are found (two- or one-photon)",
    ("cnmf", "n_background"): "Background components",
    ("cnmf", "n_iterations"): "Update passes",
    ("cnmf", "tolerance"): "Stop when the model changes less than",
    ("cnmf", "merge_threshold"): "Merge when traces correlate above",
    ("cnmf", "merge_overlap"): "Merge when footprints overlap (cosine) above",
    ("cnmf", "dilation_radius"): "Footprint growth (soma radii)",
    ("cnmf", "patch_size"): "Patch size (0 = whole field)",
    ("cnmf", "patch_overlap"): "Patch overlap",
    ("cnmf", "n_workers"): "Worker processes (0 = one per core)",
    ("cnmf", "scheduler"): "Dask scheduler address",
    ("cnmf", "chunk_frames"): "Frames per chunk",
    ("cnmf", "background_model"): "Background model (low rank or ring)",
    ("cnmf", "ring_radius"): "Ring radius (0 = 2.5 soma radii)",
    ("cnmf", "ring_downsample"): "Ring background grid coarsening",
    ("deconvolution", "p"): "Calcium model order (AR p)",
    ("deconvolution", "auto_order"): "Choose the order per cell",
    ("deconvolution", "epsilon"): "Noise constraint relaxation (epsilon)",
    ("deconvolution", "s_min"): "Smallest spike",
    ("deconvolution", "baseline"): "Baseline",
    ("deconvolution", "noise_range"): "Noise band (fractions of the frame rate)",
    ("deconvolution", "noise_method"): "Noise band average",
    ("deconvolution", "noise_fit"): "Noise level of AR(1) traces",
    ("deconvolution", "lags"): "Autocovariance lags",
    ("deconvolution", "refine_g"): "Refine the kinetics after solving",
    ("deconvolution", "kinetics"): "Kinetics per cell or shared by all",
    ("deconvolution", "method"): "Solver",
    ("evaluation", "min_snr"): "Accept from SNR",
    ("evaluation", "min_r_value"): "Accept from spatial consistency",
    ("evaluation", "min_r_value_demixed"): "... or from consistency with neighbours removed",
    ("evaluation", "snr_lowest"): "Reject below SNR",
    ("evaluation", "r_value_lowest"): "Reject below spatial consistency",
    ("evaluation", "min_area"): "Reject smaller than",
    ("evaluation", "max_area"): "Reject larger than (0 = no limit)",
    ("evaluation", "max_area_discs"): "Reject larger than (soma discs)",
    ("evaluation", "min_area_discs"): "Reject smaller than (fraction of a soma disc)",
    ("evaluation", "accept_area_discs"): "Accept from (fraction of a soma disc)",
    ("evaluation", "min_compactness"): "Reject less compact than",
    ("evaluation", "accept_compactness"): "Accept from compactness",
    ("evaluation", "accept_elongation"): "Accept up to elongation (length / width)",
    ("evaluation", "accept_flatness"): "Accept from flatness (fraction of the somata's)",
    ("evaluation", "dff_quantile"): "dF/F baseline percentile",
    ("evaluation", "dff_window"): "dF/F baseline window",
    ("online", "init_frames"): "Frames for the initial batch fit",
    ("online", "init_light"): "Lighter initial batch fit",
    ("online", "update_every"): "Update footprints every",
    ("online", "search_every"): "Search for new cells every",
    ("online", "buffer_frames"): "Residual frames kept for the search",
    ("online", "max_new"): "Most new cells per search",
    ("online", "min_new_pnr"): "Smallest peak-to-noise ratio of a new cell",
    ("online", "demix_iterations"): "Demixing sweeps per frame",
    ("online", "pool_limit"): "Open pools per trace (deconvolution)",
    ("online", "noise_window"): "Noise re-fit window",
    ("online", "motion"): "Correct motion frame by frame",
    ("online", "register_crop"): "Register frames on the central square of",
    ("online", "checkpoint_seconds"): "Write the session every",
}


def label_of(stage: str | None, name: str) -> str:
    """The human label of a parameter (its code name with spaces when it has none yet)."""
    return LABELS.get((stage, name)) or name.replace("_", " ").capitalize()


def stage_title(stage: str) -> str:
    return STAGE_TITLES.get(stage, stage.replace("_", " ").capitalize())
