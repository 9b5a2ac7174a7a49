"""A numpy restatement of :func:`simulator.ablation.kernel.step`, same signature and outputs.

Two uses: the tests check the compiled kernel against it (an independent, vectorised reading of
the same equations), and ``benchmarks/bench_ablation.py --numpy`` swaps it in to time whole
lesions without numba (the evidence for numba in docs/benchmarks.md). Not used by the package.
"""

from __future__ import annotations

import numpy as np

from simulator.ablation.kernel import BODY, FRAME

__all__ = ["numpy_step"]


def _enthalpy(value, cf, cu, rl, phase, t_s, dtm):
    if not phase:
        return cu * (value - t_s)
    return np.where(value <= t_s, cf * (value - t_s),
                    np.where(value < t_s + dtm, (cf + rl / dtm) * (value - t_s), cf * dtm + rl + cu * (value - t_s - dtm)))


def _implicit(rhs, g, cf, cu, rl, phase, t_s, dtm):
    if not phase:
        return (rhs + cu * t_s) / (cu + g)
    h_liquid = cf * dtm + rl
    mushy = cf + rl / dtm
    return np.where(rhs <= g * t_s, (rhs + cf * t_s) / (cf + g),
                    np.where(rhs < h_liquid + g * (t_s + dtm), (rhs + mushy * t_s) / (mushy + g),
                             (rhs - h_liquid + cu * (t_s + dtm)) / (cu + g)))


def numpy_step(H, T, K, C, F, faces, labels, cf, cu, rl, kf, ku, perf, phase, t_s, dtm, u_blood, has_source, source, state,
               theta, body_on, body_value, dt, inv_h2, ny, nz, H_out, T_out, peak, low, dose, dose_mode, ln_a, ea_over_r,
               floor_c, log_u, log_rate, changed):
    """See :func:`simulator.ablation.kernel.step`."""
    n = H.size
    shape = (n // (ny * nz), ny, nz)
    lab = labels.astype(np.intp)
    c_f, c_u, r_l, k_f, k_u = cf[lab], cu[lab], rl[lab], kf[lab], ku[lab]
    t3, k3 = T.reshape(shape), K.reshape(shape)
    body = (state == BODY).reshape(shape) & bool(body_on)
    theta6 = theta.reshape(shape + (6,)) if theta.size == 6 * n else np.ones(shape + (6,))
    div, link, surface = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    inner = (slice(1, -1),) * 3
    for a in range(3):
        face = faces[a].reshape(shape)
        minus = tuple(slice(0, -2) if b == a else slice(1, -1) for b in range(3))
        plus = tuple(slice(2, None) if b == a else slice(1, -1) for b in range(3))
        lm, lp = body[minus], body[plus]
        tm = np.where(lm, theta6[inner + (2 * a,)], 1.0)
        tp = np.where(lp, theta6[inner + (2 * a + 1,)], 1.0)
        width = tm + tp
        kn = k3[inner]
        link[inner] += np.where(lm, 2.0 / (tm * width) * kn, 0.0) + np.where(lp, 2.0 / (tp * width) * kn, 0.0)
        surface[inner] += np.where(lm, kn / tm, 0.0) + np.where(lp, kn / tp, 0.0)
        div[inner] += np.where(lm, 0.0, 2.0 / width * face[minus] * (t3[minus] - t3[inner]))
        div[inner] += np.where(lp, 0.0, 2.0 / width * face[inner] * (t3[plus] - t3[inner]))
    div, link, surface = div.ravel() * inv_h2, link.ravel() * inv_h2, surface.ravel() * inv_h2
    sink = perf[lab] * F if phase else perf[lab]
    explicit = div + link * body_value + sink * u_blood + (source if has_source else 0.0)
    t_new = _implicit(H + dt * explicit, dt * (link + sink), c_f, c_u, r_l, phase, t_s, dtm)
    h_new = _enthalpy(t_new, c_f, c_u, r_l, phase, t_s, dtm)
    free = state == 0
    free |= (state == BODY) & (not body_on)
    p_body = float(np.sum(np.where(free, surface * (body_value - t_new), 0.0)))
    p_perf = float(np.sum(np.where(free, sink * (u_blood - t_new), 0.0)))
    held = (state == BODY) & bool(body_on)
    h_new = np.where(state == FRAME, H, np.where(held, _enthalpy(np.full(n, body_value), c_f, c_u, r_l, phase, t_s, dtm),
                                                  h_new))
    H_out[:] = h_new
    if phase:
        inverse = np.where(h_new <= 0.0, 1.0 / c_f,
                           np.where(h_new < c_f * dtm + r_l, 1.0 / (c_f + r_l / dtm), 1.0 / c_u))
        value = np.where(h_new <= 0.0, t_s + h_new * inverse,
                         np.where(h_new < c_f * dtm + r_l, t_s + h_new * inverse,
                                  t_s + dtm + (h_new - c_f * dtm - r_l) * inverse))
        fraction = np.where(h_new <= 0.0, 0.0, np.where(h_new < c_f * dtm + r_l, (value - t_s) / dtm, 1.0))
        conductance = k_f + fraction * (k_u - k_f)
        changed[conductance != K] = 1
        C[:], F[:], K[:] = inverse, fraction, conductance
    else:
        value = t_s + h_new * C
    T_out[:] = value
    np.maximum(peak, value, out=peak)
    np.minimum(low, value, out=low)
    mean = 0.5 * (T + value)
    if dose_mode == 1:
        hot = mean > floor_c
        dose[hot] += dt * np.exp(ln_a - ea_over_r / (mean[hot] + 273.15))
    elif dose_mode == 2:
        positive = mean > 0.0
        x = np.log(np.where(positive, mean, 1.0))
        rate = np.exp(np.interp(x, log_u, log_rate))
        dose += np.where(positive & (x >= log_u[0]), dt * rate, 0.0)
    return p_body, p_perf
