"""Parameters of online CNMF (OnACID), the ``online`` stage of :class:`cnmf_gui.params.PipelineParams`.

Kept in its own module so that params.py stays a list of the batch stages; declared with the
same :func:`~cnmf_gui.param_fields.param` machinery, so the panel, ``--params`` and the docs see it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnmf_gui.param_fields import _Stage, param


@dataclass(frozen=True)
class OnlineParams(_Stage):
    """Online CNMF: frames processed one by one as they arrive (OnACID)."""

    STAGE = "online"

    init_frames: int = param(200, "Frames given to the batch pipeline to initialise the components, "
                                  "background and motion template.", unit="frames", low=20)
    init_light: bool = param(False, "Initialise with a lighter batch fit: AR(1) kinetics (what the online "
                                   "deconvolution uses) with noise levels from the upper band of the traces' "
                                   "spectra (not the joint spectral fit), and one round of motion template "
                                   "refinement.")
    update_every: int = param(200, "Footprints, background and motion template are updated from the "
                                   "sufficient statistics every this many frames.", unit="frames", low=1)
    search_every: int = param(5, "The residual buffer is searched for new components every this many "
                                 "frames.", unit="frames", low=1)
    buffer_frames: int = param(40, "Frames of residual kept for the search for new components.",
                               unit="frames", low=5, high=1000)
    max_new: int = param(2, "Largest number of new components added per search.", low=0, high=50)
    min_new_pnr: float = param(4.0, "Smallest peak-to-noise ratio of the smoothed residual where a new "
                                    "component is searched.", low=0.0)
    demix_iterations: int = param(3, "Block-coordinate (HALS) sweeps per frame when demixing it on the "
                                     "current footprints and background, warm-started from the previous "
                                     "frame.", low=1, high=50)
    pool_limit: int = param(512, "Pools per trace kept open in the online deconvolution; older pools "
                                 "are final (a merge never reaches that far back in practice).",
                            low=8, high=100000)
    noise_window: int = param(1000, "Sliding window over which each trace's sparsity penalty is re-fitted "
                                    "to the noise constraint.", unit="frames", low=50)
    motion: bool = param(True, "Rigid motion correction of each frame against the running template "
                               "(when motion.enabled).")
    register_crop: int = param(256, "Side of the central square of each frame on which its rigid shift is "
                                    "measured (the whole frame is shifted); 0: the whole frame.",
                               unit="px", low=0)
    checkpoint_seconds: float = param(30.0, "The command line writes the session every this many seconds.",
                                      unit="s", low=1.0)
