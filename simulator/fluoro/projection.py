"""Points to pixels and pixels to rays, for one C-arm geometry and pose.

Frames:

- **camera**: origin at the focal spot, axes ``(col_axis, row_axis, beam)`` in the patient frame
  (see :mod:`simulator.fluoro.carm` for their directions); ``w`` is the depth along the beam, mm.
- **pixel**: ``(row, col)`` indices of the image, from the top left; the centre of pixel
  ``[r, c]`` is at ``(r, c)`` exactly, so the image centre is at ``((n - 1) / 2, (n - 1) / 2)``.

Only ``camera_from_patient`` (4×4, rigid) and the intrinsics are stored; every other transform
is derived.

Examples
--------
>>> from simulator.fluoro.carm import CArmGeometry, ap
>>> projection = Projection(CArmGeometry(pixels=512), ap())
>>> project_points(projection, [[0.0, 0.0, 0.0]]).round(2).tolist()      # the isocentre: image centre
[[255.5, 255.5]]
>>> project_points(projection, [[10.0, 0.0, 0.0]]).round(2).tolist()     # 10 mm to the patient's left
[[255.5, 212.66]]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from simulator._validation import check_points
from simulator.errors import ParameterError
from simulator.fluoro.carm import CArmGeometry, CArmPose

__all__ = ["Projection", "project_points", "pixel_rays", "point_depths_mm"]


@dataclass(frozen=True, eq=False)
class Projection:
    """A C-arm geometry in one pose: the transforms between patient, camera and pixels.

    Parameters
    ----------
    geometry : CArmGeometry
        Distances, detector and display flips.
    pose : CArmPose
        Angles and isocentre.
    """

    geometry: CArmGeometry
    pose: CArmPose

    @cached_property
    def camera_from_patient(self) -> np.ndarray:
        """4×4 rigid transform from patient mm to camera mm (origin at the focal spot)."""
        rotation = self.pose.rotation
        col_axis = rotation @ np.array([1.0 if self.geometry.flip_horizontal else -1.0, 0.0, 0.0])
        row_axis = rotation @ np.array([0.0, 0.0, 1.0 if self.geometry.flip_vertical else -1.0])
        axes = np.column_stack([col_axis, row_axis, self.pose.beam_direction])
        matrix = np.eye(4)
        matrix[:3, :3] = axes.T
        matrix[:3, 3] = -axes.T @ self.geometry.source_mm(self.pose)
        return matrix

    @property
    def patient_from_camera(self) -> np.ndarray:
        """4×4 inverse of :attr:`camera_from_patient`."""
        rotation = self.camera_from_patient[:3, :3]
        matrix = np.eye(4)
        matrix[:3, :3] = rotation.T
        matrix[:3, 3] = -rotation.T @ self.camera_from_patient[:3, 3]
        return matrix

    @property
    def focal_length_px(self) -> float:
        """Source-to-image distance in pixels."""
        return self.geometry.source_to_image_mm / self.geometry.pixel_spacing_mm

    @property
    def center_px(self) -> float:
        """Row (and column) index of the principal point, the detector centre."""
        return 0.5 * (self.geometry.pixels - 1)

    @property
    def pixel_from_camera(self) -> np.ndarray:
        """3×3 intrinsics: camera ``(u, v, w)`` to homogeneous ``(col·w, row·w, w)``."""
        f, c = self.focal_length_px, self.center_px
        return np.array([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]])

    @property
    def pixel_from_patient(self) -> np.ndarray:
        """3×4 projection matrix: homogeneous patient mm to homogeneous ``(col·w, row·w, w)``."""
        return self.pixel_from_camera @ self.camera_from_patient[:3]

    @property
    def source_mm(self) -> np.ndarray:
        return self.geometry.source_mm(self.pose)

    @property
    def handedness(self) -> int:
        """+1 if (col axis, row axis, beam) is right-handed, -1 if mirrored (the default view is)."""
        return int(np.sign(np.linalg.det(self.camera_from_patient[:3, :3])))

    @property
    def ray_length_factor(self) -> np.ndarray:
        """Per pixel, length of the ray per mm of depth along the beam (``|ray| / SID`` ≥ 1), float32, read-only."""
        return _ray_length_factor(self.geometry.pixels, self.focal_length_px)

    def camera_points(self, points_mm: object) -> np.ndarray:
        """Points (n, 3) in mm, in the camera frame (``w`` = depth along the beam)."""
        points = check_points(points_mm, "points_mm")
        return points @ self.camera_from_patient[:3, :3].T + self.camera_from_patient[:3, 3]


@lru_cache(maxsize=8)
def _ray_length_factor(pixels: int, focal_length_px: float) -> np.ndarray:
    # The same for every pose of a geometry: computed once.
    offsets = (np.arange(pixels) - 0.5 * (pixels - 1)) / focal_length_px
    factor = np.sqrt(1.0 + offsets[:, None] ** 2 + offsets[None, :] ** 2).astype(np.float32)
    factor.setflags(write=False)
    return factor


def point_depths_mm(projection: Projection, points_mm: object) -> np.ndarray:
    """Depth of each point along the beam from the focal spot, mm (shape (n,))."""
    return projection.camera_points(points_mm)[:, 2]


def project_points(projection: Projection, points_mm: object) -> np.ndarray:
    """Project points (mm, patient frame) to ``(row, col)`` pixel coordinates.

    Parameters
    ----------
    projection : Projection
        Geometry and pose.
    points_mm : array_like, shape (n, 3) or (3,)
        Points in mm; each must lie in front of the source (between it and the detector side).

    Returns
    -------
    numpy.ndarray, shape (n, 2)
        Fractional ``(row, col)``; pixel ``[r, c]`` has its centre at ``(r, c)``.
    """
    camera = projection.camera_points(points_mm)
    if np.any(camera[:, 2] <= 1.0):
        raise ParameterError("points_mm", "a point behind the X-ray source", "points in front of the focal spot")
    f, c = projection.focal_length_px, projection.center_px
    return np.column_stack([c + f * camera[:, 1] / camera[:, 2], c + f * camera[:, 0] / camera[:, 2]])


def pixel_rays(projection: Projection, pixels: object) -> tuple[np.ndarray, np.ndarray]:
    """Rays from the focal spot through pixel coordinates.

    Parameters
    ----------
    pixels : array_like, shape (n, 2) or (2,)
        ``(row, col)`` pixel coordinates (fractional allowed).

    Returns
    -------
    origin_mm : numpy.ndarray, shape (3,)
        The focal spot, mm.
    directions : numpy.ndarray, shape (n, 3)
        Unit directions towards each pixel on the detector (patient frame).
    """
    array = np.asarray(pixels, dtype=float)
    if array.ndim == 1 and array.shape[0] == 2:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != 2 or not np.all(np.isfinite(array)):
        raise ParameterError("pixels", f"array of shape {array.shape}", "finite (row, col) pairs, shape (n, 2)")
    f, c = projection.focal_length_px, projection.center_px
    camera = np.column_stack([(array[:, 1] - c) / f, (array[:, 0] - c) / f, np.ones(len(array))])
    directions = camera @ projection.camera_from_patient[:3, :3]
    return projection.source_mm.copy(), directions / np.linalg.norm(directions, axis=1, keepdims=True)
