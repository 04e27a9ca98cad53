"""A refined-kinetics solve that does not converge keeps the unrefined solution instead of failing
the whole run (seen on a one-photon movie, where it stopped CNMF-E's temporal update)."""

import numpy as np

import cnmf_gui.engine.deconvolution.single as single


def test_refine_failure_keeps_the_first_solution(monkeypatch):
    rng = np.random.default_rng(0)
    T, g = 400, np.array([0.9])
    s = (rng.random(T) < 0.03) * rng.uniform(1, 3, T)
    c = np.zeros(T)
    for t in range(T):
        c[t] = (g[0] * c[t - 1] if t else 0.0) + s[t]
    y = c + rng.normal(0, 0.2, T)
    plain = single.solve_one(y, g, 0.2, 0.0, 0.0, "none", 0.0, "auto", refine=False)
    real = single.solve_scaled

    def failing_after_first(*args, **kwargs):
        if "scale" not in kwargs:          # the refine rounds call it without ``scale``
            raise RuntimeError("deconvolution did not converge (status 1, 200 iterations)")
        return real(*args, **kwargs)

    monkeypatch.setattr(single, "solve_scaled", failing_after_first)
    refined = single.solve_one(y, g, 0.2, 0.0, 0.0, "none", 0.0, "auto", refine=True)
    np.testing.assert_allclose(refined.c, plain.c)
    np.testing.assert_allclose(refined.g, g)
