"""Dose accounting: technique factors, exposures, and a per-session record updated by a pure function.

Model (``shared/reference/fluoroscopy.md`` §3 and ``docs/fluoroscopy.md``):

- **Tube output** at 1 m, free in air, per mAs: ``Y(kVp) = 0.008373 · kVp^1.983 µGy/mAs`` at
  40 inches (1.016 m), the power-law fit to ~40 radiographic units (imablog.net, "Radiation
  output from radiographic units", 2015 [S]; textbooks: output ∝ kVp², Bushberg p. 201 [S]);
  90 kV gives 64.9 µGy/mAs at 1 m, against 80 µGy/mAs for 3 mm Al in the University of Groningen
  radiation-protection table [S].
- **Air kerma** is reported at the interventional reference point, 15 cm from the isocentre
  towards the source (IEC 60601-2-43), by the inverse square law.
- **Dose-area product** is the air kerma times the exposed field area in any plane (the product
  does not change along the beam): here the collimated detector field scaled to 1 m.
- **Fluoroscopy time** is the beam-on (pedal) time: a run's duration; a single shot counts its
  pulse width.
- **Modes**: ``"single"`` (one pulse, last-image hold), ``"pulsed"`` (``pulse_rate_hz`` pulses a
  second for ``duration_s``), ``"continuous"`` (beam on for ``duration_s`` at the tube current;
  the video frame integrates 1/30 s).

Check against the sheet: the default technique (90 kV, 20 mA, 8 ms pulses at 8 p/s, full 23 cm
field) gives 0.033 Gy·cm² per fluoroscopy second; 3 mA continuous gives 0.078 (published
lumbar procedures: 0.03-0.1 Gy·cm²/s).

Examples
--------
>>> from simulator.fluoro.carm import CArmGeometry
>>> record = DoseRecord()
>>> record = record_exposure(record, Exposure("pulsed", duration_s=1.0), CArmGeometry())
>>> record.shots, round(record.fluoro_time_s, 2), round(record.dap_gy_cm2, 3)
(1, 1.0, 0.033)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator._validation import check_range
from simulator.errors import ParameterError
from simulator.fluoro.carm import CArmGeometry

__all__ = ["Technique", "Exposure", "DoseRecord", "record_exposure", "exposure_dose", "ExposureDose",
           "tube_output_ugy_per_mas", "effective_energy_kev", "frame_mas", "MODES", "IRP_OFFSET_MM",
           "CONTINUOUS_FRAME_RATE_HZ"]

#: Exposure modes.
MODES: tuple[str, ...] = ("single", "pulsed", "continuous")
#: The interventional reference point lies this far from the isocentre towards the source (IEC 60601-2-43), mm.
IRP_OFFSET_MM = 150.0
#: Video frame rate of continuous fluoroscopy (a frame integrates 1/30 s), Hz.
CONTINUOUS_FRAME_RATE_HZ = 30.0
#: Effective energy (keV) of the MC-GPU spectra behind 20 cm of tissue (reference sheet §2 [D]), by kVp.
_EFFECTIVE_ENERGY_KEV = ((60.0, 45.0), (90.0, 59.0), (120.0, 70.0))


def tube_output_ugy_per_mas(kvp: float, distance_mm: float = 1000.0) -> float:
    """Air kerma free in air per mAs at ``distance_mm`` from the focal spot, µGy/mAs.

    Examples
    --------
    >>> round(tube_output_ugy_per_mas(90.0), 1)
    64.9
    """
    kvp = check_range(kvp, "kvp", 40.0, 150.0, "kV")
    distance_mm = check_range(distance_mm, "distance_mm", 1.0, 1e5, "mm")
    return 0.008373 * kvp**1.983 * (1016.0 / distance_mm) ** 2


def effective_energy_kev(kvp: float) -> float:
    """Effective (mono-energetic) energy of the beam behind a patient, keV, for 60-120 kVp.

    Linear in kVp between the reference sheet's 60/90/120 kV spectra behind 20 cm of tissue
    (45, 59, 70 keV).

    Examples
    --------
    >>> effective_energy_kev(90.0)
    59.0
    """
    kvp = check_range(kvp, "kvp", 60.0, 120.0, "kV")
    for (k0, e0), (k1, e1) in zip(_EFFECTIVE_ENERGY_KEV, _EFFECTIVE_ENERGY_KEV[1:]):
        if kvp <= k1:
            return e0 + (e1 - e0) * (kvp - k0) / (k1 - k0)
    return _EFFECTIVE_ENERGY_KEV[-1][1]  # pragma: no cover (kvp == 120 returns above)


@dataclass(frozen=True)
class Technique:
    """Technique factors of the X-ray tube.

    Parameters
    ----------
    kvp : float, default: 90
        Tube voltage, 60 to 120 kV (lumbar work: 70-90 AP, 90-110 lateral [U]).
    tube_current_ma : float, default: 20
        Tube current, 0.1 to 100 mA (pulsed: 10-30 mA; continuous: 1-5 mA).
    pulse_width_ms : float, default: 8
        Pulse width, 1 to 50 ms (single and pulsed modes).
    pulse_rate_hz : float, default: 8
        Pulses per second in pulsed mode, 1 to 30 (lumbar work 3-15 p/s, Schmid et al. 2006).
    """

    kvp: float = 90.0
    tube_current_ma: float = 20.0
    pulse_width_ms: float = 8.0
    pulse_rate_hz: float = 8.0

    def __post_init__(self) -> None:
        check_range(self.kvp, "kvp", 60.0, 120.0, "kV")
        check_range(self.tube_current_ma, "tube_current_ma", 0.1, 100.0, "mA")
        check_range(self.pulse_width_ms, "pulse_width_ms", 1.0, 50.0, "ms")
        check_range(self.pulse_rate_hz, "pulse_rate_hz", 1.0, 30.0, "Hz")

    @property
    def effective_energy_kev(self) -> float:
        return effective_energy_kev(self.kvp)


@dataclass(frozen=True)
class Exposure:
    """One press of the pedal: a mode, its duration and the technique.

    Parameters
    ----------
    mode : {"single", "pulsed", "continuous"}
        See the module notes.
    duration_s : float, default: 0
        Run length for "pulsed" and "continuous", 0.01 to 600 s (ignored for "single").
    technique : Technique
        Technique factors.
    """

    mode: str = "single"
    duration_s: float = 0.0
    technique: Technique = field(default_factory=Technique)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ParameterError("mode", self.mode, ", ".join(MODES))
        if self.mode != "single":
            check_range(self.duration_s, "duration_s", 0.01, 600.0, "s")

    @property
    def pulses(self) -> int:
        """Pulses delivered (0 for continuous)."""
        if self.mode == "single":
            return 1
        if self.mode == "pulsed":
            return max(1, round(self.duration_s * self.technique.pulse_rate_hz))
        return 0

    @property
    def frames(self) -> int:
        """Frames the exposure makes: its pulses, or the video frames of a continuous run."""
        if self.mode == "continuous":
            return max(1, round(self.duration_s * CONTINUOUS_FRAME_RATE_HZ))
        return self.pulses

    @property
    def mas(self) -> float:
        """Tube charge of the whole exposure, mAs."""
        t = self.technique
        if self.mode == "continuous":
            return t.tube_current_ma * self.duration_s
        return t.tube_current_ma * t.pulse_width_ms * 1e-3 * self.pulses

    @property
    def beam_on_s(self) -> float:
        """Fluoroscopy time this exposure adds, s."""
        return self.technique.pulse_width_ms * 1e-3 if self.mode == "single" else float(self.duration_s)


def frame_mas(exposure: Exposure) -> float:
    """Tube charge behind one displayed frame (what its noise depends on), mAs."""
    t = exposure.technique
    if exposure.mode == "continuous":
        return t.tube_current_ma / CONTINUOUS_FRAME_RATE_HZ
    return t.tube_current_ma * t.pulse_width_ms * 1e-3


@dataclass(frozen=True)
class ExposureDose:
    """Dose of one exposure: air kerma at the reference point (mGy) and dose-area product (Gy·cm²)."""

    air_kerma_mgy: float
    dap_gy_cm2: float


def exposure_dose(exposure: Exposure, geometry: CArmGeometry) -> ExposureDose:
    """Air kerma at the interventional reference point and the dose-area product of an exposure.

    Examples
    --------
    >>> dose = exposure_dose(Exposure("continuous", 1.0, Technique(tube_current_ma=3.0)), CArmGeometry())
    >>> round(dose.dap_gy_cm2, 3)
    0.078
    """
    kerma_1m_ugy = tube_output_ugy_per_mas(exposure.technique.kvp) * exposure.mas
    irp_distance = geometry.source_to_isocenter_mm - IRP_OFFSET_MM
    air_kerma_mgy = kerma_1m_ugy * (1000.0 / irp_distance) ** 2 * 1e-3
    area_1m_cm2 = geometry.field_area_at_detector_cm2 * (1000.0 / geometry.source_to_image_mm) ** 2
    return ExposureDose(air_kerma_mgy, kerma_1m_ugy * 1e-6 * area_1m_cm2)


@dataclass(frozen=True)
class DoseRecord:
    """What a session has cost so far (a plain value; :func:`record_exposure` returns the next one).

    Parameters
    ----------
    shots : int
        Exposures (pedal presses).
    fluoro_time_s : float
        Beam-on time, s.
    air_kerma_mgy : float
        Cumulative air kerma at the interventional reference point, mGy.
    dap_gy_cm2 : float
        Cumulative dose-area product, Gy·cm².
    """

    shots: int = 0
    fluoro_time_s: float = 0.0
    air_kerma_mgy: float = 0.0
    dap_gy_cm2: float = 0.0

    def to_dict(self) -> dict:
        return {"shots": self.shots, "fluoro_time_s": round(self.fluoro_time_s, 4),
                "air_kerma_mgy": round(self.air_kerma_mgy, 5), "dap_gy_cm2": round(self.dap_gy_cm2, 6)}


def record_exposure(record: DoseRecord, exposure: Exposure, geometry: CArmGeometry) -> DoseRecord:
    """The record after ``exposure`` (pure: ``record`` is not changed)."""
    dose = exposure_dose(exposure, geometry)
    return DoseRecord(record.shots + 1, record.fluoro_time_s + exposure.beam_on_s,
                      record.air_kerma_mgy + dose.air_kerma_mgy, record.dap_gy_cm2 + dose.dap_gy_cm2)
