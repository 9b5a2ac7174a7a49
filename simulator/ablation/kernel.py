"""The explicit finite-volume step shared by every modality, compiled with numba.

One equation covers heat with or without freezing and the spread of an injected agent:

    ∂H/∂t = ∇·(K ∇u) + P·f·(u_b − u) + S,      u = u(H)

- Heat (RF, cryo): H is the enthalpy per volume (J/m³), u the temperature (°C), K the
  conductivity (W/(m·K)), P = ρ_b c_b ω_b the Pennes perfusion term (W/(m³·K)), f the liquid
  fraction (frozen tissue is not perfused), S a heat source (W/m³). Without phase change
  H = C·(u − u_ref); with it the enthalpy method (ablation.md §5): sensible heat ``cf`` below
  the solidus, latent heat spread over a mushy zone of width ``dtm``, sensible heat ``cu``
  above.
- An agent (chemical): H = u is the concentration, K the diffusivity (m²/s), P the first-order
  clearance rate (1/s), u_b = 0.

Space: nodes on a regular grid, face conductances are harmonic means of the nodes' K (exact
for layered media). Nodes have a state: free, *body* (inside a probe; held at the probe's
value while it is on) or *frame* (the outer layer, held at its starting value). A free node
next to a held body node sees the body's surface at the true distance ``theta`` (fraction of
a spacing) along that grid line, by the Shortley-Weller difference, so a probe thinner than a
few spacings is still a cylinder of its true radius.

Time: explicit, except the coupling to the body and the perfusion sink, which are
point-implicit (their coefficients can be large next to a probe), solved exactly on the
piecewise-linear H(u), so the monotone limit ``dt <= h² / (6 max(K/C))`` (ablation.md §7) is
the only one and no node overshoots the probe's value.

The kernels are plain loops over the flattened grid; numba compiles them once and caches the
machine code next to this file. They release the GIL (``nogil``), so a GUI can run a model on a
worker thread and stay responsive. See ``docs/benchmarks.md`` for why numpy alone was too slow.
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["FREE", "BODY", "FRAME", "enthalpy_of", "thermal_state", "face_conductances", "refresh_faces", "step"]

FREE, BODY, FRAME = 0, 1, 2


@njit(cache=True, nogil=True)
def enthalpy_of(value, cf, cu, rl, phase, t_s, dtm):
    """Enthalpy (or amount) per volume of one node at ``value``; see the module notes."""
    if not phase:
        return cu * (value - t_s)
    if value <= t_s:
        return cf * (value - t_s)
    if value < t_s + dtm:
        return (cf + rl / dtm) * (value - t_s)
    return cf * dtm + rl + cu * (value - t_s - dtm)


@njit(cache=True, nogil=True)
def _node_state(h, cf, cu, rl, kf, ku, phase, t_s, dtm):
    """(value, inverse effective capacity 1/(dH/du), liquid fraction, conductance) of enthalpy ``h``."""
    if not phase:
        inverse = 1.0 / cu
        return t_s + h * inverse, inverse, 1.0, ku
    if h <= 0.0:
        inverse = 1.0 / cf
        return t_s + h * inverse, inverse, 0.0, kf
    h_liquid = cf * dtm + rl
    if h < h_liquid:
        inverse = 1.0 / (cf + rl / dtm)
        value = t_s + h * inverse
        f = (value - t_s) / dtm
        return value, inverse, f, kf + f * (ku - kf)
    inverse = 1.0 / cu
    return t_s + dtm + (h - h_liquid) * inverse, inverse, 1.0, ku


@njit(cache=True, nogil=True)
def _implicit_value(rhs, g, cf, cu, rl, phase, t_s, dtm):
    """The value u with ``H(u) + g·u = rhs`` (g ≥ 0): the point-implicit update solved exactly on
    the piecewise-linear H, so a node that freezes within a step cannot overshoot the probe."""
    if not phase:
        return (rhs + cu * t_s) / (cu + g)
    if rhs <= g * t_s:
        return (rhs + cf * t_s) / (cf + g)
    h_liquid = cf * dtm + rl
    if rhs < h_liquid + g * (t_s + dtm):
        mushy = cf + rl / dtm
        return (rhs + mushy * t_s) / (mushy + g)
    return (rhs - h_liquid + cu * (t_s + dtm)) / (cu + g)


@njit(cache=True, nogil=True)
def thermal_state(H, labels, cf, cu, rl, kf, ku, phase, t_s, dtm, T, K, C, F):
    """From the enthalpy ``H`` of every node: value ``T``, conductance ``K``, inverse effective
    capacity ``C = 1 / (dH/du)`` and liquid fraction ``F`` (1 without phase change)."""
    for n in range(H.size):
        lab = labels[n]
        T[n], C[n], F[n], K[n] = _node_state(H[n], cf[lab], cu[lab], rl[lab], kf[lab], ku[lab], phase, t_s, dtm)


@njit(cache=True, nogil=True)
def face_conductances(K, ny, nz, faces):
    """Harmonic mean of ``K`` on the +i, +j, +k face of every node (``faces``, shape (3, n));
    faces that leave the grid are 0."""
    n_total = K.size
    strides = (ny * nz, nz, 1)
    for n in range(n_total):
        kn = K[n]
        for a in range(3):
            m = n + strides[a]
            if m >= n_total:
                faces[a, n] = 0.0
                continue
            km = K[m]
            faces[a, n] = 2.0 * kn * km / (kn + km) if kn + km > 0.0 else 0.0


@njit(cache=True, nogil=True)
def refresh_faces(K, changed, ny, nz, faces):
    """Recompute the faces of the nodes whose conductance changed (``changed`` set by
    :func:`step`, cleared here): the same values :func:`face_conductances` would give."""
    n_total = K.size
    strides = (ny * nz, nz, 1)
    for n in range(n_total):
        if not changed[n]:
            continue
        changed[n] = 0
        kn = K[n]
        for a in range(3):
            s = strides[a]
            p = n + s
            if p < n_total:
                kp = K[p]
                faces[a, n] = 2.0 * kn * kp / (kn + kp) if kn + kp > 0.0 else 0.0
            m = n - s
            if m >= 0:
                km = K[m]
                faces[a, m] = 2.0 * km * kn / (km + kn) if km + kn > 0.0 else 0.0


@njit(cache=True, nogil=True)
def step(H, T, K, C, F, faces, labels, cf, cu, rl, kf, ku, perf, phase, t_s, dtm, u_blood, has_source, source, state,
         theta, body_on, body_value, dt, inv_h2, ny, nz, H_out, T_out, peak, low, dose, dose_mode, ln_a, ea_over_r,
         floor_c, log_u, log_rate, changed):
    """One explicit step from ``H`` (values ``T``) to ``H_out`` (values ``T_out``).

    ``C`` holds inverse effective capacities and ``faces`` the face conductances of
    :func:`face_conductances`; ``K``, ``C`` and ``F`` are updated in place to the new state
    (each node reads only its own), and ``changed`` marks the nodes whose ``K`` changed (for
    :func:`refresh_faces`). Also keeps the highest and lowest value of every node and
    the dose at the step's mean value: ``dose_mode`` 1 adds ``dt · A exp(−E_a/(RT))`` above
    ``floor_c`` (°C, T in K), 2 adds ``dt · rate(u)`` from the log-log table, 0 nothing.
    Returns the power per volume summed over the nodes (W/m³) that came from the body (the
    Fourier flux k ΔT/(θh) through its surface) and from perfusion."""
    strides = (ny * nz, nz, 1)
    p_body = 0.0
    p_perf = 0.0
    for n in range(H.size):
        st = state[n]
        lab = labels[n]
        tn = T[n]
        if st == FRAME:
            h_new = H[n]
        elif st == BODY and body_on:
            h_new = enthalpy_of(body_value, cf[lab], cu[lab], rl[lab], phase, t_s, dtm)
        else:
            div = 0.0
            link = 0.0
            surface = 0.0  # Σ k/θ over the links: the Fourier flux through the body's surface
            for a in range(3):
                s = strides[a]
                m = n - s
                p = n + s
                lm = body_on and state[m] == BODY
                lp = body_on and state[p] == BODY
                if not (lm or lp):  # the common case: the plain 7-point difference
                    div += faces[a, m] * (T[m] - tn) + faces[a, n] * (T[p] - tn)
                    continue
                # Shortley-Weller: the body's surface at theta spacings on the linked side(s).
                tm = theta[6 * n + 2 * a] if lm else 1.0
                tp = theta[6 * n + 2 * a + 1] if lp else 1.0
                width = tm + tp
                if lm:
                    link += 2.0 / (tm * width) * K[n]
                    surface += K[n] / tm
                else:
                    div += 2.0 / width * faces[a, m] * (T[m] - tn)
                if lp:
                    link += 2.0 / (tp * width) * K[n]
                    surface += K[n] / tp
                else:
                    div += 2.0 / width * faces[a, n] * (T[p] - tn)
            div *= inv_h2
            link *= inv_h2
            sink = perf[lab] * F[n] if phase else perf[lab]
            explicit = div + link * body_value + sink * u_blood
            if has_source:
                explicit += source[n]
            # H(u_new) = H + dt (explicit − (link + sink) u_new): implicit in the body and the sink.
            t_new = _implicit_value(H[n] + dt * explicit, dt * (link + sink), cf[lab], cu[lab], rl[lab], phase, t_s, dtm)
            h_new = enthalpy_of(t_new, cf[lab], cu[lab], rl[lab], phase, t_s, dtm)
            p_body += surface * inv_h2 * (body_value - t_new)
            p_perf += sink * (u_blood - t_new)
        H_out[n] = h_new
        h_liquid = cf[lab] * dtm + rl[lab]
        if phase and F[n] == 1.0 and h_new >= h_liquid:
            # still liquid (the common case far from the probe): only the value changes
            t = t_s + dtm + (h_new - h_liquid) * C[n]
        elif phase:
            k_old = K[n]
            t, C[n], F[n], K[n] = _node_state(h_new, cf[lab], cu[lab], rl[lab], kf[lab], ku[lab], phase, t_s, dtm)
            if K[n] != k_old:
                changed[n] = 1
        else:
            t = t_s + h_new * C[n]
        T_out[n] = t
        if t > peak[n]:
            peak[n] = t
        if t < low[n]:
            low[n] = t
        if dose_mode == 1:
            tm = 0.5 * (tn + t)
            if tm > floor_c:
                dose[n] += dt * math.exp(ln_a - ea_over_r / (tm + 273.15))
        elif dose_mode == 2:
            dose[n] += dt * _table_rate(0.5 * (tn + t), log_u, log_rate)
    return p_body, p_perf


@njit(cache=True, nogil=True)
def _table_rate(u, log_u, log_rate):
    """Rate interpolated linearly in log-log between the knots; 0 below the first, the last above the last."""
    if u <= 0.0:
        return 0.0
    x = math.log(u)
    last = log_u.size - 1
    if x < log_u[0]:
        return 0.0
    if x >= log_u[last]:
        return math.exp(log_rate[last])
    i = 0
    while log_u[i + 1] <= x:
        i += 1
    w = (x - log_u[i]) / (log_u[i + 1] - log_u[i])
    return math.exp(log_rate[i] + w * (log_rate[i + 1] - log_rate[i]))
