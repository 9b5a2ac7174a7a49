"""Procedural lumbar anatomy: parameters, morphometry and the patient generator."""

from simulator.anatomy.generator import GENERATOR_VERSION, Anatomy, generate_patient
from simulator.anatomy.parameters import PARAMETER_RANGES, PatientParameters

__all__ = ["Anatomy", "generate_patient", "PatientParameters", "PARAMETER_RANGES", "GENERATOR_VERSION"]
