"""CT volumes: NIfTI and DICOM series in Hounsfield units, label maps, and HU to attenuation.

:func:`read_ct` reads a NIfTI file (nibabel) or a folder holding one DICOM series (pydicom)
and returns a :class:`CTImage`: HU on the voxel grid and the affine to patient mm in **LPS**
(NIfTI's RAS world is turned into LPS once, here: ``LPS_from_RAS = diag(-1, -1, 1)``).
:func:`read_labels` places a label map on that grid. :class:`CTVolume` is what an imported
patient keeps; it converts HU to X-ray attenuation at any energy (:func:`hu_to_basis`).

**HU to attenuation.** By definition HU = 1000 (μ/μ_water − 1) at the CT's effective energy;
a 120 kV CT beam behind 20 cm of tissue has 70 keV (``shared/reference/fluoroscopy.md`` §2,
effective-energy table). Each voxel is taken as a mixture of two basis materials of
:mod:`simulator.tissues`, matched at 70 keV: below soft tissue's HU (+51), air and soft tissue;
above it, soft tissue and cortical bone (ICRU-44, whose HU at 70 keV is +1590). The fractions
then give μ at the fluoroscope's energy, so bone darkens and soft tissue lightens with kV as
they should. Cancellous bone of the tissue table (17 % cortical) comes out at +300 HU.

Every problem raises :class:`~simulator.errors.AssetError` naming the file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.errors import AssetError

__all__ = ["CTImage", "CTVolume", "read_ct", "read_labels", "hu_to_basis", "hu_of", "CT_ENERGY_KEV",
           "LPS_FROM_RAS", "TOTALSEGMENTATOR"]

#: Effective energy of a 120 kV CT beam behind 20 cm of tissue (fluoroscopy.md §2), keV.
CT_ENERGY_KEV = 70.0
#: NIfTI world (RAS+) to the patient frame (LPS+).
LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
#: TotalSegmentator v2 "total" classes used here (the shared data's README lists 30-33, 52, 63,
#: 79, 86, 87; the others from the same class map).
TOTALSEGMENTATOR: dict[int, tuple[str, str]] = {
    25: ("sacrum", "sacrum"), 27: ("L5", "vertebra"), 28: ("L4", "vertebra"), 29: ("L3", "vertebra"),
    30: ("L2", "vertebra"), 31: ("L1", "vertebra"), **{32 + i: (f"T{12 - i}", "vertebra") for i in range(12)},
    52: ("aorta", "artery"), 63: ("inferior_vena_cava", "vein"), 79: ("spinal_cord", "spinal_cord"),
    86: ("paraspinal_left", "muscle"), 87: ("paraspinal_right", "muscle"), 88: ("psoas_left", "muscle"),
    89: ("psoas_right", "muscle"),
}


@dataclass(frozen=True, eq=False)
class CTImage:
    """A CT as read: HU and the voxel-to-patient affine (mm, LPS).

    Parameters
    ----------
    hu : numpy.ndarray, shape (ni, nj, nk), int16
        Hounsfield units, indexed ``[i, j, k]``.
    patient_from_index : numpy.ndarray, shape (4, 4)
        Voxel ``[i, j, k]``'s centre is at ``patient_from_index @ (i, j, k, 1)`` (mm, LPS).
    path : Path
        The file or folder read.
    kvp : float or None
        Tube voltage, when the file says (DICOM).
    """

    hu: np.ndarray
    patient_from_index: np.ndarray
    path: Path
    kvp: float | None = None

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in np.linalg.norm(self.patient_from_index[:3, :3], axis=0))


def _check_affine(affine: np.ndarray, path: Path) -> np.ndarray:
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    if not np.all(np.isfinite(affine)) or np.any(spacing <= 1e-6) or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise AssetError(path, f"CT has no usable voxel spacing (spacing {np.round(spacing, 4).tolist()} mm); "
                               "the file must give positive voxel sizes and an orientation")
    return affine


def _stored_pixdim(path: Path) -> np.ndarray | None:
    """The voxel sizes as stored in the NIfTI header (nibabel replaces zeros by 1 on loading)."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            header = stream.read(540)
    except OSError:
        return None
    for order in ("<", ">"):
        size = int(np.frombuffer(header[:4], dtype=f"{order}i4")[0]) if len(header) >= 4 else 0
        if size == 348 and len(header) >= 108:
            return np.frombuffer(header[76:108], dtype=f"{order}f4")[1:4].astype(float)
        if size == 540 and len(header) >= 168:
            return np.frombuffer(header[104:168], dtype=f"{order}f8")[1:4].astype(float)
    return None


def _read_nifti(path: Path) -> CTImage:
    import nibabel as nib

    stored = _stored_pixdim(path)
    if stored is not None and (np.any(~np.isfinite(stored)) or np.any(stored <= 0)):
        raise AssetError(path, f"CT has no usable voxel spacing (pixdim {stored.tolist()} mm in its header); the file "
                               "must give positive voxel sizes")

    try:
        image = nib.load(str(path))
        data = np.asanyarray(image.dataobj)
    except Exception as error:  # nibabel raises many types for damaged files
        raise AssetError(path, f"cannot read NIfTI ({type(error).__name__}: {error})") from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3 or min(data.shape) < 2:
        raise AssetError(path, f"CT must be a 3-D volume, at least 2 voxels a side (shape {data.shape})")
    zooms = np.asarray(image.header.get_zooms()[:3], dtype=float)
    if np.any(~np.isfinite(zooms)) or np.any(zooms <= 0):
        raise AssetError(path, f"CT has no usable voxel spacing (pixdim {zooms.tolist()} mm); the file must give "
                               "positive voxel sizes")
    affine = LPS_FROM_RAS @ np.asarray(image.affine, dtype=float)
    return CTImage(np.asarray(np.clip(np.round(data), -1024, 32767), dtype=np.int16), _check_affine(affine, path), path)


def _read_dicom_series(folder: Path) -> CTImage:
    import pydicom

    slices = []
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            ds = pydicom.dcmread(str(file))
        except Exception:  # not a DICOM file: a README, a DICOMDIR index; skipped
            continue
        if "PixelData" in ds:
            slices.append((file, ds))
    if not slices:
        raise AssetError(folder, "no DICOM image in this folder",
                         "a CT folder holds one DICOM series; a mesh patient's folder, mesh files (.stl, .obj, ...) "
                         "and optionally patient.toml")
    series = {str(ds.get("SeriesInstanceUID", "")) for _, ds in slices}
    if len(series) > 1:
        raise AssetError(folder, f"the folder holds {len(series)} DICOM series; put one series in a folder")
    for file, ds in slices:
        for tag in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
            if tag not in ds or ds.get(tag) in (None, ""):
                raise AssetError(file, f"DICOM slice lacks {tag}: the CT has no usable voxel spacing or position")
    orientation = np.array(slices[0][1].ImageOrientationPatient, dtype=float)
    row, column = orientation[:3], orientation[3:]
    normal = np.cross(row, column)
    positions = np.array([np.array(ds.ImagePositionPatient, dtype=float) for _, ds in slices])
    order = np.argsort(positions @ normal)
    slices, positions = [slices[i] for i in order], positions[order]
    gaps = np.diff(positions @ normal)
    if len(slices) > 1 and (np.any(gaps <= 1e-3) or np.ptp(gaps) > 0.01 * max(abs(gaps.mean()), 1e-6) + 1e-3):
        raise AssetError(folder, f"DICOM slices are not evenly spaced (gaps {np.round(gaps, 3).tolist()} mm)")
    rows, spacing = slices[0][1], np.array(slices[0][1].PixelSpacing, dtype=float)
    if np.any(spacing <= 0):
        raise AssetError(slices[0][0], f"PixelSpacing {spacing.tolist()} is not positive")
    step = float(gaps.mean()) if len(slices) > 1 else float(rows.get("SliceThickness", 0) or 0)
    if step <= 0:
        raise AssetError(folder, "a single DICOM slice without SliceThickness: no slice spacing")
    arrays = []
    for file, ds in slices:
        try:
            pixels = ds.pixel_array.astype(np.float64)
        except Exception as error:
            raise AssetError(file, f"cannot decode the DICOM pixels ({type(error).__name__}: {error})") from None
        arrays.append(pixels * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0))
    # DICOM pixel (r, c) is at position + c * spacing[1] * row + r * spacing[0] * column: index
    # the volume [c, r, slice] so i runs along the row direction.
    volume = np.stack([a.T for a in arrays], axis=2)
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2] = row * spacing[1], column * spacing[0], normal * step
    affine[:3, 3] = positions[0]
    kvp = float(rows.KVP) if "KVP" in rows and rows.KVP not in (None, "") else None
    return CTImage(np.clip(np.round(volume), -1024, 32767).astype(np.int16), _check_affine(affine, folder), folder, kvp)


def read_ct(path: str | Path) -> CTImage:
    """Read a CT: a NIfTI file (``.nii``, ``.nii.gz``) or a folder of one DICOM series.

    Raises
    ------
    AssetError
        If it is missing, unreadable, not 3-D, without voxel spacing or position, or its
        slices are uneven.
    """
    path = Path(path)
    if not path.exists():
        raise AssetError(path, "CT file or folder is missing")
    if path.is_dir():
        return _read_dicom_series(path)
    if path.name.lower().endswith((".nii", ".nii.gz")):
        return _read_nifti(path)
    raise AssetError(path, "unknown CT format; allowed: a .nii or .nii.gz file, or a folder of DICOM slices")


#: Fraction of a label map's vertebra voxels that must be bone (HU >= 150) where it is placed.
_ON_BONE = 0.35


def _bone_agreement(hu: np.ndarray, labels: np.ndarray, offset: int, axis: int) -> float:
    vertebra = np.isin(labels, [k for k, (_, kind) in TOTALSEGMENTATOR.items() if kind in ("vertebra", "sacrum")])
    if not vertebra.any():
        return 1.0
    window = [slice(None)] * 3
    window[axis] = slice(offset, offset + labels.shape[axis])
    return float(np.mean(hu[tuple(window)][vertebra] >= 150))


def read_labels(path: str | Path, ct: CTImage, *, slice_offset: int | None = None) -> tuple[np.ndarray, dict]:
    """A label map (NIfTI) placed on the CT's grid, and how it was placed.

    A map of the CT's shape and affine is taken as it is. A map that covers fewer slices (as
    TotalSegmentator's cropped outputs do) is placed along the slice axis at ``slice_offset``,
    by default where its affine says; its vertebra labels are then checked to lie on bone
    (HU ≥ 150 for at least 35 % of their voxels) and, if they do not, every offset is tried and
    the one that puts them on bone best is used (reported).

    Raises
    ------
    AssetError
        If the map's voxels are not the CT's (another spacing or orientation, or more voxels),
        or no placement puts its vertebrae on bone.
    """
    import nibabel as nib

    path = Path(path)
    if not path.is_file():
        raise AssetError(path, "label map is missing")
    try:
        image = nib.load(str(path))
        labels = np.asarray(image.dataobj)
    except Exception as error:
        raise AssetError(path, f"cannot read label map ({type(error).__name__}: {error})") from None
    labels = np.round(labels).astype(np.int32)
    affine = LPS_FROM_RAS @ np.asarray(image.affine, dtype=float)
    shape, ct_shape = labels.shape, ct.hu.shape
    if labels.ndim != 3 or not np.allclose(affine[:3, :3], ct.patient_from_index[:3, :3], atol=1e-3):
        raise AssetError(path, f"label map of shape {shape} with voxels {np.round(np.linalg.norm(affine[:3, :3], axis=0), 3).tolist()} mm "
                               f"does not lie on the CT's grid (shape {ct_shape}, voxels {np.round(ct.spacing_mm, 3).tolist()} mm, "
                               "same orientation): resample it onto the CT")
    differ = [a for a in range(3) if shape[a] != ct_shape[a]]
    if not differ:
        offset_index = np.linalg.solve(ct.patient_from_index[:3, :3], affine[:3, 3] - ct.patient_from_index[:3, 3])
        if np.abs(offset_index).max() > 1e-2:
            raise AssetError(path, f"label map is shifted by {np.round(offset_index, 2).tolist()} voxels from the CT")
        return labels, {"placement": "same grid as the CT", "on_bone_fraction": round(_bone_agreement(ct.hu, labels, 0, 2), 3)}
    if len(differ) > 1 or shape[differ[0]] > ct_shape[differ[0]]:
        raise AssetError(path, f"label map of shape {shape} does not fit the CT of shape {ct_shape} (it may cover fewer "
                               "slices, not more, nor differ in-plane)")
    axis = differ[0]
    by_affine = np.linalg.solve(ct.patient_from_index[:3, :3], affine[:3, 3] - ct.patient_from_index[:3, 3])
    header_offset = int(round(by_affine[axis]))
    room = ct_shape[axis] - shape[axis]
    if slice_offset is not None:
        if not 0 <= slice_offset <= room:
            raise AssetError(path, f"slice offset {slice_offset} puts the label map outside the CT (allowed 0 to {room})")
        chosen, how = slice_offset, "given offset"
    else:
        chosen, how = header_offset, "its affine"
        if not 0 <= chosen <= room or _bone_agreement(ct.hu, labels, chosen, axis) < _ON_BONE:
            scores = [_bone_agreement(ct.hu, labels, o, axis) for o in range(room + 1)]
            best = int(np.argmax(scores))
            if scores[best] < _ON_BONE:
                raise AssetError(path, f"no placement puts the label map's vertebrae on bone in the CT (best: "
                                       f"{scores[best]:.0%} of their voxels at HU >= 150); it is not this CT's")
            chosen, how = best, "searched: its affine put its vertebrae off bone"
    agreement = _bone_agreement(ct.hu, labels, chosen, axis)
    placed = np.zeros(ct_shape, dtype=np.int32)
    window = [slice(None)] * 3
    window[axis] = slice(chosen, chosen + shape[axis])
    placed[tuple(window)] = labels
    info = {"placement": f"slices {chosen}-{chosen + shape[axis] - 1} of the CT's {ct_shape[axis]} ({how})",
            "slice_offset": chosen, "offset_by_affine": header_offset,
            "on_bone_fraction": round(agreement, 3),
            "on_bone_fraction_by_affine": round(_bone_agreement(ct.hu, labels, header_offset, axis), 3)
            if 0 <= header_offset <= room else None}
    return placed, info


def _mu(tissue_id: str, energy_kev: float) -> float:
    from simulator.tissues import attenuation_per_mm

    return attenuation_per_mm(tissue_id, energy_kev)


def hu_of(tissue_id: str, ct_energy_kev: float = CT_ENERGY_KEV) -> float:
    """The HU a tissue of :mod:`simulator.tissues` has at the CT's energy (water: CSF's row).

    Examples
    --------
    >>> round(hu_of("cortical_bone"))
    1590
    """
    water = _mu("csf", ct_energy_kev)
    return 1000.0 * (_mu(tissue_id, ct_energy_kev) / water - 1.0)


def hu_to_basis(hu: np.ndarray, ct_energy_kev: float = CT_ENERGY_KEV) -> tuple[np.ndarray, np.ndarray]:
    """Soft-tissue and cortical-bone fractions of each voxel (float32 arrays, shape of ``hu``).

    Below soft tissue's HU a voxel is air and soft tissue (soft fraction 0 to 1, no bone); above
    it, soft tissue and cortical bone (soft fraction 1, bone fraction from 0 at soft tissue to 1
    at cortical bone, more for denser material). μ at energy E is then
    ``μ_air + soft · (μ_soft − μ_air) + bone · (μ_cortical − μ_soft)``.
    """
    water = _mu("csf", ct_energy_kev)
    mu = water * (1.0 + np.asarray(hu, dtype=np.float32) / 1000.0)
    air, soft, bone = (_mu(t, ct_energy_kev) for t in ("air", "soft_tissue", "cortical_bone"))
    soft_fraction = np.clip((mu - air) / (soft - air), 0.0, 1.0).astype(np.float32)
    bone_fraction = np.maximum((mu - soft) / (bone - soft), 0.0).astype(np.float32)
    return soft_fraction, bone_fraction


@dataclass(frozen=True, eq=False)
class CTVolume:
    """An imported patient's CT: HU (outside the body set to air) in the patient frame.

    Parameters
    ----------
    hu : numpy.ndarray, shape (ni, nj, nk), int16
        Hounsfield units.
    patient_from_index : numpy.ndarray, shape (4, 4)
        Voxel centres in the patient frame (mm, LPS, the imported patient's origin).
    """

    hu: np.ndarray
    patient_from_index: np.ndarray

    def center_mm(self) -> np.ndarray:
        """The centre of the volume in the patient frame, mm."""
        return (self.patient_from_index @ np.append((np.asarray(self.hu.shape) - 1) / 2.0, 1.0))[:3]

    def attenuation(self):
        """The volume for fluoroscopy (:class:`simulator.fluoro.volume.MaterialVolume`)."""
        from simulator.fluoro.volume import MaterialVolume

        soft, bone = hu_to_basis(self.hu)
        return MaterialVolume({"soft_tissue": soft, "cortical_bone": bone}, self.patient_from_index)

    def save(self, path: str | Path) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, hu=self.hu.astype(np.int16), patient_from_index=self.patient_from_index)
        Path(path).write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path, data: bytes | None = None) -> "CTVolume":
        path = Path(path)
        try:
            arrays = np.load(io.BytesIO(data if data is not None else path.read_bytes()))
            return cls(arrays["hu"].astype(np.int16), np.asarray(arrays["patient_from_index"], dtype=float))
        except Exception as error:
            raise AssetError(path, f"cannot read the CT volume ({type(error).__name__}: {error})") from None
