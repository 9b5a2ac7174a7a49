"""``rhizosim lesion``: make one lesion from the command line and print its figures.

In a uniform block (``--tissue muscle``, ``--ex-vivo`` for a bench study without perfusion) or,
with ``--target medial_branch_L4_right``, at a needle placed in the default patient by the
textbook approach (:mod:`simulator.approach`). ``--json`` prints the result's figures
(mm, mm³, s) and the time the model took; ``--out lesion.png`` saves the mid-plane map (and,
in the patient, ``lesion_3d.png`` beside it).

Examples
--------
::

    rhizosim lesion --modality rf --gauge 18 --tip-mm 10 --temp-c 80 --time-s 90 --tissue muscle --ex-vivo
    rhizosim lesion --modality cryo --temp-c -70 --time-s 90 --thaw-s 30 --cycles 2 --target medial_branch_L4_right
    rhizosim lesion --modality chemical --agent phenol --volume-ml 0.5 --json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_lesion_arguments", "run_lesion"]

#: The option a user typed for each settings parameter, to name it in errors.
_FLAGS = {"set_temperature_c": "--temp-c", "probe_temperature_c": "--temp-c", "duration_s": "--time-s",
          "freeze_s": "--time-s", "observe_s": "--time-s", "ramp_s": "--ramp-s", "repeats": "--cycles",
          "cycles": "--cycles", "thaw_s": "--thaw-s", "volume_ml": "--volume-ml", "concentration_pct": "--concentration-pct",
          "temperature_c": "--bath-c", "tissue": "--tissue", "spacing_mm": "--spacing-mm"}

_DEFAULTS = {"rf": {"gauge": 18, "temp_c": 80.0, "time_s": 90.0},
             "cryo": {"gauge": 14, "temp_c": -70.0, "time_s": 90.0},
             "chemical": {"gauge": 22, "temp_c": None, "time_s": 1800.0}}


def add_lesion_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``rhizosim lesion``."""
    parser.add_argument("--modality", choices=("rf", "cryo", "chemical"), default="rf", help="how (default %(default)s)")
    parser.add_argument("--gauge", type=int, default=None, help="needle gauge: RF 16/18/20/22 (18), cryo 14/16 (14)")
    parser.add_argument("--tip-mm", type=int, default=10, help="RF active tip, mm: 5, 10 or 15 (default %(default)s)")
    parser.add_argument("--temp-c", type=float, default=None,
                        help="RF set temperature (60-90 °C, default 80; pulsed 38-42) or cryoprobe temperature (-89 to -40 °C, default -70)")
    parser.add_argument("--time-s", type=float, default=None,
                        help="RF time per cycle (10-600 s, default 90), cryo freeze per cycle (10-300 s, default 90), "
                             "chemical observation (60-7200 s, default 1800)")
    parser.add_argument("--ramp-s", type=float, default=10.0, help="RF ramp to the set temperature, s (default %(default)s)")
    parser.add_argument("--pulsed", action="store_true", help="pulsed RF (mean tip temperature, at most 42 °C)")
    parser.add_argument("--cycles", type=int, default=None, help="RF cycles (1-3, default 1) or cryo freeze-thaw cycles (1-3, default 2)")
    parser.add_argument("--thaw-s", type=float, default=30.0, help="cryo thaw per cycle, s (default %(default)s)")
    parser.add_argument("--agent", choices=("ethanol", "phenol"), default="ethanol", help="chemical agent (default %(default)s)")
    parser.add_argument("--volume-ml", type=float, default=0.5, help="injected volume, mL (0.1-3, default %(default)s)")
    parser.add_argument("--concentration-pct", type=float, default=None,
                        help="injected concentration, %% (ethanol 35-100, default 95; phenol 3-8, default 6)")
    parser.add_argument("--tissue", default="muscle", help="tissue of the block (default %(default)s)")
    parser.add_argument("--ex-vivo", action="store_true", help="no blood perfusion (a bench study; in the patient too)")
    parser.add_argument("--bath-c", type=float, default=37.0, help="starting temperature of the block, °C (default %(default)s)")
    parser.add_argument("--target", default=None,
                        help="lesion at the textbook needle for this nerve in the patient (e.g. medial_branch_L4_right) "
                             "instead of a block")
    parser.add_argument("--anatomy", default=None, help="anatomy folder (default: the default patient)")
    parser.add_argument("--spacing-mm", type=float, default=None, help="grid spacing, mm (default: the modality's)")
    parser.add_argument("--out", default=None, help="save the mid-plane picture (PNG)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _named_by_flag(error):
    """The same error, naming the command-line option."""
    from simulator.errors import ParameterError

    flag = _FLAGS.get(error.name)
    return ParameterError(f"{flag} ({error.name})", error.value, error.allowed) if flag else error


def _settings(args: argparse.Namespace):
    from simulator.errors import ParameterError

    try:
        return _settings_from(args)
    except ParameterError as error:
        raise _named_by_flag(error) from None


def _settings_from(args: argparse.Namespace):
    from simulator.ablation import ChemicalSettings, CryoSettings, RFSettings

    defaults = _DEFAULTS[args.modality]
    temperature = defaults["temp_c"] if args.temp_c is None else args.temp_c
    duration = defaults["time_s"] if args.time_s is None else args.time_s
    if args.modality == "rf":
        if args.pulsed and args.temp_c is None:
            temperature = 42.0
        return RFSettings(temperature, duration, args.ramp_s, pulsed=args.pulsed, repeats=args.cycles or 1)
    if args.modality == "cryo":
        return CryoSettings(cycles=((duration, args.thaw_s),) * (args.cycles or 2), probe_temperature_c=temperature)
    return ChemicalSettings(args.agent, args.volume_ml, args.concentration_pct, duration)


def _device_id(args: argparse.Namespace, in_patient: bool) -> str:
    gauge = args.gauge or _DEFAULTS[args.modality]["gauge"]
    if args.modality == "rf":
        return f"rf_{gauge}g_{150 if in_patient else 100}mm_{args.tip_mm}mm"
    if args.modality == "cryo":
        return f"cryo_{gauge}g_100mm"
    return f"spinal_22g_{127 if in_patient else 89}mm"


def run_lesion(args: argparse.Namespace) -> int:
    """Make the lesion ``args`` describe, print it (or its JSON), save pictures; exit code 0."""
    from simulator.ablation import TissueBlock, block_needle, chemical_lesion, cryo_lesion, rf_lesion
    from simulator.devices import device
    from simulator.errors import ParameterError

    settings = _settings(args)
    in_patient = args.target is not None
    device_id = _device_id(args, in_patient)
    device(device_id)  # an unknown gauge or tip gets the closest ids
    if in_patient:
        from simulator.approach import place_needle, textbook_approach
        from simulator.scene import Scene

        scene = Scene.load(args.anatomy)
        scene.structure(args.target)
        needle, events = place_needle(scene, textbook_approach(args.target), device_id=device_id)
        site, placement = scene, events[-1].message
    else:
        scene = None
        try:
            site = TissueBlock(args.tissue, perfused=not args.ex_vivo, temperature_c=args.bath_c)
        except ParameterError as error:
            raise _named_by_flag(error) from None
        needle, placement = block_needle(device_id), None
    model = {"rf": rf_lesion, "cryo": cryo_lesion, "chemical": chemical_lesion}[args.modality]
    options = {} if args.spacing_mm is None else {"spacing_mm": args.spacing_mm}
    try:
        result = model(site, needle, settings, target_id=args.target, perfused=not args.ex_vivo, **options)
    except ParameterError as error:
        raise _named_by_flag(error) from None
    pictures = []
    if args.out:
        from simulator.report.lesion_views import render_lesion_in_scene, render_lesion_plane

        out = Path(args.out)
        pictures.append(str(render_lesion_plane(result, out, scene=scene)))
        if in_patient:
            pictures.append(str(render_lesion_in_scene(scene, needle, result, out.with_name(f"{out.stem}_3d{out.suffix}"))))
    if args.json:
        info = {"device": device_id, "placement": placement, **result.to_dict(), "time_taken_s": round(result.elapsed_s, 3),
                "pictures": pictures}
        print(json.dumps(info, indent=1, ensure_ascii=False))
        return 0
    size = result.size
    print(f"{args.modality} lesion with {needle.model.description}" + (f" ({placement})" if placement else ""))
    print(f"  volume {size.volume_mm3:.0f} mm³, length {size.length_mm:.1f} mm, width {size.width_mm:.1f} mm; reach "
          f"{size.radial_reach_mm:.1f} mm beyond the probe, {size.distal_reach_mm:.1f} mm beyond the tip")
    for zone in result.zones.values():
        print(f"  {zone.description}: {zone.size.volume_mm3:.0f} mm³, width {zone.size.width_mm:.1f} mm, "
              f"length {zone.size.length_mm:.1f} mm")
    if result.target_length_mm is not None:
        print(f"  {result.target_id}: {result.target_length_mm:.1f} mm inside ({100 * result.target_fraction:.0f} % of the nerve)")
    if result.damaged_mm3:
        print("  damaged: " + ", ".join(f"{k} {v:.1f} mm³" for k, v in result.damaged_mm3.items()))
    grid = result.grid
    print(f"  grid {grid.shape[0]} × {grid.shape[1]} × {grid.shape[2]} nodes at {grid.spacing_mm:g} mm, {result.steps} steps "
          f"of at most {result.dt_s:.3g} s, {result.elapsed_s:.2f} s")
    print()
    print(result.report)
    for picture in pictures:
        print(f"picture: {picture}")
    return 0
