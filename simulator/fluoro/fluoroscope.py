"""Shots of a patient: the anatomy's path lengths cached per C-arm pose, needles added per shot.

The anatomy does not move while the needle does, so the anatomy's line integrals are computed
once per pose (and kept for the last few poses); a shot at an unchanged pose only adds the
needles' exact steel chords and runs the image chain. Any anatomy that offers
``line_integrals``-style path lengths can drive it: the scene's meshes
(:class:`~simulator.fluoro.materials.MeshAnatomy`) or an attenuation volume with its affine
(:class:`~simulator.fluoro.volume.AttenuationVolume`, e.g. from a CT).

Examples
--------
>>> from simulator.scene import Scene                                    # doctest: +SKIP
>>> from simulator.fluoro import Fluoroscope, squared_endplate_pose     # doctest: +SKIP
>>> scene = Scene.load()                                                # doctest: +SKIP
>>> fluoroscope = Fluoroscope.from_scene(scene)                         # doctest: +SKIP
>>> shot = fluoroscope.shot(squared_endplate_pose(scene, "L4"), rng=0)  # doctest: +SKIP
>>> shot.image.shape, shot.pixel_spacing_mm                             # doctest: +SKIP
((512, 512), 0.449...)
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Protocol

import numpy as np

from simulator._validation import check_range
from simulator.errors import ParameterError
from simulator.fluoro.carm import CArmGeometry, CArmPose, Table, check_reachable
from simulator.fluoro.cylinders import add_cylinder_chords
from simulator.fluoro.dose import (Exposure, ExposureDose, effective_energy_kev, exposure_dose, frame_mas,
                                   tube_output_ugy_per_mas)
from simulator.fluoro import _chain
from simulator.fluoro.image import (AUTO_WINDOW_RADIUS, PHOTONS_PER_MM2_PER_NGY, DetectorModel, Display, Workspace,
                                    burn_marker, field_mask, form_image, marker_letter)
from simulator.fluoro.materials import MeshAnatomy
from simulator.fluoro.projection import Projection
from simulator.fluoro.raster import rasterize_path_lengths
from simulator.fluoro.volume import AttenuationVolume, MaterialVolume

__all__ = ["Fluoroscope", "Shot", "NeedleLike", "steel_attenuation_per_mm", "needle_segments", "automatic_exposure",
           "STEEL_ATTENUATION_PER_CM", "ABC_TARGET_NGY", "ABC_MAX_MA"]

#: Detector air kerma per frame that automatic brightness control keeps behind the patient in the
#: full 23 cm field, nGy (reference sheet §2: 30-100 nGy per frame [U]; 60 nGy leaves about 280
#: quanta in a 0.45 mm pixel). A smaller (magnified) field scales it by the area ratio, as image
#: intensifiers do, so the image keeps its quanta per pixel.
ABC_TARGET_NGY = 60.0
#: The field size the target refers to, mm.
ABC_REFERENCE_FIELD_MM = 230.0
#: Largest tube current automatic brightness control uses, by mode, mA (design defaults for a
#: mobile C-arm: pulses of up to 40 mA, continuous up to 6 mA).
ABC_MAX_MA = {"single": 40.0, "pulsed": 40.0, "continuous": 6.0}
#: Largest air kerma rate of a run at the interventional reference point under automatic
#: brightness control, mGy/min: the normal-mode limit of 21 CFR 1020.32(e) (88 mGy/min,
#: 10 R/min; flagged "verify" in the reference sheet §3).
MAX_AIR_KERMA_RATE_MGY_PER_MIN = 88.0

#: Stainless steel 304 (Fe71/Cr19/Ni10, 8.0 g/cm³) at 40/50/55/60/80 keV, cm⁻¹ (reference sheet §2 [D]).
STEEL_ATTENUATION_PER_CM = (28.6, 15.5, 12.0, 9.52, 4.71)
_STEEL_ENERGIES_KEV = (40.0, 50.0, 55.0, 60.0, 80.0)


def steel_attenuation_per_mm(energy_kev: float) -> float:
    """Linear attenuation of needle steel at ``energy_kev`` (40-80 keV, log-log interpolated), mm⁻¹.

    Examples
    --------
    >>> round(steel_attenuation_per_mm(55.0), 3)
    1.2
    """
    if not _STEEL_ENERGIES_KEV[0] <= energy_kev <= _STEEL_ENERGIES_KEV[-1]:
        raise ParameterError("energy_kev", energy_kev, "40 to 80 keV")
    return float(np.exp(np.interp(np.log(energy_kev), np.log(_STEEL_ENERGIES_KEV), np.log(STEEL_ATTENUATION_PER_CM)))) / 10.0


class NeedleLike(Protocol):
    """What a shot needs of a needle (:class:`simulator.needle.Needle` has it)."""

    tip_mm: np.ndarray
    entry_mm: np.ndarray
    direction: np.ndarray
    depth_mm: float
    segments_mm: list[tuple[np.ndarray, np.ndarray]]


def needle_segments(needle: NeedleLike) -> list[tuple[np.ndarray, np.ndarray, float, str]]:
    """The needle's steel as cylinders: ``(start_mm, end_mm, radius_mm, displaced_tissue)``.

    The needle in tissue, skin to tip (the shaft, and a curved cannula's bent tip), displaces
    soft tissue; the shaft outside the skin, back to the hub (the device's length along the
    shaft), displaces air.
    """
    entry = np.asarray(needle.entry_mm, float)
    direction = np.asarray(needle.direction, float)
    radius = float(needle.model.radius_mm)
    depth = float(needle.depth_mm)
    segments = []
    if depth > 0.0:
        segments += [(np.asarray(a, float), np.asarray(b, float), radius, "soft_tissue") for a, b in needle.segments_mm]
    outside = float(needle.model.length_mm) - max(depth, 0.0)
    if outside > 0.0:
        segments.append((entry - outside * direction, entry, radius, "air"))
    return segments


@dataclass(frozen=True, eq=False)
class Shot:
    """One displayed frame.

    Parameters
    ----------
    image : numpy.ndarray, shape (n, n), float32
        Grey levels in [0, 1], indexed ``(row, col)``; 0 is black. Radiopaque is dark unless the
        display was inverted.
    projection : Projection
        Geometry and pose (use :func:`~simulator.fluoro.projection.project_points` to find a
        point on the image).
    line_integrals : numpy.ndarray, shape (n, n), float32
        Noiseless ``Σ μ·L`` per pixel, needles included.
    energy_kev : float
        Effective energy used.
    exposure : Exposure
        The exposure that made it.
    dose : ExposureDose
        Its air kerma and dose-area product.
    quanta_per_pixel : float
        Detected quanta per pixel without attenuation.
    window : tuple of float
        Line-integral window of the display.
    marker : str
        The L/R marker letter.
    abc_limited : bool
        True when automatic brightness control could not reach its target detector dose within
        its current and voltage limits (the image is then noisier or less noisy than intended).
    """

    image: np.ndarray
    projection: Projection
    line_integrals: np.ndarray
    energy_kev: float
    exposure: Exposure
    dose: ExposureDose
    quanta_per_pixel: float
    window: tuple[float, float]
    marker: str
    abc_limited: bool = False

    @property
    def pixel_spacing_mm(self) -> float:
        """Pixel size at the detector, mm."""
        return self.projection.geometry.pixel_spacing_mm

    @property
    def pixel_spacing_at_isocenter_mm(self) -> float:
        """Pixel size for an object at the isocentre (detector spacing / magnification), mm."""
        return self.pixel_spacing_mm / self.projection.geometry.magnification

    def to_uint8(self) -> np.ndarray:
        """The image as 8-bit grey levels."""
        return np.round(self.image * 255.0).astype(np.uint8)


def automatic_exposure(line_integrals_at: Callable[[float], np.ndarray], geometry: CArmGeometry, exposure: Exposure,
                       target_detector_ngy: float = ABC_TARGET_NGY) -> tuple[Exposure, bool]:
    """The exposure automatic brightness control would use.

    It keeps the mean detector dose per frame in the central third of the field at
    ``target_detector_ngy`` (times ``(230 mm / detector size)²`` in a magnified field): first with
    the tube current (up to :data:`ABC_MAX_MA` for the mode),
    then, when that is not enough, by raising the tube voltage in 5 kV steps up to 120 kV, as
    the dose-rate curves of fluoroscopes do (design defaults, not a vendor's curve).

    Parameters
    ----------
    line_integrals_at : callable
        Maps an effective energy (keV) to the line-integral image at that energy.
    geometry : CArmGeometry
        Field size and distances.
    exposure : Exposure
        The starting exposure (mode, pulses, kVp).
    target_detector_ngy : float
        Target detector air kerma per frame in the full 23 cm field, 1 to 10,000 nGy.

    Returns
    -------
    exposure : Exposure
        With the chosen tube current and voltage.
    limited : bool
        True when even 120 kV at the largest current falls short (or the smallest current,
        0.1 mA, overshoots): the image is then noisier (or less noisy) than the target.
    """
    target = check_range(target_detector_ngy, "target_detector_ngy", 1.0, 10_000.0, "nGy") \
        * (ABC_REFERENCE_FIELD_MM / geometry.detector_size_mm) ** 2
    fraction = geometry.field_size_mm / geometry.detector_size_mm
    inside, radius = field_mask(geometry.pixels, fraction, geometry.circular_field)
    central = inside & (radius <= AUTO_WINDOW_RADIUS * fraction)
    technique = exposure.technique
    max_ma = ABC_MAX_MA[exposure.mode]
    kvp = technique.kvp
    while True:
        trial = replace(exposure, technique=replace(technique, kvp=kvp))
        transmission = float(np.mean(np.exp(-np.asarray(line_integrals_at(effective_energy_kev(kvp)), np.float64)[central])))
        free_air_ngy = tube_output_ugy_per_mas(kvp, geometry.source_to_image_mm) * frame_mas(trial) * 1e3
        wanted = technique.tube_current_ma * target / max(free_air_ngy * transmission, 1e-30)
        if wanted <= max_ma or kvp >= 120.0:
            break
        kvp = min(kvp + 5.0, 120.0)
    current = min(max(wanted, 0.1), max_ma)
    chosen = replace(trial, technique=replace(trial.technique, tube_current_ma=current))
    capped = False
    if exposure.mode != "single":
        # A run may not exceed the normal-mode air kerma rate at the reference point: the
        # machine lowers the current and the image gets noisier (21 CFR 1020.32(e)).
        per_second = exposure_dose(replace(chosen, duration_s=1.0), geometry).air_kerma_mgy
        limit = MAX_AIR_KERMA_RATE_MGY_PER_MIN / 60.0
        if per_second > limit:
            current = max(current * limit / per_second, 0.1)
            chosen = replace(chosen, technique=replace(chosen.technique, tube_current_ma=current))
            capped = True
    return chosen, capped or not 0.1 <= wanted <= max_ma


class Fluoroscope:
    """A C-arm imaging one anatomy: caches the anatomy per pose, adds needles per shot.

    Parameters
    ----------
    anatomy : MeshAnatomy or AttenuationVolume or MaterialVolume
        What is imaged. An attenuation volume holds μ at one energy (that of its conversion):
        the technique's effective energy then changes the needles' steel and the noise, not the
        anatomy's attenuation; a material volume (a CT) follows the energy.
    geometry : CArmGeometry, optional
        The imaging chain (default: reference-sheet defaults, 512² pixels).
    detector : DetectorModel, optional
        Detector efficiency and blur.
    cached_poses : int, default: 4
        How many poses' anatomy path lengths to keep (each costs channels × pixels² × 4 bytes).
    """

    def __init__(self, anatomy: MeshAnatomy | AttenuationVolume | MaterialVolume, geometry: CArmGeometry | None = None, *,
                 detector: DetectorModel | None = None, cached_poses: int = 4) -> None:
        if not isinstance(anatomy, (MeshAnatomy, AttenuationVolume, MaterialVolume)):
            raise ParameterError("anatomy", type(anatomy).__name__,
                                 "a MeshAnatomy, an AttenuationVolume (with its affine) or a MaterialVolume (a CT)")
        if not 1 <= int(cached_poses) <= 64:
            raise ParameterError("cached_poses", cached_poses, "1 to 64")
        self.anatomy = anatomy
        self.geometry = geometry or CArmGeometry()
        self.detector = detector or DetectorModel()
        self._cached_poses = int(cached_poses)
        self._path_lengths: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._combined: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._projections: OrderedDict[tuple, Projection] = OrderedDict()
        self._workspace = Workspace()

    @classmethod
    def from_scene(cls, scene, geometry: CArmGeometry | None = None, **options) -> "Fluoroscope":
        """A fluoroscope for a :class:`~simulator.scene.Scene`, its table under the patient's front.

        A patient imported from a CT is imaged from its CT (:class:`MaterialVolume`); any other
        from its structures' surfaces (:class:`MeshAnatomy`).
        """
        geometry = geometry or CArmGeometry()
        body = scene.structure("body").mesh.vertices
        geometry = replace(geometry, table=replace(geometry.table, top_y_mm=float(body[:, 1].min())))
        ct = scene.anatomy.ct
        return cls(ct.attenuation() if ct is not None else MeshAnatomy.from_scene(scene), geometry, **options)

    def with_geometry(self, geometry: CArmGeometry) -> "Fluoroscope":
        """The same anatomy and detector with another geometry (empty cache)."""
        return Fluoroscope(self.anatomy, geometry, detector=self.detector, cached_poses=self._cached_poses)

    @property
    def table(self) -> Table:
        return self.geometry.table

    def projection(self, pose: CArmPose) -> Projection:
        """The projection of ``pose``; refuses poses that collide with the table."""
        if not isinstance(pose, CArmPose):
            raise ParameterError("pose", type(pose).__name__, "a CArmPose (e.g. simulator.fluoro.ap())")
        key = (pose,)
        if key not in self._projections:
            check_reachable(self.geometry, pose)
            self._remember(self._projections, key, Projection(self.geometry, pose))
        self._projections.move_to_end(key)
        return self._projections[key]

    # -- line integrals ----------------------------------------------------------------------
    def anatomy_path_lengths(self, pose: CArmPose) -> np.ndarray:
        """Per-channel path lengths (mm) of the mesh anatomy, shape (channels, n, n) (a copy of the cache)."""
        return self._path_lengths_of(pose).copy()

    def anatomy_line_integrals(self, pose: CArmPose, energy_kev: float) -> np.ndarray:
        """``Σ μ·L`` of the anatomy (air included) at ``energy_kev``, shape (n, n) (a copy of the cache)."""
        return self._line_integrals_of(pose, energy_kev).copy()

    # The caches hand out their own arrays only inside this class: an array of a forgotten pose is
    # reused for the next one (a fresh 10-40 MB array costs milliseconds of page faults here).
    def _path_lengths_of(self, pose: CArmPose) -> np.ndarray:
        if not isinstance(self.anatomy, MeshAnatomy):
            raise ParameterError("anatomy", "an attenuation volume", "a MeshAnatomy for per-channel path lengths")
        key = (pose,)
        if key not in self._path_lengths:
            projection = self.projection(pose)
            a = self.anatomy
            spare = self._path_lengths.popitem(last=False)[1] if len(self._path_lengths) >= self._cached_poses else None
            if spare is not None:
                spare.setflags(write=True)
            lengths = rasterize_path_lengths(projection, a.vertices, a.faces, a.face_channel, len(a.channels), out=spare)
            lengths.setflags(write=False)
            self._remember(self._path_lengths, key, lengths)
        self._path_lengths.move_to_end(key)
        return self._path_lengths[key]

    def _line_integrals_of(self, pose: CArmPose, energy_kev: float) -> np.ndarray:
        key = (pose, float(energy_kev))
        if key not in self._combined:
            projection = self.projection(pose)
            if isinstance(self.anatomy, MeshAnatomy):
                from simulator.tissues import attenuation_per_mm

                lengths = self._path_lengths_of(pose)
                spare = self._combined.popitem(last=False)[1] if len(self._combined) >= self._cached_poses else None
                combined = spare if spare is not None else np.empty(lengths.shape[1:], np.float32)
                combined.setflags(write=True)
                # Air along the whole ray, source to detector (the body channel displaces it).
                _chain.weighted_channel_sum(self.anatomy.differential_per_mm(energy_kev),
                                            lengths, attenuation_per_mm("air", energy_kev) * self.geometry.source_to_image_mm,
                                            projection.ray_length_factor, combined)
            elif isinstance(self.anatomy, MaterialVolume):
                combined = self.anatomy.line_integrals(projection, energy_kev)
            else:
                combined = self.anatomy.line_integrals(projection)
            combined.setflags(write=False)
            self._remember(self._combined, key, combined)
        self._combined.move_to_end(key)
        return self._combined[key]

    def line_integrals(self, pose: CArmPose, energy_kev: float, needles: Iterable[NeedleLike] = ()) -> np.ndarray:
        """``Σ μ·L`` of anatomy and needles, shape (n, n), float32 (a new array)."""
        from simulator.tissues import attenuation_per_mm

        total = self._line_integrals_of(pose, energy_kev).copy()
        projection = self.projection(pose)
        steel = steel_attenuation_per_mm(energy_kev)
        for needle in needles:
            for start, end, radius, displaced in needle_segments(needle):
                add_cylinder_chords(projection, total, start, end, radius, steel - attenuation_per_mm(displaced, energy_kev))
        return total

    def _remember(self, cache: OrderedDict, key: tuple, value: np.ndarray) -> None:
        cache[key] = value
        while len(cache) > self._cached_poses:
            cache.popitem(last=False)

    # -- shots -------------------------------------------------------------------------------
    def quanta_per_pixel(self, exposure: Exposure) -> float:
        """Quanta reaching a pixel per frame without attenuation (free-in-air detector dose × fluence × area)."""
        kerma_ngy = tube_output_ugy_per_mas(exposure.technique.kvp, self.geometry.source_to_image_mm) \
            * frame_mas(exposure) * 1e3
        return kerma_ngy * PHOTONS_PER_MM2_PER_NGY * self.geometry.pixel_spacing_mm**2

    def shot(self, pose: CArmPose, *, needles: Iterable[NeedleLike] = (), exposure: Exposure | None = None,
             display: Display | None = None, rng: np.random.Generator | int | None = None,
             automatic_brightness: bool = False, target_detector_ngy: float = ABC_TARGET_NGY) -> Shot:
        """Take one frame at ``pose`` with ``needles`` in place.

        Parameters
        ----------
        pose : CArmPose
            Where the C-arm is (a pose that hits the table raises :class:`~simulator.errors.CollisionError`).
        needles : iterable of needles
            Needles in the patient (:class:`simulator.needle.Needle`).
        exposure : Exposure, optional
            Mode and technique (default: a single pulse of the default technique).
        display : Display, optional
            Monitor settings.
        rng : numpy.random.Generator or int or None
            Noise source.
        automatic_brightness : bool, default: False
            Let automatic brightness control set the tube current and voltage
            (:func:`automatic_exposure`); the shot's ``exposure`` and dose then carry its choice.
        target_detector_ngy : float, default: ABC_TARGET_NGY
            Its target detector dose per frame, nGy.
        """
        exposure = exposure or Exposure()
        display = display or Display()
        if not isinstance(exposure, Exposure):
            raise ParameterError("exposure", type(exposure).__name__, "an Exposure")
        projection = self.projection(pose)
        needles = list(needles)
        limited = False
        if automatic_brightness:
            # The anatomy alone is measured (the needles hardly change the central mean).
            exposure, limited = automatic_exposure(lambda e: self._line_integrals_of(pose, e), self.geometry,
                                                   exposure, target_detector_ngy)
        energy = exposure.technique.effective_energy_kev
        integrals = self.line_integrals(pose, energy, needles)
        quanta = self.quanta_per_pixel(exposure)
        geometry = self.geometry
        image, window = form_image(integrals, quanta, field_fraction=geometry.field_size_mm / geometry.detector_size_mm,
                                   circular=geometry.circular_field, display=display, detector=self.detector, rng=rng,
                                   workspace=self._workspace, frames_averaged=min(display.frame_averaging, exposure.frames))
        letter = marker_letter(projection.camera_from_patient[0, :3], pose.beam_direction)
        if display.marker:
            burn_marker(image, letter)
        return Shot(image, projection, integrals, energy, exposure, exposure_dose(exposure, geometry), quanta, window, letter,
                    limited)
