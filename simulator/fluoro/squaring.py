"""The "true AP" of a level: the pose that squares its superior endplate and centres its spinous process.

A clinician tilts the C-arm until the superior endplate of the target level is a single line
(the beam runs in the endplate's plane) and turns it until the spinous process lies midway
between the pedicles (the beam runs in the vertebra's mid-sagittal plane, so the focal spot is
in that plane and the image is mirror-symmetric about the spinous process). Both together fix
the beam: along ``endplate normal × left-right axis``. An ipsilateral oblique then turns the
orbit with the tilt kept, so the endplate stays squared.

The endplate normal is fitted to the bone's own surface (the cranial-facing triangles of the
superior endplate); the left-right axis runs between the pedicle landmarks.
"""

from __future__ import annotations

import numpy as np

from simulator._validation import check_points, check_range
from simulator.fluoro.carm import CArmGeometry, CArmPose, _side_sign, pose_from_beam

__all__ = ["superior_endplate_normal", "squared_endplate_pose"]

#: Half-thickness of the slab round the endplate landmark searched for endplate triangles, mm.
_ENDPLATE_SLAB_MM = 4.0
#: Radius round the landmark (in the endplate's plane) searched, mm.
_ENDPLATE_RADIUS_MM = 15.0


def superior_endplate_normal(scene, level: str) -> np.ndarray:
    """Unit normal (cranial) of ``level``'s superior endplate, fitted to its mesh (patient frame).

    Parameters
    ----------
    scene : Scene
        The patient.
    level : str
        A lumbar level, "L1" to "L5".
    """
    structure = scene.structure(level)
    centre = scene.landmark(f"superior_endplate_{level}")
    axis = scene.layout.poses[level].rotation[:, 2]  # the body's long axis: a first guess
    mesh = structure.mesh
    vertices = mesh.vertices.astype(float)
    centroids = vertices[mesh.faces].mean(axis=1)
    normals, areas = mesh.face_normals(), mesh.face_areas_mm2()
    offset = centroids - centre
    height = offset @ axis
    radial = np.linalg.norm(offset - height[:, None] * axis, axis=1)
    chosen = (normals @ axis > 0.8) & (np.abs(height) < _ENDPLATE_SLAB_MM) & (radial < _ENDPLATE_RADIUS_MM)
    points, weights = centroids[chosen], areas[chosen]
    mean = (points * weights[:, None]).sum(axis=0) / weights.sum()
    spread = ((points - mean) * weights[:, None]).T @ (points - mean)
    normal = np.linalg.eigh(spread)[1][:, 0]  # the direction of least spread
    return normal if normal @ axis > 0 else -normal


def squared_endplate_pose(scene, level: str, *, oblique_side: str | None = None, oblique_deg: float = 0.0,
                          isocenter_mm: object | None = None, geometry: CArmGeometry | None = None) -> CArmPose:
    """The pose that squares ``level``'s superior endplate with its spinous process centred.

    In a perspective projection a plane is seen edge-on (as one line) when it contains the
    focal spot, so the source is placed in the endplate's plane and in the vertebra's
    mid-sagittal plane, ``source_to_isocenter_mm`` from the isocentre. An oblique is then
    added as a clinician does: the orbit turns with the tilt kept, i.e. about the C-arm's
    orbital axis, which in this pose is the endplate's normal (for a vertebra without
    sideways tilt), so the endplate stays edge-on.

    Parameters
    ----------
    scene : Scene
        The patient.
    level : str
        "L1" to "L5".
    oblique_side : {"left", "right"} or None
        Turn the detector towards this side by ``oblique_deg``: an ipsilateral oblique for that
        side's targets.
    oblique_deg : float, default: 0
        0 to 60 degrees (for a lateral, use :func:`~simulator.fluoro.carm.lateral`: its beam
        already runs in every endplate's plane).
    isocenter_mm : array_like, optional
        Isocentre, mm (default: the level's body centre, on the mid-sagittal plane).
    geometry : CArmGeometry, optional
        For the source-to-isocentre distance (default: the reference defaults).

    Examples
    --------
    >>> pose = squared_endplate_pose(scene, "L4")                      # doctest: +SKIP
    >>> pose.describe()                                                # doctest: +SKIP
    'cranial 3.9°'
    """
    geometry = geometry or CArmGeometry()
    normal = superior_endplate_normal(scene, level)
    endplate = scene.landmark(f"superior_endplate_{level}")
    left = scene.landmark(f"pedicle_{level}_left") - scene.landmark(f"pedicle_{level}_right")
    left -= (left @ normal) * normal
    left /= np.linalg.norm(left)
    beam = np.cross(normal, left)  # posterior: z × x = y
    iso = scene.landmark(f"body_center_{level}") if isocenter_mm is None else check_points(isocenter_mm, "isocenter_mm")[0]
    # The source lies on the line through the isocentre's foot on the endplate plane and on
    # the mid-sagittal plane, along the beam, on the anterior side (s < 0).
    foot = iso - ((iso - endplate) @ normal) * normal
    foot = foot - ((foot - endplate) @ left) * left
    offset = foot - iso
    b = offset @ beam
    s = -b - np.sqrt(b * b - (offset @ offset - geometry.source_to_isocenter_mm**2))
    squared = pose_from_beam(iso - (foot + s * beam), iso)
    if oblique_side is None:
        return squared
    angle = check_range(oblique_deg, "oblique_deg", 0.0, 60.0, "deg") * _side_sign(oblique_side)
    return CArmPose(squared.oblique_left_deg + angle, squared.tilt_cranial_deg, squared.isocenter_mm)
