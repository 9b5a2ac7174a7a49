"""Attenuation volumes (a CT later, or a rasterised scene) and their projection by ray-marching.

A volume is a 3-D array of linear attenuation (mm⁻¹ at the beam's effective energy) and the
affine that places voxel indices in the patient frame; without the affine a volume cannot be
projected. Rays are marched with trilinear interpolation at a fixed step (DeepDRR 0.1 voxel,
TIGRE 0.5 voxel; here 0.5 voxel by default, reference sheet §4).

Examples
--------
>>> values = np.zeros((3, 3, 3), np.float32)
>>> volume = AttenuationVolume(values, np.diag([2.0, 2.0, 2.0, 1.0]))
>>> volume.spacing_mm
(2.0, 2.0, 2.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numba
import numpy as np

from simulator._validation import check_range
from simulator.errors import ParameterError
from simulator.fluoro.projection import Projection

__all__ = ["AttenuationVolume", "MaterialVolume", "BASIS_DISPLACES", "volume_from_label_volume"]


@dataclass(frozen=True, eq=False)
class AttenuationVolume:
    """Linear attenuation on a voxel grid placed by an affine.

    Parameters
    ----------
    values_per_mm : numpy.ndarray, shape (ni, nj, nk)
        Linear attenuation in mm⁻¹ (≥ 0), indexed ``[i, j, k]``.
    patient_from_index : numpy.ndarray, shape (4, 4)
        Affine from voxel indices ``(i, j, k, 1)`` to patient mm (LPS); voxel ``[i, j, k]``'s
        centre is at ``patient_from_index @ (i, j, k, 1)``.
    step_voxels : float, default: 0.5
        Ray-marching step, 0.05 to 2 voxels.
    """

    values_per_mm: np.ndarray
    patient_from_index: np.ndarray
    step_voxels: float = 0.5

    def __post_init__(self) -> None:
        values = np.asarray(self.values_per_mm)
        if values.ndim != 3 or min(values.shape) < 2:
            raise ParameterError("values_per_mm", f"array of shape {values.shape}", "a 3-D array, at least 2 voxels a side")
        values = np.ascontiguousarray(values, dtype=np.float32)
        if not np.all(np.isfinite(values)) or values.min() < 0.0:
            raise ParameterError("values_per_mm", "negative or non-finite values", "finite attenuation ≥ 0 per mm")
        if self.patient_from_index is None:
            raise ParameterError("patient_from_index", None, "a 4x4 affine from voxel indices to patient mm "
                                 "(a volume without its affine cannot be placed in the patient)")
        affine = np.asarray(self.patient_from_index, dtype=float)
        if affine.shape != (4, 4) or not np.all(np.isfinite(affine)) or not np.allclose(affine[3], [0, 0, 0, 1]) \
                or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
            raise ParameterError("patient_from_index", f"array of shape {affine.shape}",
                                 "an invertible 4x4 affine with last row (0, 0, 0, 1)")
        check_range(self.step_voxels, "step_voxels", 0.05, 2.0, "voxels")
        object.__setattr__(self, "values_per_mm", values)
        object.__setattr__(self, "patient_from_index", affine)

    @property
    def index_from_patient(self) -> np.ndarray:
        """Inverse affine: patient mm to voxel indices."""
        return np.linalg.inv(self.patient_from_index)

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel size along i, j, k, mm."""
        return tuple(float(v) for v in np.linalg.norm(self.patient_from_index[:3, :3], axis=0))

    def line_integrals(self, projection: Projection) -> np.ndarray:
        """``Σ μ·L`` for every pixel of ``projection`` (float32, shape (pixels, pixels))."""
        size = projection.geometry.pixels
        out = np.zeros((size, size), np.float32)
        index_from_patient = self.index_from_patient
        origin = index_from_patient[:3, :3] @ projection.source_mm + index_from_patient[:3, 3]
        # Direction of the ray through pixel (r, c), index space, per mm of path: M @ d_patient.
        directions = index_from_patient[:3, :3] @ projection.patient_from_camera[:3, :3]
        _march(self.values_per_mm, origin, directions, projection.focal_length_px, projection.center_px,
               float(self.step_voxels), out)
        return out


@numba.njit(cache=True, parallel=True)
def _march(values, origin, camera_to_index, focal_px, center_px, step_voxels, out):  # pragma: no cover
    ni, nj, nk = values.shape
    size = out.shape[0]
    for r in numba.prange(size):
        for c in range(size):
            u = (c - center_px) / focal_px
            v = (r - center_px) / focal_px
            # Patient-frame ray direction has length sqrt(u² + v² + 1) per unit of camera w.
            norm = math.sqrt(u * u + v * v + 1.0)
            d0 = (camera_to_index[0, 0] * u + camera_to_index[0, 1] * v + camera_to_index[0, 2]) / norm
            d1 = (camera_to_index[1, 0] * u + camera_to_index[1, 1] * v + camera_to_index[1, 2]) / norm
            d2 = (camera_to_index[2, 0] * u + camera_to_index[2, 1] * v + camera_to_index[2, 2]) / norm
            # Clip the ray (t in mm) to the box of voxel centres [0, n-1] on each axis.
            t_lo, t_hi = 0.0, 1e30
            empty = False
            for axis in range(3):
                o = origin[axis]
                d = d0 if axis == 0 else (d1 if axis == 1 else d2)
                n = ni if axis == 0 else (nj if axis == 1 else nk)
                if abs(d) < 1e-15:
                    if o < 0.0 or o > n - 1:
                        empty = True
                else:
                    a, b = (0.0 - o) / d, (n - 1 - o) / d
                    if a > b:
                        a, b = b, a
                    t_lo, t_hi = max(t_lo, a), min(t_hi, b)
            if empty or t_hi <= t_lo:
                continue
            speed = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)  # voxels per mm
            dt = step_voxels / speed
            steps = int((t_hi - t_lo) / dt) + 1
            dt = (t_hi - t_lo) / steps
            total = 0.0
            for s in range(steps):  # midpoint rule
                t = t_lo + (s + 0.5) * dt
                x, y, z = origin[0] + t * d0, origin[1] + t * d1, origin[2] + t * d2
                i, j, k = min(int(x), ni - 2), min(int(y), nj - 2), min(int(z), nk - 2)
                fx, fy, fz = x - i, y - j, z - k
                c00 = values[i, j, k] * (1 - fx) + values[i + 1, j, k] * fx
                c10 = values[i, j + 1, k] * (1 - fx) + values[i + 1, j + 1, k] * fx
                c01 = values[i, j, k + 1] * (1 - fx) + values[i + 1, j, k + 1] * fx
                c11 = values[i, j + 1, k + 1] * (1 - fx) + values[i + 1, j + 1, k + 1] * fx
                total += ((c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz)
            out[r, c] = total * dt


def volume_from_label_volume(labels, energy_kev: float) -> AttenuationVolume:
    """An attenuation volume from a rasterised scene (:meth:`simulator.scene.Scene.rasterize`).

    Examples
    --------
    >>> volume = volume_from_label_volume(scene.rasterize(2.0), 59.0)   # doctest: +SKIP
    """
    from simulator.tissues import attenuation_per_mm

    values = labels.property_volume({t: attenuation_per_mm(t, energy_kev) for t in labels.tissue_ids})
    affine = np.diag([labels.spacing_mm] * 3 + [1.0])
    affine[:3, 3] = labels.origin_mm
    return AttenuationVolume(values, affine)


#: Basis materials of a :class:`MaterialVolume` and what each displaces (differential
#: attenuation, as the mesh channels of :mod:`simulator.fluoro.materials`).
BASIS_DISPLACES: dict[str, str] = {"soft_tissue": "air", "cortical_bone": "soft_tissue"}


class MaterialVolume:
    """A CT as fractions of basis materials, so its attenuation follows the beam's energy.

    Each voxel holds, per basis material, the fraction of it that displaces the material below
    (soft tissue displaces air, cortical bone displaces soft tissue; see
    :func:`simulator.patient_import.ct.hu_to_basis`). A pose's path integrals of the fractions
    are ray-marched once (:class:`AttenuationVolume`'s marcher) and kept for the last
    ``cached_poses`` poses; a shot at any energy then costs a weighted sum:
    ``Σ μ·L = μ_air · |ray| + Σ_m (μ_m − μ_displaced) · ∫ f_m``.

    Parameters
    ----------
    fractions : dict of str to numpy.ndarray
        Basis material (a key of :data:`BASIS_DISPLACES`) to its voxel fractions, all one shape.
    patient_from_index : numpy.ndarray, shape (4, 4)
        Voxel centres in the patient frame (mm).
    step_voxels : float, default: 0.5
        Ray-marching step.
    cached_poses : int, default: 4
        Poses whose path integrals are kept.

    Examples
    --------
    >>> soft = np.ones((4, 4, 4), np.float32)
    >>> volume = MaterialVolume({"soft_tissue": soft, "cortical_bone": 0 * soft}, np.eye(4))
    >>> volume.materials
    ('soft_tissue', 'cortical_bone')
    """

    def __init__(self, fractions: dict[str, np.ndarray], patient_from_index: np.ndarray, *, step_voxels: float = 0.5,
                 cached_poses: int = 4) -> None:
        unknown = set(fractions) - set(BASIS_DISPLACES)
        if unknown:
            raise ParameterError("fractions", sorted(unknown), f"basis materials {', '.join(BASIS_DISPLACES)}")
        self._volumes = {m: AttenuationVolume(f, patient_from_index, step_voxels) for m, f in fractions.items()}
        self._cache: dict[tuple, dict[str, np.ndarray]] = {}
        self._cached_poses = int(cached_poses)

    @property
    def materials(self) -> tuple[str, ...]:
        return tuple(self._volumes)

    @property
    def patient_from_index(self) -> np.ndarray:
        return next(iter(self._volumes.values())).patient_from_index

    def path_integrals(self, projection: Projection) -> dict[str, np.ndarray]:
        """``∫ f_m`` along every pixel's ray, mm, per basis material (cached per pose)."""
        key = (projection.geometry, projection.pose)
        if key not in self._cache:
            if len(self._cache) >= self._cached_poses:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = {m: v.line_integrals(projection) for m, v in self._volumes.items()}
        return self._cache[key]

    def line_integrals(self, projection: Projection, energy_kev: float) -> np.ndarray:
        """``Σ μ·L`` for every pixel at ``energy_kev`` (float32, shape (pixels, pixels)), air included."""
        from simulator.tissues import attenuation_per_mm

        total = (attenuation_per_mm("air", energy_kev) * projection.geometry.source_to_image_mm
                 * projection.ray_length_factor).astype(np.float32)
        for material, integral in self.path_integrals(projection).items():
            differential = attenuation_per_mm(material, energy_kev) - attenuation_per_mm(BASIS_DISPLACES[material], energy_kev)
            total += np.float32(differential) * integral
        return total
