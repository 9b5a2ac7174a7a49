"""Per-level lumbar morphometry used by the generator, with its provenance.

Values are the adult, mixed-sex defaults of ``shared/reference/anatomy.md`` §5, each row
synthesised there from published measurements (§1–§4 of that sheet). All lengths in mm,
angles in degrees. The generator scales lengths by ``PatientParameters.size_scale``.

The measured quantities are defined exactly as the tests measure them on the meshes:

- ``body_width_mm`` / ``body_depth_mm``: superior endplate, left-right / antero-posterior.
- ``body_height_posterior_mm`` / ``body_height_anterior_mm``: endplate to endplate at the
  posterior and anterior walls (their difference makes the body's wedge).
- ``pedicle_width_mm`` / ``pedicle_height_mm``: narrowest transverse width (isthmus) and
  cranio-caudal height.
- ``canal_width_mm``: interpedicular distance; ``canal_depth_mm``: posterior body wall to the
  lamina at the midline, at the pedicles' mid-height.
- ``transverse_span_mm``: transverse-process tip to tip.
- ``spinous_length_mm``: posterior body wall to spinous-process tip; ``spinous_height_mm``:
  cranio-caudal height of the spinous process at its tip.
- ``facet_angle_deg``: angle between the superior facet joint surface and the midsagittal
  plane (Masharawi et al., Spine 2004).
- ``disc_height_below_mm``: mid-disc height of the disc below the level.
- ``lordosis_share``: fraction of the total lumbar lordosis carried by the segment below
  (standing proportions, Sci Rep 2022 Table 2).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LevelMorphometry", "LUMBAR_LEVELS", "MORPHOMETRY", "SACRUM", "SacrumMorphometry", "SOURCES"]

LUMBAR_LEVELS: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5")


@dataclass(frozen=True)
class LevelMorphometry:
    """Dimensions of one lumbar vertebra and of the segment below it (mm, degrees)."""

    level: str
    body_width_mm: float
    body_depth_mm: float
    body_height_posterior_mm: float
    body_height_anterior_mm: float
    pedicle_width_mm: float
    pedicle_height_mm: float
    pedicle_transverse_angle_deg: float
    canal_width_mm: float
    canal_depth_mm: float
    transverse_span_mm: float
    spinous_length_mm: float
    spinous_height_mm: float
    facet_angle_deg: float
    disc_height_below_mm: float
    lordosis_share: float
    dorsal_ramus_bifurcation_mm: float
    root_diameter_mm: float
    ganglion_width_mm: float


# anatomy.md §5 "Suggested defaults for a procedural generator" (each cell's basis is given there).
MORPHOMETRY: dict[str, LevelMorphometry] = {
    "L1": LevelMorphometry("L1", 41, 32, 26.5, 26.0, 7.5, 15.0, 12, 22, 18, 72, 50, 24, 27, 8.0, 1.2 / 50.5, 3.5, 3.0, 3.5),
    "L2": LevelMorphometry("L2", 43, 34, 27.5, 28.0, 8.5, 15.0, 13, 23, 17, 84, 52, 24, 31, 9.5, 5.9 / 50.5, 3.6, 3.1, 4.0),
    "L3": LevelMorphometry("L3", 45, 35, 27.5, 28.5, 10.0, 14.5, 15, 23.5, 16, 92, 52, 24, 41, 10.5, 9.1 / 50.5, 3.5, 4.3, 4.5),
    "L4": LevelMorphometry("L4", 47, 35, 27.0, 28.5, 12.0, 14.0, 18, 25, 16.5, 90, 51, 23, 48, 11.5, 12.7 / 50.5, 3.4, 5.1, 5.5),
    "L5": LevelMorphometry("L5", 49, 35, 26.3, 30.3, 16.0, 13.0, 24, 27, 17, 90, 47, 20, 53, 11.0, 21.6 / 50.5, 1.9, 5.3, 6.5),
}


@dataclass(frozen=True)
class SacrumMorphometry:
    """Dimensions of the sacrum's first segment (mm, degrees)."""

    body_width_mm: float
    body_depth_mm: float
    pedicle_height_mm: float
    facet_angle_deg: float
    ala_span_mm: float
    root_diameter_mm: float
    ganglion_width_mm: float
    posterior_foramen_width_mm: float


# S1 body reuses the L5 endplate size (anatomy.md §5: "until measured values are transcribed");
# S1 pedicle height ≈ 20 (Orthopedics 1998); S1 posterior foramen width 8.5 (Korean J Pain 2023);
# S1 root 5.38 (Clin Anat 2018); S1 DRG the largest (Hasegawa 1996) -> 7.0 assumed.
# Facet angle at L5-S1 is not tabulated: the L5 value is kept. Ala span: an assumption between
# the L5 transverse span (90) and the Visible Human sacrum (about 125 mm across, one subject:
# shared/realdata/vhp_lumbar/S1.obj).
SACRUM = SacrumMorphometry(
    body_width_mm=49,
    body_depth_mm=35,
    pedicle_height_mm=20,
    facet_angle_deg=53,
    ala_span_mm=112,
    root_diameter_mm=5.4,
    ganglion_width_mm=7.0,
    posterior_foramen_width_mm=8.5,
)

SOURCES: dict[str, str] = {
    "vertebrae": "shared/reference/anatomy.md §5 (Clouthier 2023; Cook & Baker 2021; AJPHS 2013; Okutan 2003; "
    "Masharawi 2004; Visible Human via LMG)",
    "discs_lordosis": "anatomy.md §1.5: disc heights (MRI, Dabbs) and prone lordosis 36.8° split in the standing "
    "proportions of Sci Rep 2022 Table 2",
    "neural": "anatomy.md §2 and §5: Zhang 2015 (DR bifurcation), Clin Anat 2018 (root diameter), Silverstein 2015 "
    "(DRG width and position), Cohen 2011 (medial branch < 2 mm)",
    "vessels": "anatomy.md §3: aortic bifurcation at L4 (Surg Radiol Anat 2002), IVC confluence L4-L5 "
    "(Surg Radiol Anat 1998), aorta inner diameter 16.5 mm, common iliac 8.5-9.8 mm (Ann Vasc Surg 2019)",
    "depth": "anatomy.md §4: skin to epidural space 4-6 cm in 80 % (Lee & Kim 2004; Cha 2011)",
}
