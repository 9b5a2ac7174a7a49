"""A labelled anatomical structure: identity, tissue, role, geometry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from simulator.fields import Field
from simulator.mesh import TriangleMesh

__all__ = ["Structure", "ROLES", "KINDS"]

#: What a structure is for, in the procedure.
ROLES: tuple[str, ...] = ("bone", "target_nerve", "critical", "soft_tissue")

#: Every structure kind the generator makes, and "bone": bone of an imported CT that no label
#: names (pelvis, ribs, unlabelled vertebrae).
KINDS: tuple[str, ...] = (
    "vertebra", "sacrum", "disc", "dural_sac", "root", "ganglion", "ventral_ramus", "dorsal_ramus",
    "medial_branch", "ligament", "artery", "vein", "muscle", "fat", "skin", "body", "bone",
)

Side = Literal["left", "right"]


@dataclass(frozen=True, eq=False)
class Structure:
    """One structure of the scene.

    Parameters
    ----------
    id : str
        Stable id, e.g. ``"L4"``, ``"medial_branch_L4_right"``, ``"root_L5_left"``.
    kind : str
        One of :data:`KINDS`.
    tissue : str
        Tissue id in :mod:`simulator.tissues` (for bone: the cancellous interior).
    role : str
        One of :data:`ROLES`.
    field : Field
        Signed distance in mm (negative inside).
    mesh : TriangleMesh
        Closed surface in mm, patient frame.
    level : str or None
        Vertebral level (``"L4"``, ``"S1"``; a disc names its upper level: ``"L4"`` for L4-L5).
    side : {"left", "right"} or None
        Patient side; ``None`` for midline structures.
    shell_tissue : str or None
        Tissue of an outer shell (cortical bone), ``shell_thickness_mm`` thick.
    priority : int
        Which structure owns a point inside several: the highest priority.
    """

    id: str
    kind: str
    tissue: str
    role: str
    field: Field
    mesh: TriangleMesh
    level: str | None = None
    side: Side | None = None
    shell_tissue: str | None = None
    shell_thickness_mm: float = 0.0
    priority: int = 0
    description: str = field(default="")
