"""Writing a CT as a DICOM series (for the tests of the DICOM reader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_dicom_series(hu: np.ndarray, patient_from_index: np.ndarray, folder: Path, *, drop: tuple[str, ...] = ()) -> Path:
    """One DICOM file per slice ``k`` of ``hu`` (indexed [i, j, k], i along the image rows' direction),
    placed by ``patient_from_index`` (mm, LPS); the tags in ``drop`` are left out."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    series, study = generate_uid(), generate_uid()
    row, column = patient_from_index[:3, 0], patient_from_index[:3, 1]
    spacing = [float(np.linalg.norm(column)), float(np.linalg.norm(row))]
    for k in range(hu.shape[2]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.InstanceNumber = "CT", series, study, k + 1
        ds.KVP = "120"
        ds.ImagePositionPatient = [float(v) for v in patient_from_index[:3, :3] @ [0, 0, k] + patient_from_index[:3, 3]]
        ds.ImageOrientationPatient = [float(v) for v in (*(row / np.linalg.norm(row)), *(column / np.linalg.norm(column)))]
        ds.PixelSpacing = spacing
        ds.SliceThickness = float(np.linalg.norm(patient_from_index[:3, 2]))
        pixels = np.ascontiguousarray(hu[:, :, k].T.astype(np.int16))
        ds.Rows, ds.Columns = pixels.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, 0
        ds.PixelData = pixels.tobytes()
        for tag in drop:
            delattr(ds, tag)
        ds.save_as(folder / f"slice_{k:04d}.dcm", enforce_file_format=True)
    return folder
