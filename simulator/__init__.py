"""Rhizosim: a simulator for training lumbar rhizotomy under fluoroscopy.

The core (anatomy, scene, needle, fluoroscopy, targeting, ablation, scenario, session,
scoring) never imports Qt; the desktop GUI lives in :mod:`simulator.gui`.

All coordinates are millimetres in one patient frame: LPS (x to the patient's left, y
posterior, z superior), patient prone, origin at the centre of the L3 vertebral body.
"""

__version__ = "0.1.0"
