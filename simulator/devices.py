"""The needle and electrode catalogue: real devices by gauge, length and active tip.

Sources (``shared/reference/procedure.md`` §2): RF cannulas 16/18/20/22 G with outer diameters
1.651/1.270/0.908/0.718 mm (needle gauge chart), lengths 100 and 150 mm and exposed (active)
tips of 5, 10 and 15 mm (MacVicar et al. 2013; Cosman et al. 2014); cryoprobes of 14 and 16 G
(2.108/1.651 mm). The plain 22 G spinal needle (chemical neurolysis, local anaesthetic) has the
standard 3.5-inch (89 mm) and 5-inch (127 mm) lengths, a design default.

Every RF cannula also comes with a curved tip (id suffix ``_curved``), which the operator steers
by turning the hub (:func:`simulator.needle.rotate`): its active tip is bent :data:`CURVE_DEG`
off the shaft. The bend angle is a design default (no source in the reference sheets gives
one); with it a 10 mm tip moves its end 1.7 mm sideways, the fine steering curved cannulas are
used for.

Examples
--------
>>> device("rf_18g_100mm_10mm").outer_diameter_mm
1.27
>>> device("spinal_22g_89mm").active_tip_mm
0.0
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.errors import UnknownStructureError

__all__ = ["NeedleModel", "CATALOGUE", "device", "GAUGE_DIAMETER_MM", "CURVE_DEG"]

#: Nominal outer diameter (mm) by gauge (needle gauge chart, procedure.md §2).
GAUGE_DIAMETER_MM: dict[int, float] = {14: 2.108, 16: 1.651, 18: 1.270, 20: 0.908, 22: 0.718}
#: Bend of the active tip of a curved RF cannula off the shaft's axis (deg; design default).
CURVE_DEG = 10.0


@dataclass(frozen=True)
class NeedleModel:
    """One device of the catalogue.

    Parameters
    ----------
    id : str
        Stable id, e.g. ``"rf_18g_100mm_10mm"``.
    kind : str
        ``"rf_cannula"``, ``"cryoprobe"`` or ``"injection_needle"``.
    gauge : int
        Needle gauge (G).
    outer_diameter_mm, length_mm : float
        Shaft outer diameter and usable length (mm).
    active_tip_mm : float
        Uninsulated (RF) or freezing (cryo) length at the tip, mm; 0 for a plain needle.
    source : str
        Where the figures come from.
    curve_deg : float, default: 0
        Bend of the active tip off the shaft's axis (deg); 0 for a straight device.
    """

    id: str
    kind: str
    gauge: int
    outer_diameter_mm: float
    length_mm: float
    active_tip_mm: float
    source: str
    curve_deg: float = 0.0

    @property
    def radius_mm(self) -> float:
        return 0.5 * self.outer_diameter_mm

    @property
    def curved(self) -> bool:
        """Whether the tip is bent off the shaft."""
        return self.curve_deg > 0.0

    @property
    def description(self) -> str:
        """How a clinician would name it, e.g. "18 G 100 mm RF cannula, 10 mm active tip"."""
        names = {"rf_cannula": "RF cannula", "cryoprobe": "cryoprobe", "injection_needle": "spinal needle"}
        text = f"{self.gauge} G {self.length_mm:g} mm {names[self.kind]}"
        if self.active_tip_mm:
            text += f", {self.active_tip_mm:g} mm {'curved ' if self.curved else ''}active tip"
        return text


def _catalogue() -> dict[str, NeedleModel]:
    models = []
    rf_source = "procedure.md §2: MacVicar 2013; Cosman 2014; gauge chart"
    for gauge in (16, 18, 20, 22):
        for length in (100, 150):
            for tip in (5, 10, 15):
                for curve, suffix in ((0.0, ""), (CURVE_DEG, "_curved")):
                    models.append(NeedleModel(f"rf_{gauge}g_{length}mm_{tip}mm{suffix}", "rf_cannula", gauge,
                                              GAUGE_DIAMETER_MM[gauge], float(length), float(tip), rf_source, curve))
    for gauge in (14, 16):
        # Freezing length: the probe's distal 5 mm (design default; the ice ball grows round it).
        models.append(NeedleModel(f"cryo_{gauge}g_100mm", "cryoprobe", gauge, GAUGE_DIAMETER_MM[gauge], 100.0, 5.0,
                                  "procedure.md §2 (14/16 G); length and freezing tip: design defaults"))
    for length in (89, 127):
        models.append(NeedleModel(f"spinal_22g_{length}mm", "injection_needle", 22, GAUGE_DIAMETER_MM[22],
                                  float(length), 0.0, "gauge chart; 3.5- and 5-inch spinal needles (design default)"))
    return {model.id: model for model in models}


#: Every device by id.
CATALOGUE: dict[str, NeedleModel] = _catalogue()


def device(device_id: str) -> NeedleModel:
    """The catalogue entry ``device_id``; an unknown id raises an error naming the closest ones."""
    try:
        return CATALOGUE[device_id]
    except KeyError:
        raise UnknownStructureError(device_id, list(CATALOGUE), what="device") from None
