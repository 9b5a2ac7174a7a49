"""Where a lesion is made: the tissues at the nodes of its grid, from the scene or a uniform block.

A :class:`TissueBlock` is the bench experiment: one tissue, perfused or not (ex vivo), at a
bath temperature, with no anatomy, so lesion sizes can be compared with published bench
measurements. A :class:`~simulator.scene.Scene` gives each node the tissue the patient has
there (bone, muscle, fat, nerve, disc, CSF, vessels...), always perfused and at body
temperature.

Examples
--------
>>> from simulator.ablation.grid import needle_grid
>>> grid = needle_grid([0, 0, -5.0], [0, 0, 0.0], margin_mm=2.0, spacing_mm=1.0)
>>> tissues = tissue_map(TissueBlock("fat", perfused=False, temperature_c=21.0), grid)
>>> tissues.tissue_ids, tissues.baseline_c, tissues.perfused
(('fat',), 21.0, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from simulator._validation import check_range
from simulator.ablation.grid import LesionGrid
from simulator.errors import ParameterError
from simulator.scene import OUTSIDE, Scene
from simulator.tissues import TISSUES, tissue

__all__ = ["TissueBlock", "TissueMap", "Site", "tissue_map", "BODY_TEMPERATURE_C"]

#: Arterial blood and core temperature (ablation.md §1: COMSOL, k-Wave, RFA-tutorial).
BODY_TEMPERATURE_C = 37.0


@dataclass(frozen=True)
class TissueBlock:
    """A uniform block of one tissue, as in bench studies.

    Parameters
    ----------
    tissue : str, default: "muscle"
        A tissue id of :data:`simulator.tissues.TISSUES` (not air).
    perfused : bool, default: True
        Blood perfusion on (in vivo) or off (ex vivo, bench studies such as Cosman 2014).
    temperature_c : float, default: 37.0
        Starting (bath) temperature and, when perfused, the blood temperature, °C (15 to 40).
    """

    tissue: str = "muscle"
    perfused: bool = True
    temperature_c: float = BODY_TEMPERATURE_C

    def __post_init__(self) -> None:
        tissue(self.tissue)  # unknown ids: an error naming the known ones
        if self.tissue == OUTSIDE:
            raise ParameterError("tissue", self.tissue, "a body tissue: " + ", ".join(t for t in TISSUES if t != OUTSIDE))
        check_range(self.temperature_c, "temperature_c", 15.0, 40.0, "°C")


#: Where a lesion is made: the patient or a bench block.
Site = Union[Scene, TissueBlock]


@dataclass(frozen=True, eq=False)
class TissueMap:
    """Tissue at every node of a grid.

    Parameters
    ----------
    labels : numpy.ndarray, shape grid.shape, uint8
        Index into ``tissue_ids`` at each node.
    tissue_ids : tuple of str
        Tissue ids present.
    perfused : bool
        Whether blood perfusion is on.
    baseline_c : float
        Starting temperature of the tissue and temperature of arterial blood, °C.
    """

    labels: np.ndarray
    tissue_ids: tuple[str, ...]
    perfused: bool
    baseline_c: float

    def table(self, values_by_tissue: dict[str, float]) -> np.ndarray:
        """A per-tissue value as an array indexed like ``tissue_ids`` (float64)."""
        return np.array([values_by_tissue[t] for t in self.tissue_ids], dtype=float)

    def volume_fraction(self, tissue_id: str) -> float:
        """Fraction of the grid's nodes in ``tissue_id``."""
        if tissue_id not in self.tissue_ids:
            return 0.0
        return float(np.mean(self.labels == self.tissue_ids.index(tissue_id)))


def tissue_map(site: Site, grid: LesionGrid, *, perfused: bool | None = None) -> TissueMap:
    """The tissue at every node of ``grid``, from a scene or a block.

    ``perfused`` switches blood perfusion on or off; None keeps the site's own (a block's flag;
    the patient is perfused).
    """
    if isinstance(site, TissueBlock):
        flow = site.perfused if perfused is None else bool(perfused)
        return TissueMap(np.zeros(grid.shape, dtype=np.uint8), (site.tissue,), flow, site.temperature_c)
    if not isinstance(site, Scene):
        raise ParameterError("site", type(site).__name__, "a Scene or a TissueBlock")
    names = site.tissue_at(grid.node_points_mm())
    tissue_ids = tuple(sorted(set(names)))
    index = {name: i for i, name in enumerate(tissue_ids)}
    labels = np.fromiter((index[name] for name in names), dtype=np.uint8, count=len(names)).reshape(grid.shape)
    return TissueMap(labels, tissue_ids, True if perfused is None else bool(perfused), BODY_TEMPERATURE_C)
