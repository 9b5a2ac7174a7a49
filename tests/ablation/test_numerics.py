"""The shared step against analytic solutions, its conservation and its stability limit.

Oracles from ablation.md §7: (1) a point source switched on at t = 0 in perfused tissue
(Nyborg, Phys Med Biol 1988;33:785), (2) a sphere held at a fixed temperature, steady, perfused,
(3) a uniform sphere of solute diffusing in an infinite medium (Crank, eq. 3.8), with
first-order clearance; plus energy and mass balances and the explicit limit r ≤ 1/6 in 3D.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf, erfc

from simulator.ablation import kernel
from simulator.ablation.grid import needle_grid
from simulator.ablation.solver import Phase, body_from_sdf, simulate, stable_dt_s, uniform_medium
from tests.helpers import record

# Muscle (ablation.md §2, IT'IS V4.2): k, ρc; liver perfusion 1.55e-2 1/s × blood ρc.
K_MUSCLE = 0.495
C_MUSCLE = 1090.4 * 3421.2
ALPHA = K_MUSCLE / C_MUSCLE
BLOOD = 1049.75 * 3617.0


def _points_on_i_axis(grid, radii_mm):
    ax, ay = grid.axis_local_mm
    local = np.column_stack([ax + np.asarray(radii_mm), np.full(len(radii_mm), ay), np.full(len(radii_mm), grid.tip_local_mm)])
    return grid.patient_from_local(local)


def _nyborg(q_w, r_m, t_s, perfusion_per_s):
    """ablation.md §7 oracle 1 (P → 0 gives q erfc(r / 2√(αt)) / (4πkr))."""
    s = r_m / (2.0 * np.sqrt(ALPHA * t_s))
    if perfusion_per_s == 0.0:
        return q_w * erfc(s) / (4.0 * np.pi * K_MUSCLE * r_m)
    length = np.sqrt(ALPHA / perfusion_per_s)
    root = np.sqrt(perfusion_per_s * t_s)
    return q_w / (8.0 * np.pi * K_MUSCLE * r_m) * (np.exp(-r_m / length) * erfc(s - root)
                                                   + np.exp(r_m / length) * erfc(s + root))


@pytest.mark.parametrize("perfused", [False, True], ids=["no perfusion", "liver perfusion"])
def test_point_source_matches_nyborg(perfused):
    """Point source of 50 mW for 60 s in muscle; ablation.md §7 oracle 1. Within 1 % at 2-4 mm
    (at 1 mm the source's cell, 0.25 mm wide, is still felt: within 3 %)."""
    h = 0.25
    grid = needle_grid([0, 0, 0.0], [0, 0, 0.0], margin_mm=8.0, spacing_mm=h, direction=[0, 0, 1.0])
    perfusion = BLOOD * 1.55e-2 if perfused else 0.0
    medium = uniform_medium(grid, capacity=C_MUSCLE, conductivity=K_MUSCLE, perfusion=perfusion, blood_value=37.0)
    q = 0.05
    source = np.zeros(grid.shape)
    source[grid.axis_index[0], grid.axis_index[1], grid.tip_index] = q / (h * 1e-3) ** 3
    radii = np.array([1.0, 2.0, 3.0, 4.0])
    run = simulate(grid, medium, None, 37.0, [Phase(60.0, None, "on")], probes_mm=_points_on_i_axis(grid, radii),
                   source_w_m3=source)
    exact = _nyborg(q, radii * 1e-3, 60.0, perfusion / C_MUSCLE)
    error = np.abs(run.probes[-1] - 37.0 - exact) / exact
    record("point source vs Nyborg (ΔT relative error)", "perfused" if perfused else "not perfused",
           f"{100 * error[1:].max():.2f} %", "< 1 % at 2-4 mm", error[1:].max() < 0.01)
    assert error[0] < 0.03
    assert np.all(error[1:] < 0.01), (run.probes[-1] - 37.0, exact)


def test_fixed_temperature_sphere_matches_steady_solution():
    """A 1.5 mm sphere at 80 °C in tissue perfused at 4× liver reaches the steady profile
    T − T_b = (T₀ − T_b)(a/r) e^(−(r − a)/L) (ablation.md §7 oracle 2); the sphere's surface is
    seen through the Shortley-Weller links, so the test checks them. Within 2 % of ΔT."""
    h, a, t0 = 0.25, 1.5, 80.0
    grid = needle_grid([0, 0, 0.0], [0, 0, 0.0], margin_mm=8.0, spacing_mm=h, direction=[0, 0, 1.0])
    perfusion = 4.0 * BLOOD * 1.55e-2
    medium = uniform_medium(grid, capacity=C_MUSCLE, conductivity=K_MUSCLE, perfusion=perfusion, blood_value=37.0)
    centre = np.array([*grid.axis_local_mm, grid.tip_local_mm])
    body = body_from_sdf(grid, lambda p: np.linalg.norm(p - centre, axis=1) - a)
    radii = np.array([1.8, 2.2, 3.0, 4.0, 5.0])
    run = simulate(grid, medium, body, 37.0, [Phase(150.0, t0, "on")], probes_mm=_points_on_i_axis(grid, radii))
    length_mm = 1e3 * np.sqrt(K_MUSCLE / perfusion)
    exact = (t0 - 37.0) * (a / radii) * np.exp(-(radii - a) / length_mm)
    error = np.abs(run.probes[-1] - 37.0 - exact) / exact
    record("fixed-T sphere vs steady solution (ΔT relative error)", "a = 1.5 mm, h = 0.25 mm",
           f"{100 * error.max():.2f} %", "< 2 %", error.max() < 0.02)
    assert np.all(error < 0.02), (run.probes[-1] - 37.0, exact)


@pytest.mark.parametrize("clearance", [0.0, 1e-3], ids=["no clearance", "clearance 1e-3/s"])
def test_sphere_of_solute_matches_crank(clearance):
    """A 2 mm sphere of solute (D = 1e-9 m²/s) after 600 s; Crank eq. 3.8 (ablation.md §7 oracle
    3) times e^(−k t). Within 2 % of the starting concentration along a radius."""
    h, a, t, d = 0.25, 2.0, 600.0, 1e-9
    grid = needle_grid([0, 0, 0.0], [0, 0, 0.0], margin_mm=6.0, spacing_mm=h, direction=[0, 0, 1.0])
    medium = uniform_medium(grid, capacity=1.0, conductivity=d, perfusion=clearance)
    index = np.stack(np.meshgrid(*[np.arange(n) for n in grid.shape], indexing="ij"), axis=-1)
    centre = np.array([*grid.axis_index, grid.tip_index])
    start = (np.linalg.norm(index - centre, axis=-1) * h <= a).astype(float)
    radii = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    run = simulate(grid, medium, None, start, [Phase(t, None, "spread")], probes_mm=_points_on_i_axis(grid, radii),
                   dt_max_s=5.0)
    r, s = radii * 1e-3, np.sqrt(d * t)
    exact = (0.5 * (erf((a * 1e-3 - r) / (2 * s)) + erf((a * 1e-3 + r) / (2 * s)))
             - s / (np.sqrt(np.pi) * r) * (np.exp(-(a * 1e-3 - r) ** 2 / (4 * s * s)) - np.exp(-(a * 1e-3 + r) ** 2 / (4 * s * s))))
    exact *= np.exp(-clearance * t)
    error = np.abs(run.probes[-1] - exact).max()
    record("sphere of solute vs Crank 3.8 (abs. error / C0)", f"k = {clearance:g}/s", f"{100 * error:.2f} %", "< 2 %",
           error < 0.02)
    assert error < 0.02, (run.probes[-1], exact)


def test_heat_from_a_source_is_conserved():
    """No perfusion, 5 s (the heat stays far from the grid's 12 mm edge): the tissue gains exactly
    the source's q·t, to 1e-9."""
    h = 0.5
    grid = needle_grid([0, 0, 0.0], [0, 0, 0.0], margin_mm=12.0, spacing_mm=h, direction=[0, 0, 1.0])
    medium = uniform_medium(grid, capacity=C_MUSCLE, conductivity=K_MUSCLE, blood_value=37.0)
    source = np.zeros(grid.shape)
    source[grid.axis_index[0], grid.axis_index[1], grid.tip_index] = 0.05 / (h * 1e-3) ** 3
    run = simulate(grid, medium, None, 37.0, [Phase(5.0, None, "on")], source_w_m3=source)
    gained = float(((run.final - 37.0) * C_MUSCLE).sum()) * (h * 1e-3) ** 3
    assert gained == pytest.approx(0.05 * 5.0, rel=1e-9)


def test_perfusion_removes_what_it_reports():
    """With perfusion, heat gained = source − what perfusion carried off (summed every step), to 1e-9."""
    h = 0.5
    grid = needle_grid([0, 0, 0.0], [0, 0, 0.0], margin_mm=12.0, spacing_mm=h, direction=[0, 0, 1.0])
    medium = uniform_medium(grid, capacity=C_MUSCLE, conductivity=K_MUSCLE, perfusion=BLOOD * 1.55e-2, blood_value=37.0)
    source = np.zeros(grid.shape)
    source[grid.axis_index[0], grid.axis_index[1], grid.tip_index] = 0.05 / (h * 1e-3) ** 3
    run = simulate(grid, medium, None, 37.0, [Phase(5.0, None, "on")], source_w_m3=source, record_interval_s=0.0)
    gained = float(((run.final - 37.0) * C_MUSCLE).sum()) * (h * 1e-3) ** 3
    carried = float(np.sum(run.perfusion_power_w[1:] * np.diff(run.time_s)))
    assert carried < -0.005  # perfusion really carried heat away
    assert gained == pytest.approx(0.05 * 5.0 + carried, rel=1e-9)


def test_mass_decays_by_clearance_only():
    """Total solute after n steps is M0 (1 + k dt)^−n (the point-implicit clearance), to 1e-12,
    and within 0.5 % of M0 e^(−kt). The grid reaches 10 mm, 20 spacings: a lattice random walk's
    tail (heavier than the Gaussian when √(Dt) is about a spacing) would reach a 6 mm edge."""
    grid = needle_grid([0, 0, 0.0], [0, 0, 0.0], margin_mm=10.0, spacing_mm=0.5, direction=[0, 0, 1.0])
    k = 1e-3
    medium = uniform_medium(grid, capacity=1.0, conductivity=5e-10, perfusion=k)
    start = np.zeros(grid.shape)
    start[grid.axis_index[0], grid.axis_index[1], grid.tip_index - 2: grid.tip_index + 3] = 1.0
    run = simulate(grid, medium, None, start, [Phase(600.0, None, "spread")], dt_max_s=5.0)
    dt = 600.0 / run.steps
    assert run.final.sum() == pytest.approx(5.0 * (1.0 + k * dt) ** -run.steps, rel=1e-12)
    assert run.final.sum() == pytest.approx(5.0 * np.exp(-k * 600.0), rel=5e-3)


def _checkerboard_growth(dt_fraction: float) -> float:
    """Largest deviation after 200 raw steps from a ±1 K checkerboard, at ``dt_fraction`` of h²/(6α)."""
    shape = (21, 21, 21)
    n = int(np.prod(shape))
    h = 0.5e-3
    index = np.indices(shape).sum(axis=0)
    interior = np.zeros(shape, dtype=bool)
    interior[1:-1, 1:-1, 1:-1] = True
    temperature = (37.0 + np.where(interior, np.where(index % 2 == 0, 1.0, -1.0), 0.0)).ravel()
    state = np.zeros(shape, dtype=np.uint8)
    state[[0, -1]] = state[:, [0, -1]] = state[:, :, [0, -1]] = kernel.FRAME
    state = state.ravel()
    table = np.array([C_MUSCLE])
    conductivity = np.array([K_MUSCLE])
    labels = np.zeros(n, dtype=np.uint8)
    H = C_MUSCLE * temperature
    T, K, C, F = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    kernel.thermal_state(H, labels, table, table, np.zeros(1), conductivity, conductivity, False, 0.0, 1.0, T, K, C, F)
    faces = np.empty((3, n))
    kernel.face_conductances(K, shape[1], shape[2], faces)
    dt = dt_fraction * h * h / (6.0 * ALPHA)
    H_out, T_out, peak, low, dose = np.empty(n), np.empty(n), T.copy(), T.copy(), np.zeros(1)
    for _ in range(200):
        kernel.step(H, T, K, C, F, faces, labels, table, table, np.zeros(1), conductivity, conductivity, np.zeros(1), False,
                    0.0, 1.0, 37.0, False,
                    np.zeros(1), state, np.ones(6 * n), False, 0.0, dt, 1.0 / h**2, shape[1], shape[2], H_out, T_out,
                    peak, low, dose, 0, 0.0, 0.0, 0.0, np.zeros(2), np.zeros(2), np.zeros(n, dtype=np.uint8))
        H, H_out, T, T_out = H_out, H, T_out, T
    return float(np.abs(T - 37.0).max())


def test_explicit_limit_of_three_dimensions():
    """ablation.md §7 suggested test (b): a checkerboard (the fastest mode) grows just above the
    3D limit r = αΔt/Δx² = 1/6 and decays monotonically below it."""
    assert _checkerboard_growth(1.05) > 10.0
    assert _checkerboard_growth(0.95) < 1.0


def test_time_step_is_within_the_monotone_limit():
    grid = needle_grid([0, 0, 0.0], [0, 0, 0.0], margin_mm=2.0, spacing_mm=0.25, direction=[0, 0, 1.0])
    medium = uniform_medium(grid, capacity=C_MUSCLE, conductivity=K_MUSCLE)
    # ablation.md §7 table: 0.079 s at 0.25 mm in muscle (without perfusion, which is implicit here).
    assert stable_dt_s(grid, medium) == pytest.approx(0.9 * (0.25e-3) ** 2 / (6 * ALPHA), rel=1e-12)
    assert stable_dt_s(grid, medium) < 0.079
