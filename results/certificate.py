"""A finisher's certificate: one A4 landscape page, as PDF (fpdf2, pure Python).

Names come in every alphabet, so the text is set in DejaVu Sans when the machine has
it (Debian's ``fonts-dejavu-core``, installed in the image); without it, in the PDF's
built-in Helvetica, with letters it cannot show replaced by their closest Latin ones.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fpdf import FPDF

logger = logging.getLogger(__name__)

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
NAVY = (29, 53, 87)
BRAND = (228, 87, 46)
MUTED = (92, 103, 125)


@dataclass(frozen=True)
class Certificate:
    """What the page says."""

    athlete: str
    event: str
    race: str
    date: str  # as the venue writes it, "Sunday 12 April 2026"
    place: str
    distance: str  # "10 km", or ""
    time: str  # the chip time, "0:41:02"
    rank_line: str  # "12th of 340 finishers · 3rd woman · 1st F40"
    official: bool
    site: str


@cache
def _dejavu() -> Path | None:
    for folder in FONT_DIRS:
        if (folder / "DejaVuSans.ttf").exists() and (folder / "DejaVuSans-Bold.ttf").exists():
            return folder
    logger.warning("No DejaVu fonts: certificates use Helvetica (Latin letters only).")
    return None


# Letters Unicode does not decompose into a Latin one plus an accent.
_PLAIN = str.maketrans(
    {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe", "\u0131": "i"}
)


def _latin(text: str) -> str:
    """Text the built-in fonts can show: accents kept where Latin-1 has them."""
    out = []
    for char in text.translate(_PLAIN):
        if char.encode("latin-1", errors="ignore"):
            out.append(char)
        else:
            plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


class _Page(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        folder = _dejavu()
        self.face = "Helvetica"
        if folder is not None:
            self.add_font("DejaVu", "", folder / "DejaVuSans.ttf")
            self.add_font("DejaVu", "B", folder / "DejaVuSans-Bold.ttf")
            self.face = "DejaVu"

    def text_line(
        self,
        text: str,
        *,
        size: float,
        bold: bool = False,
        color: tuple[int, int, int] = NAVY,
        gap: float = 4,
        fit: bool = False,
    ) -> None:
        """A centred line; with ``fit``, made smaller (down to half) to stay on one line."""
        shown = text if self.face == "DejaVu" else _latin(text)
        self.set_font(self.face, "B" if bold else "", size)
        while fit and size > 16 and self.get_string_width(shown) > self.epw:
            size -= 2
            self.set_font(self.face, "B" if bold else "", size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.45, shown, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(gap)


def certificate_pdf(cert: Certificate) -> bytes:
    pdf = _Page()
    pdf.set_title(f"Certificate: {cert.athlete}, {cert.event}")
    pdf.set_author(cert.site)
    pdf.set_creator(cert.site)
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(24, 20, 24)
    pdf.add_page()
    # A frame in the brand's colours.
    pdf.set_draw_color(*NAVY)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_draw_color(*BRAND)
    pdf.set_line_width(0.4)
    pdf.rect(13, 13, pdf.w - 26, pdf.h - 26)
    pdf.set_y(40)
    pdf.text_line("CERTIFICATE OF ACHIEVEMENT", size=13, bold=True, color=BRAND, gap=8)
    pdf.text_line(cert.event, size=20, bold=True, gap=2, fit=True)
    pdf.text_line(f"{cert.date} · {cert.place}", size=11, color=MUTED, gap=12)
    pdf.text_line("This certifies that", size=12, color=MUTED, gap=2)
    pdf.text_line(cert.athlete, size=34, bold=True, gap=4, fit=True)
    distance = f" ({cert.distance})" if cert.distance else ""
    pdf.text_line(f"finished the {cert.race}{distance} in", size=12, color=MUTED, gap=2)
    pdf.text_line(cert.time, size=40, bold=True, color=BRAND, gap=4)
    if cert.rank_line:
        pdf.text_line(cert.rank_line, size=13, gap=4)
    pdf.set_y(pdf.h - 34)
    note = "Official results" if cert.official else "Provisional results: subject to change"
    pdf.text_line(f"{note} · {cert.site}", size=9, color=MUTED, gap=0)
    return bytes(pdf.output())
