"""The time loop every modality shares: a medium, a probe body, phases, records, progress.

:func:`simulate` steps the equation of :mod:`simulator.ablation.kernel` through a list of
:class:`Phase` (the probe on at a value that may change with time, or off), keeps the highest
and lowest value every node reached and an optional dose integral (Arrhenius or a
concentration-time table), records the values at a few points about every second, and asks a
progress callback whether to go on, telling it the latest record (:class:`LesionProgress`), so
a screen can draw the time course as it grows. Everything is deterministic: the same input gives
bit-identical output.

Units inside are SI (m, s, J, W); values are °C or a concentration fraction.

Examples
--------
>>> from simulator.ablation.grid import needle_grid
>>> grid = needle_grid([0, 0, -1.0], [0, 0, 0.0], margin_mm=3.0, spacing_mm=0.5)
>>> medium = uniform_medium(grid, capacity=4.0e6, conductivity=0.5)
>>> run = simulate(grid, medium, None, 37.0, [Phase(10.0, None, "wait")])
>>> float(run.final.max())
37.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from simulator.ablation import kernel
from simulator.ablation.grid import LesionGrid
from simulator.errors import ParameterError, SimulationCancelled

__all__ = ["Medium", "Body", "Phase", "Run", "Recording", "LesionProgress", "ArrheniusDose", "TableDose", "simulate",
           "body_from_sdf", "uniform_medium", "stable_dt_s", "STABILITY"]

#: Fraction of the monotone explicit limit ``h² / (6 max(K/C))`` used as the time step.
STABILITY = 0.9
#: Progress is reported about this many times per run.
_PROGRESS_CALLS = 100


@dataclass(frozen=True)
class Recording:
    """How the records of a run are named and shown.

    Parameters
    ----------
    body_name : str or None
        Name of the probe's held value (``"electrode_c"``); None when there is no probe.
    point_names : tuple of str
        Names of the watched points, in the order of ``probes_mm``.
    unit : str
        Unit of the shown values (``"°C"``, ``"%"``).
    scale : float, default: 1
        Shown value per model value: 100 for a concentration fraction shown in %.
    """

    body_name: str | None
    point_names: tuple[str, ...]
    unit: str
    scale: float = 1.0

    @classmethod
    def plain(cls, n_points: int) -> "Recording":
        """Points named ``point_0`` ... in model units, no probe name."""
        return cls(None, tuple(f"point_{i}" for i in range(n_points)), "")


@dataclass(frozen=True)
class LesionProgress:
    """How far a lesion has got: what a ``progress`` callback receives, about 100 times a run.

    Parameters
    ----------
    fraction : float
        Time steps done over all steps, 0 to 1.
    time_s : float
        Model time of the latest record, s from the start of the lesion (not computing time).
    duration_s : float
        Model time the whole run covers, s.
    values : dict of str to float
        The latest recorded value of every series (:class:`Recording` names): the probe's held
        value (NaN while it is off) and the watched points.
    unit : str
        Unit of ``values`` (``"°C"``, ``"%"``).
    """

    fraction: float
    time_s: float
    duration_s: float
    values: dict[str, float]
    unit: str


@dataclass(frozen=True, eq=False)
class Medium:
    """Coefficients per node (by label) of ``∂H/∂t = ∇·(K∇u) + P f (u_b − u) + S``, SI units.

    Parameters
    ----------
    labels : numpy.ndarray, shape grid.shape, uint8
        Index into the per-tissue tables at each node.
    capacity : numpy.ndarray
        Volumetric heat capacity above the mushy zone (J/(m³·K)), or 1 for an agent.
    conductivity : numpy.ndarray
        Conductivity (W/(m·K)) or diffusivity (m²/s).
    perfusion : numpy.ndarray
        Pennes coefficient ρ_b c_b ω_b (W/(m³·K)) or clearance rate (1/s).
    blood_value : float
        Temperature of arterial blood (°C), or 0 for an agent.
    capacity_frozen, conductivity_frozen, latent : numpy.ndarray, optional
        Frozen capacity (J/(m³·K)), conductivity (W/(m·K)) and latent heat per volume (J/m³);
        all three switch on the enthalpy method.
    solidus_c, mushy_width_c : float
        Where freezing completes and the width of the mushy zone above it (°C); the reference
        of H when there is no phase change.
    """

    labels: np.ndarray
    capacity: np.ndarray
    conductivity: np.ndarray
    perfusion: np.ndarray
    blood_value: float
    capacity_frozen: np.ndarray | None = None
    conductivity_frozen: np.ndarray | None = None
    latent: np.ndarray | None = None
    solidus_c: float = 0.0
    mushy_width_c: float = 1.0

    @property
    def phase_change(self) -> bool:
        return self.latent is not None

    def tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(cf, cu, rl, kf, ku) as float64 arrays for the kernel."""
        cu = np.asarray(self.capacity, dtype=float)
        ku = np.asarray(self.conductivity, dtype=float)
        if not self.phase_change:
            return cu, cu, np.zeros_like(cu), ku, ku
        return (np.asarray(self.capacity_frozen, dtype=float), cu, np.asarray(self.latent, dtype=float),
                np.asarray(self.conductivity_frozen, dtype=float), ku)

    def max_diffusivity(self) -> float:
        """Largest K/C of the tissues present, frozen or not (m²/s)."""
        cf, cu, _, kf, ku = self.tables()
        present = np.unique(self.labels)
        return float(max(np.max(ku[present] / cu[present]), np.max(kf[present] / cf[present])))


def uniform_medium(grid: LesionGrid, *, capacity: float, conductivity: float, perfusion: float = 0.0,
                   blood_value: float = 0.0) -> Medium:
    """A medium with the same coefficients everywhere (tests, analytic comparisons)."""
    return Medium(np.zeros(grid.shape, dtype=np.uint8), np.array([capacity]), np.array([conductivity]),
                  np.array([perfusion]), blood_value)


@dataclass(frozen=True, eq=False)
class Body:
    """A probe on the grid: the nodes inside it and, for each free node next to it, the distance
    to its surface along each grid line as a fraction of the spacing (``theta``, 6 per node in
    the order −i, +i, −j, +j, −k, +k)."""

    inside: np.ndarray
    theta: np.ndarray

    @property
    def node_count(self) -> int:
        return int(np.count_nonzero(self.inside))


@dataclass(frozen=True)
class Phase:
    """A stretch of time (s) with the probe on, held at ``value`` (°C) after a linear ramp of
    ``ramp_s`` from the probe's mean value at the phase's start, or off (``value`` None)."""

    duration_s: float
    value: float | None
    name: str
    ramp_s: float = 0.0

    def value_at(self, t_s: float, start_value: float) -> float:
        """Value held at ``t_s`` into the phase."""
        if self.value is None:
            return float("nan")
        if self.ramp_s <= 0.0 or t_s >= self.ramp_s:
            return self.value
        return start_value + (self.value - start_value) * t_s / self.ramp_s


@dataclass(frozen=True)
class ArrheniusDose:
    """Ω = ∫ A exp(−E_a/(RT)) dt above ``floor_c`` (ablation.md §3)."""

    ln_a: float
    ea_over_r: float
    floor_c: float


@dataclass(frozen=True)
class TableDose:
    """∫ rate(u) dt with the rate interpolated log-log between knots (1/s at values u)."""

    values: tuple[float, ...]
    rates_per_s: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class Run:
    """What :func:`simulate` returns (values are °C or concentration fractions).

    Parameters
    ----------
    final, peak, low : numpy.ndarray, shape grid.shape
        Value at the end, highest and lowest value reached at every node.
    dose : numpy.ndarray or None
        The dose integral (dimensionless) at every node.
    time_s : numpy.ndarray
        Times of the records, s from the start.
    probes : numpy.ndarray, shape (len(time_s), n_points)
        Values at the probe points.
    body_value : numpy.ndarray
        Value held in the body at each record (NaN while it is off).
    body_power_w : numpy.ndarray
        Heat (W) or amount per second flowing out of the body at each record.
    perfusion_power_w : numpy.ndarray
        Heat (W) that perfusion brings in (negative: carries away) at each record.
    steps : int
        Number of time steps.
    dt_s : float
        Largest time step used, s.
    recording : Recording
        How the records are named and shown.
    """

    final: np.ndarray
    peak: np.ndarray
    low: np.ndarray
    dose: np.ndarray | None
    time_s: np.ndarray
    probes: np.ndarray
    body_value: np.ndarray
    body_power_w: np.ndarray
    perfusion_power_w: np.ndarray
    steps: int
    dt_s: float
    recording: Recording


def stable_dt_s(grid: LesionGrid, medium: Medium) -> float:
    """The time step :func:`simulate` uses at most: :data:`STABILITY` times ``h²/(6 max K/C)``, s."""
    h = grid.spacing_mm * 1e-3
    alpha = medium.max_diffusivity()
    return STABILITY * h * h / (6.0 * alpha) if alpha > 0 else np.inf


def body_from_sdf(grid: LesionGrid, sdf: Callable[[np.ndarray], np.ndarray]) -> Body:
    """The nodes inside a body given by its signed distance (mm, negative inside; points in the
    grid's local mm) and, by bisection along each grid line that crosses its surface, the
    distance fractions ``theta`` of the free nodes next to it."""
    shape = grid.shape
    index = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1).reshape(-1, 3)
    inside = (sdf(index * grid.spacing_mm) <= 0.0).reshape(shape)
    if inside[0].any() or inside[-1].any() or inside[:, 0].any() or inside[:, -1].any() or inside[:, :, 0].any() \
            or inside[:, :, -1].any():
        raise ParameterError("margin_mm", "too small", "a grid margin that keeps the probe off the grid's edge")
    theta = np.ones(inside.size * 6, dtype=np.float64)
    flat_inside = inside.ravel()
    strides = (shape[1] * shape[2], shape[2], 1)
    body = np.nonzero(flat_inside)[0]
    for axis in range(3):
        for sign, slot in ((-1, 1), (1, 0)):
            # A free node at body + sign*stride has the body on its other side: its slot on that side.
            node = body + sign * strides[axis]
            free = ~flat_inside[node]
            node, inner = node[free], body[free]
            if not len(node):
                continue
            outer_mm = index[node] * grid.spacing_mm
            inner_mm = index[inner] * grid.spacing_mm
            low, high = np.zeros(len(node)), np.ones(len(node))
            for _ in range(40):  # bisection to 1e-12 of a spacing
                middle = 0.5 * (low + high)
                in_body = sdf(outer_mm + middle[:, None] * (inner_mm - outer_mm)) <= 0.0
                high = np.where(in_body, middle, high)
                low = np.where(in_body, low, middle)
            theta[6 * node + 2 * axis + slot] = np.maximum(0.5 * (low + high), 1e-3)
    return Body(inside, theta)


def _probe_weights(grid: LesionGrid, points_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat node indices (n, 8) and trilinear weights (n, 8) of points inside the grid."""
    if len(points_mm) == 0:
        return np.zeros((0, 8), dtype=np.int64), np.zeros((0, 8))
    index = grid.index_from_patient(points_mm)
    upper = np.asarray(grid.shape) - 1
    if np.any(index < 0) or np.any(index > upper):
        raise ParameterError("points_mm", np.round(points_mm, 1).tolist(), "points inside the model's grid")
    base = np.minimum(np.floor(index).astype(int), upper - 1)
    frac = index - base
    nodes, weights = [], []
    for corner in np.ndindex(2, 2, 2):
        c = np.asarray(corner)
        ijk = base + c
        nodes.append(np.ravel_multi_index(ijk.T, grid.shape))
        weights.append(np.prod(np.where(c, frac, 1.0 - frac), axis=1))
    return np.stack(nodes, axis=1), np.stack(weights, axis=1)


def simulate(grid: LesionGrid, medium: Medium, body: Body | None, initial: float | np.ndarray, phases: list[Phase], *,
             dose: ArrheniusDose | TableDose | None = None, probes_mm: np.ndarray | None = None,
             source_w_m3: np.ndarray | None = None, recording: Recording | None = None,
             progress: Callable[[LesionProgress], bool] | None = None, what: str = "lesion",
             record_interval_s: float = 1.0, dt_max_s: float | None = None) -> Run:
    """Step the shared equation through ``phases``.

    Parameters
    ----------
    grid, medium : LesionGrid, Medium
        Where and in what.
    body : Body or None
        The probe; phases with a value hold its nodes there.
    initial : float or numpy.ndarray
        Starting value everywhere (the frame keeps it), or per node.
    phases : list of Phase
        What happens, in order.
    dose : ArrheniusDose or TableDose, optional
        A dose integral to accumulate.
    probes_mm : numpy.ndarray, shape (n, 3), optional
        Patient points (mm) whose values are recorded.
    source_w_m3 : numpy.ndarray, optional
        A source per node (W/m³, or amount per m³ per s).
    recording : Recording, optional
        Names and unit of the records (default: ``point_0`` ... in model units).
    progress : callable, optional
        Called with a :class:`LesionProgress` (fraction done, the latest record) about 100
        times; returning False cancels (raises :class:`~simulator.errors.SimulationCancelled`).
    what : str
        Name used in the cancellation message.
    record_interval_s : float
        Records are kept about this often, s.
    dt_max_s : float, optional
        A smaller time step than the stability limit (s), for accuracy in time.
    """
    shape = grid.shape
    n = grid.size
    cf, cu, rl, kf, ku = medium.tables()
    labels = np.ascontiguousarray(medium.labels.ravel().astype(np.uint8))
    perf = np.asarray(medium.perfusion, dtype=float)
    phase = medium.phase_change
    t_s, dtm = float(medium.solidus_c), float(medium.mushy_width_c)
    state = np.zeros(n, dtype=np.uint8)
    frame = np.zeros(shape, dtype=bool)
    frame[[0, -1]] = True
    frame[:, [0, -1]] = True
    frame[:, :, [0, -1]] = True
    state[frame.ravel()] = kernel.FRAME
    theta = np.ones(6 * n)
    body_nodes = np.zeros(0, dtype=np.int64)
    if body is not None:
        body_nodes = np.nonzero(body.inside.ravel())[0]
        state[body.inside.ravel()] = kernel.BODY
        theta = body.theta
    has_source = source_w_m3 is not None
    source = np.zeros(1) if source_w_m3 is None else np.ascontiguousarray(np.asarray(source_w_m3, dtype=float).ravel())

    start = np.broadcast_to(np.asarray(initial, dtype=float), shape).ravel()
    H = np.empty(n)
    for lab in np.unique(labels):  # vectorised enthalpy_of per tissue
        sel = labels == lab
        H[sel] = _enthalpy(start[sel], cf[lab], cu[lab], rl[lab], phase, t_s, dtm)
    H_out = np.empty(n)
    T, T_next = np.empty(n), np.empty(n)
    K, C, F = np.empty(n), np.empty(n), np.empty(n)
    faces = np.empty((3, n))
    changed = np.zeros(n, dtype=np.uint8)
    kernel.thermal_state(H, labels, cf, cu, rl, kf, ku, phase, t_s, dtm, T, K, C, F)
    kernel.face_conductances(K, shape[1], shape[2], faces)
    peak, low = T.copy(), T.copy()
    accumulated = np.zeros(n if dose is not None else 1)
    no_table = np.zeros(2)
    if isinstance(dose, ArrheniusDose):
        dose_mode, dose_args = 1, (dose.ln_a, dose.ea_over_r, dose.floor_c, no_table, no_table)
    elif isinstance(dose, TableDose):
        dose_mode, dose_args = 2, (0.0, 0.0, 0.0, np.log(np.asarray(dose.values, dtype=float)),
                                   np.log(np.asarray(dose.rates_per_s, dtype=float)))
    else:
        dose_mode, dose_args = 0, (0.0, 0.0, 0.0, no_table, no_table)

    points = np.zeros((0, 3)) if probes_mm is None else np.asarray(probes_mm, dtype=float).reshape(-1, 3)
    probe_nodes, probe_weights = _probe_weights(grid, points)
    recording = recording or Recording.plain(len(points))
    if len(recording.point_names) != len(points):
        raise ParameterError("recording.point_names", len(recording.point_names), f"{len(points)} names, one per point")
    h = grid.spacing_mm * 1e-3
    inv_h2 = 1.0 / (h * h)
    volume_m3 = h**3
    dt_limit = stable_dt_s(grid, medium)
    if dt_max_s is not None:
        dt_limit = min(dt_limit, dt_max_s)
    plan = [(p, max(int(np.ceil(p.duration_s / dt_limit)), 1) if p.duration_s > 0 else 0) for p in phases]
    total_steps = sum(count for _, count in plan)
    duration_s = float(sum(p.duration_s for p, count in plan if count))
    report_every = max(total_steps // _PROGRESS_CALLS, 1)

    times, probe_rows, body_values, body_power, perf_power = [], [], [], [], []

    def record(t: float, value: float, p_body: float, p_perf: float) -> None:
        times.append(t)
        probe_rows.append((T[probe_nodes] * probe_weights).sum(axis=1))
        body_values.append(value)
        body_power.append(p_body * volume_m3)
        perf_power.append(p_perf * volume_m3)

    record(0.0, np.nan, 0.0, 0.0)
    clock, done, last_record, dt_used = 0.0, 0, 0.0, 0.0
    for p, count in plan:
        if count == 0:
            continue
        dt = p.duration_s / count
        dt_used = max(dt_used, dt)
        on = p.value is not None
        start_value = float(T[body_nodes].mean()) if on and len(body_nodes) else 0.0
        for i in range(count):
            value = p.value_at((i + 0.5) * dt, start_value) if on else 0.0
            p_body, p_perf = kernel.step(H, T, K, C, F, faces, labels, cf, cu, rl, kf, ku, perf, phase, t_s, dtm,
                                         medium.blood_value, has_source, source, state, theta, on, value, dt, inv_h2,
                                         shape[1], shape[2], H_out, T_next, peak, low, accumulated, dose_mode, *dose_args,
                                         changed)
            H, H_out = H_out, H
            if phase:  # conductivity follows the liquid fraction
                kernel.refresh_faces(K, changed, shape[1], shape[2], faces)
            T, T_next = T_next, T
            clock += dt
            done += 1
            if clock - last_record >= record_interval_s - 1e-9 or i == count - 1:
                record(clock, value if on else np.nan, p_body, p_perf)
                last_record = clock
            if progress is not None and (done % report_every == 0 or done == total_steps):
                report = _progress_report(done / total_steps, duration_s, times, body_values, probe_rows, recording)
                if progress(report) is False:
                    raise SimulationCancelled(what, done / total_steps)
    as_grid = lambda a: a.reshape(shape)  # noqa: E731
    return Run(as_grid(T.copy()), as_grid(peak), as_grid(low), None if dose is None else as_grid(accumulated),
               np.asarray(times), np.asarray(probe_rows).reshape(len(times), len(points)), np.asarray(body_values),
               np.asarray(body_power), np.asarray(perf_power), done, dt_used, recording)


def _progress_report(fraction: float, duration_s: float, times: list[float], body_values: list[float],
                     probe_rows: list[np.ndarray], recording: Recording) -> LesionProgress:
    """The latest record, named and scaled for a screen."""
    values = {name: float(v) * recording.scale for name, v in zip(recording.point_names, probe_rows[-1])}
    if recording.body_name is not None:
        values = {recording.body_name: float(body_values[-1]) * recording.scale, **values}
    return LesionProgress(float(fraction), float(times[-1]), duration_s, values, recording.unit)


def _enthalpy(values: np.ndarray, cf: float, cu: float, rl: float, phase: bool, t_s: float, dtm: float) -> np.ndarray:
    """Vectorised :func:`kernel.enthalpy_of` for one tissue."""
    if not phase:
        return cu * (values - t_s)
    return np.where(values <= t_s, cf * (values - t_s),
                    np.where(values < t_s + dtm, (cf + rl / dtm) * (values - t_s), cf * dtm + rl + cu * (values - t_s - dtm)))
