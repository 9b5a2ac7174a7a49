"""Rigid poses: where a local frame sits in the patient frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.anatomy.sdf import transform

__all__ = ["Pose", "rotation_x", "rotation_y", "rotation_z"]


def rotation_x(angle_deg: float) -> np.ndarray:
    """Rotation about +x (patient left) by ``angle_deg``; positive tilts +z towards -y (anterior)."""
    a = np.radians(angle_deg)
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def rotation_y(angle_deg: float) -> np.ndarray:
    """Rotation about +y (posterior); positive tilts +z towards +x (patient left)."""
    a = np.radians(angle_deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


def rotation_z(angle_deg: float) -> np.ndarray:
    """Rotation about +z (superior); positive turns -y (anterior) towards +x (patient left)."""
    a = np.radians(angle_deg)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


@dataclass(frozen=True, eq=False)
class Pose:
    """A local frame in the patient frame: ``patient = rotation @ local + translation_mm``.

    Parameters
    ----------
    rotation : numpy.ndarray, shape (3, 3)
        Columns are the local x, y, z axes expressed in the patient frame.
    translation_mm : numpy.ndarray, shape (3,)
        Origin of the local frame in the patient frame, mm.
    """

    rotation: np.ndarray
    translation_mm: np.ndarray

    @classmethod
    def identity(cls) -> "Pose":
        return cls(np.eye(3), np.zeros(3))

    def patient_from_local(self, points: np.ndarray) -> np.ndarray:
        """Map points (n, 3) from the local frame to the patient frame."""
        return transform(np.asarray(points, dtype=float), self.rotation, self.translation_mm)

    def local_from_patient(self, points: np.ndarray) -> np.ndarray:
        """Map points (n, 3) from the patient frame to the local frame."""
        return transform(np.asarray(points, dtype=float), self.rotation.T, -self.rotation.T @ self.translation_mm)

    def direction_to_patient(self, directions: np.ndarray) -> np.ndarray:
        """Rotate direction vectors (n, 3) from the local frame to the patient frame."""
        return np.asarray(directions, dtype=float) @ self.rotation.T

    def compose(self, other: "Pose") -> "Pose":
        """The pose ``self ∘ other``: first ``other``, then ``self``."""
        return Pose(self.rotation @ other.rotation, self.rotation @ other.translation_mm + self.translation_mm)

    def inverse(self) -> "Pose":
        return Pose(self.rotation.T, -self.rotation.T @ self.translation_mm)
