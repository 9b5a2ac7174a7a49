"""An elliptic section swept along a smooth centreline: dural sac and muscles."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.spatial import cKDTree

from simulator.anatomy import sdf
from simulator.anatomy.paths import smooth_path

__all__ = ["Sweep"]


@dataclass(frozen=True, eq=False)
class Sweep:
    """An elliptic section swept along a centreline (mm, patient frame).

    The section's first axis is the patient's left-right axis made perpendicular to the
    centreline, the second is perpendicular to both. The ends are closed by the end sections'
    planes, rounded by ``end_rounding_mm``.
    """

    centerline_mm: np.ndarray
    half_widths_mm: np.ndarray
    half_depths_mm: np.ndarray
    end_rounding_mm: float = 15.0

    @classmethod
    def through(cls, controls: np.ndarray, widths: list[float], depths: list[float], *, spacing_mm: float = 1.0,
                end_rounding_mm: float = 15.0) -> "Sweep":
        """A sweep along a smooth curve through ``controls`` with section sizes given there."""
        controls = np.asarray(controls, dtype=float)
        dense = smooth_path(controls, spacing_mm)
        control_arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(controls, axis=0), axis=1))])
        dense_arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
        dense_arc *= control_arc[-1] / dense_arc[-1]
        return cls(dense, np.interp(dense_arc, control_arc, widths), np.interp(dense_arc, control_arc, depths),
                   end_rounding_mm)

    def grown(self, grow_mm: float) -> "Sweep":
        """The same sweep with both section semi-axes larger by ``grow_mm``."""
        return Sweep(self.centerline_mm, self.half_widths_mm + grow_mm, self.half_depths_mm + grow_mm, self.end_rounding_mm)

    @cached_property
    def _frames(self) -> tuple[cKDTree, np.ndarray, np.ndarray, np.ndarray]:
        """Nearest-sample tree and each sample's tangent, lateral and normal unit vectors."""
        tangents = np.gradient(self.centerline_mm, axis=0)
        tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
        lateral = np.array([1.0, 0.0, 0.0]) - tangents * tangents[:, :1]
        lateral /= np.linalg.norm(lateral, axis=1, keepdims=True)
        return cKDTree(self.centerline_mm), tangents, lateral, np.cross(tangents, lateral)

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance in mm (first-order approximation, exact on the surface)."""
        tree, tangents, laterals, normals = self._frames
        _, index = tree.query(points)
        offset = points - self.centerline_mm[index]
        along = np.einsum("ij,ij->i", offset, tangents[index])
        section = sdf.ellipse_2d(np.einsum("ij,ij->i", offset, laterals[index]),
                                 np.einsum("ij,ij->i", offset, normals[index]),
                                 self.half_widths_mm[index], self.half_depths_mm[index])
        first, last = index == 0, index == len(self.centerline_mm) - 1
        ends = np.where(first, -along, np.where(last, along, -1e3))
        return sdf.smooth_intersection(section, ends, self.end_rounding_mm)
