"""Ground-truth synthetic calcium-imaging movies for tests, benchmarks and the demo.

Two generators:

- :func:`make_realistic_movie` (realistic.py): made by physics, not by the engine's model -
  a continuous scene (ring somata with dark nuclei, processes, silent cells, bursty AR(2)
  indicator kinetics, a neuropil with its own structure and time courses, vessels, bleaching)
  moved by rigid and non-rigid motion, resampled by interpolation through a point-spread function,
  photon-counted with read noise. What accuracy is measured on (benchmarks/accuracy.py).
- :func:`make_movie` (legacy.py): the original generator, CNMF's own model with a Fourier-shift
  motion; it flatters the engine, and is kept for tests and the demo.

:func:`make_session` (demo_session.py) turns a ``make_movie`` truth into a session. Everything is
seeded and deterministic. Shift convention: see :class:`SyntheticMovie`.
"""

from cnmf_gui.synthetic.demo_session import make_session
from cnmf_gui.synthetic.kinetics import INDICATORS, ar_coefficients, simulate_calcium
from cnmf_gui.synthetic.legacy import make_movie
from cnmf_gui.synthetic.realistic import make_realistic_movie
from cnmf_gui.synthetic.truth import SyntheticMovie

__all__ = ["SyntheticMovie", "make_movie", "make_realistic_movie", "make_session", "ar_coefficients",
           "simulate_calcium", "INDICATORS"]
