"""Fluoroscopy shots as PNG files, optionally with a caption strip and landmark marks (Pillow, no Qt).

The shot itself is saved pixel for pixel (the monitor's image, marker burned in); a caption
under it names the pose and the dose, and named points can be ringed for debriefing pictures.
"""

from __future__ import annotations

from pathlib import Path

from simulator.fluoro.fluoroscope import Shot
from simulator.fluoro.projection import project_points

__all__ = ["save_shot", "caption_for"]


def caption_for(shot: Shot, extra: str = "") -> str:
    """One line naming the pose, the technique and this exposure's dose."""
    t = shot.exposure.technique
    text = (f"{shot.projection.pose.describe()} | {t.kvp:g} kV {t.tube_current_ma:.1f} mA {t.pulse_width_ms:g} ms | "
            f"{shot.dose.air_kerma_mgy:.3f} mGy, {shot.dose.dap_gy_cm2 * 1000:.2f} mGy cm2")
    return f"{text} | {extra}" if extra else text


def save_shot(shot: Shot, path: str | Path, *, caption: str | None = None,
              marks: dict[str, object] | None = None) -> Path:
    """Write ``shot`` to ``path`` (PNG) and return the path.

    Parameters
    ----------
    shot : Shot
        The frame.
    path : str or Path
        Output file; folders are created.
    caption : str, optional
        Text for a strip under the image (the image itself is left untouched).
    marks : dict of str to array_like, optional
        Points (mm, patient frame) to ring and label on the picture, e.g. a target landmark.
    """
    from PIL import Image, ImageDraw, ImageFont

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(shot.to_uint8()).convert("RGB")
    size = picture.width
    font = ImageFont.load_default(size=max(11, size // 45))
    if marks:
        draw = ImageDraw.Draw(picture)
        radius = max(4, size // 64)
        for label, point in marks.items():
            row, col = project_points(shot.projection, point)[0]
            draw.ellipse([col - radius, row - radius, col + radius, row + radius], outline=(255, 0, 255), width=2)
            draw.text((col + radius + 2, row - radius), label, fill=(255, 0, 255), font=font)
    if caption:
        line_height = int(font.size * 1.6)
        lines = _wrap(caption, font, size - 8)
        framed = Image.new("RGB", (size, size + line_height * len(lines) + 6), (0, 0, 0))
        framed.paste(picture, (0, 0))
        draw = ImageDraw.Draw(framed)
        for index, line in enumerate(lines):
            draw.text((4, size + 3 + index * line_height), line, fill=(230, 230, 230), font=font)
        picture = framed
    picture.save(path)
    return path


def _wrap(text: str, font, width_px: int) -> list[str]:
    """Split ``text`` at " | " and spaces so each line fits ``width_px``."""
    lines: list[str] = []
    for part in text.split(" | "):
        candidate = f"{lines[-1]} | {part}" if lines else part
        if lines and font.getlength(candidate) <= width_px:
            lines[-1] = candidate
        elif font.getlength(part) <= width_px:
            lines.append(part)
        else:
            words, line = part.split(), ""
            for word in words:
                trial = f"{line} {word}".strip()
                if line and font.getlength(trial) > width_px:
                    lines.append(line)
                    line = word
                else:
                    line = trial
            lines.append(line)
    return lines if lines else [""]
