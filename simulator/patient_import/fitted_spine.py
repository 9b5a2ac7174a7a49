"""The spine of an imported patient: the generator's layout, fitted to real bones.

:class:`FittedSpine` answers what the generator's :class:`~simulator.anatomy.spine.SpineLayout`
answers — each bone's pose and shape, the bone below, its neck grooves, distances to its
surface, the discs — but from bones measured on imported meshes or CT labels
(:mod:`.landmarks`), and only for the bones the patient has. So the generator's nerve, disc,
dural-sac and soft-tissue builders (:func:`simulator.anatomy.generator.build_around_bones`)
run on it unchanged, and the scene, the textbook approaches and the fluoroscopy's squared
endplates use it as :attr:`simulator.scene.Scene.layout`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from simulator.anatomy.parameters import PatientParameters
from simulator.anatomy.pose import Pose
from simulator.anatomy.spine import SpineLayout, disc_distance
from simulator.anatomy.vertebra import NeckGroove, SacrumShape, VertebraShape
from simulator.fields import GridField
from simulator.patient_import.alignment import SPINE_ORDER, spine_index

__all__ = ["FittedSpine"]

_LUMBAR = ("L1", "L2", "L3", "L4", "L5")
_SIDE_NAMES = {1: "left", -1: "right"}


@dataclass(frozen=True, eq=False)
class FittedSpine:
    """Bones of an imported patient with their frames, shapes and grooves.

    Parameters
    ----------
    parameters : PatientParameters
        Estimated from the bones (size), or given (fat thickness).
    shapes : dict of str to VertebraShape
        Measured shape of each vertebra present (lumbar and thoracic).
    sacrum : SacrumShape or None
        Measured sacrum, if present.
    poses : dict of str to Pose
        Each bone's frame in the patient frame.
    grooves : dict of str to dict of str to NeckGroove
        Neck grooves found on each bone (``grooves["L5"]["left"]``), in its frame.
    bone_fields : dict of str to GridField
        Each bone's signed distance in the patient frame, mm.
    """

    parameters: PatientParameters
    shapes: dict[str, VertebraShape]
    sacrum: SacrumShape | None
    poses: dict[str, Pose]
    grooves: dict[str, dict[str, NeckGroove]]
    bone_fields: dict[str, GridField]

    @property
    def bones(self) -> tuple[str, ...]:
        return tuple(sorted(self.poses, key=spine_index))

    @property
    def lumbar_levels(self) -> tuple[str, ...]:
        return tuple(b for b in self.bones if b in _LUMBAR)

    def lower_bone(self, bone: str) -> str | None:
        """The anatomical next bone below ``bone`` if the patient has it, else ``None``."""
        index = spine_index(bone) + 1
        below = SPINE_ORDER[index] if index < len(SPINE_ORDER) else None
        return below if below in self.poses else None

    @property
    def discs(self) -> tuple[str, ...]:
        """Discs between neighbouring bones that are both present (``disc_T12_L1``, ``disc_L5_S1``)."""
        pairs = [(bone, self.lower_bone(bone)) for bone in self.bones]
        return tuple(f"disc_{upper}_{'S1' if lower == 'sacrum' else lower}" for upper, lower in pairs if lower)

    disc_bones = staticmethod(SpineLayout.disc_bones)

    def has_groove(self, bone: str, side: int) -> bool:
        """Whether the groove was found on the bone (the nerves that run in it are made only then)."""
        return _SIDE_NAMES[side] in self.grooves.get(bone, {})

    def groove(self, bone: str, side: int) -> NeckGroove:
        return self.grooves[bone][_SIDE_NAMES[side]]

    def bone_distance_local(self, bone: str, points_local: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to ``bone`` at points in its own frame."""
        return self.bone_fields[bone].signed_distance(self.poses[bone].patient_from_local(points_local))

    def bone_distance(self, bone: str, points: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to ``bone`` at points in the patient frame."""
        return self.bone_fields[bone].signed_distance(np.asarray(points, dtype=float))

    def body_distance(self, bone: str, points: np.ndarray) -> np.ndarray:
        """The whole imported bone (a disc ends at its surface)."""
        return self.bone_distance(bone, points)

    def disc_distance(self, disc: str, points: np.ndarray) -> np.ndarray:
        return disc_distance(self, disc, points)

    def mid_height(self, bone: str) -> float:
        return self.sacrum.body_height if bone == "sacrum" else self.shapes[bone].mid_height

    @property
    def sacral_channels_by_side(self) -> None:
        """The S1 foramina are not found on imported sacra (so no S1 nerves are made: the
        generator's foramina, placed in a real sacrum's frame, open onto its dorsal surface)."""
        return None

    # -- files --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain values for the manifest (the bone fields are the bones' own)."""
        def pose(p: Pose) -> dict:
            return {"rotation": np.round(p.rotation, 9).tolist(), "translation_mm": np.round(p.translation_mm, 6).tolist()}

        def groove(g: NeckGroove) -> dict:
            values = asdict(g)
            values["apex"] = np.round(g.apex, 6).tolist()
            return values

        return {"poses": {b: pose(p) for b, p in self.poses.items()},
                "shapes": {b: asdict(s) for b, s in self.shapes.items()},
                "sacrum": asdict(self.sacrum) if self.sacrum is not None else None,
                "grooves": {b: {side: groove(g) for side, g in by_side.items()} for b, by_side in self.grooves.items()}}

    @classmethod
    def from_dict(cls, values: dict, parameters: PatientParameters, bone_fields: dict[str, GridField]) -> "FittedSpine":
        """The spine saved by :meth:`to_dict`, on the loaded bones' fields."""
        from simulator.patient_import.landmarks import MeasuredVertebraShape

        poses = {b: Pose(np.array(p["rotation"], dtype=float), np.array(p["translation_mm"], dtype=float))
                 for b, p in values["poses"].items()}
        shapes = {b: MeasuredVertebraShape(**s) for b, s in values["shapes"].items()}
        sacrum = SacrumShape(**values["sacrum"]) if values.get("sacrum") else None
        grooves = {b: {side: NeckGroove(**{**g, "apex": np.array(g["apex"], dtype=float)}) for side, g in by_side.items()}
                   for b, by_side in values["grooves"].items()}
        return cls(parameters, shapes, sacrum, poses, grooves, bone_fields)
