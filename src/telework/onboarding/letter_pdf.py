"""Laying out handover letters as PDF pages with ReportLab (one letter or a batch of them).

ReportLab's platypus flows the text (its line breaking is fast enough for a county's 900
letters in seconds). The fonts are Debian's DejaVu (package fonts-dejavu-core), embedded as
subsets, so umlauts, ß, Turkish and Polish names print on any printer. The QR code is drawn
as vector squares from segno's matrix, the same encoder `telework person enroll` uses for
its PNG: sharp at any printer resolution, and no image of the seed is written on its own.

Footers say "page x of y" per letter, so a printed stack of batch letters can be sorted
back. They are drawn when the document is saved (`_LetterCanvas` keeps the pages until
then), which is also where a letter with an odd number of pages gets a blank back page in
`duplex` mode: no letter starts on the back of someone else's sheet (a batch printed
double-sided would otherwise hand one person the next person's key).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from telework.core.problems import TeleworkError
from telework.onboarding.letter_texts import LetterTexts

#: Debian's fonts-dejavu-core: every Latin, Greek and Cyrillic letter.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONTS = {
    "TeleworkSans": "DejaVuSans.ttf",
    "TeleworkSans-Bold": "DejaVuSans-Bold.ttf",
    "TeleworkMono-Bold": "DejaVuSansMono-Bold.ttf",
}
#: Printed size of the QR code with its quiet zone; a phone camera reads it from 15-30 cm.
QR_SIZE = 44 * mm
QR_QUIET_MODULES = 4
LEFT, RIGHT, TOP, BOTTOM = 22 * mm, 20 * mm, 15 * mm, 20 * mm


class FontError(TeleworkError):
    """The fonts the letters embed are not installed."""


@dataclass(frozen=True)
class LetterLayout:
    """What the PDF layer needs of one letter (built and checked by `letters`)."""

    username: str
    name: str
    organisation: str
    language: str
    otpauth_uri: str | None
    qr_matrix: tuple[tuple[int, ...], ...] | None  # of the otpauth URI, computed once per letter
    items: list[str]
    sections: list[tuple[str, list[str]]]  # (heading, steps) after the authenticator's
    helpdesk_name: str
    helpdesk_lines: list[str]


def render(letters: Sequence[LetterLayout], when: date, *, duplex: bool) -> tuple[bytes, list[int]]:
    """The PDF of `letters` one after the other, and the page count of each (padding included)."""
    _register_fonts()
    styles = _styles()
    story: list[Flowable] = []
    for n, letter in enumerate(letters):
        if n:
            story.append(PageBreak())
        story.extend(_letter(LetterTexts(letter.language), letter, when, styles))
    buffer = io.BytesIO()
    first = letters[0]
    pages: list[int] = []
    doc = BaseDocTemplate(
        buffer, pagesize=A4, leftMargin=LEFT, rightMargin=RIGHT, topMargin=TOP, bottomMargin=BOTTOM,
        title=LetterTexts(first.language).text("document_title", username=first.username) if len(letters) == 1
        else None,
        author=first.organisation, creator="telework", lang=first.language,
        invariant=1, pageCompression=1)
    frame = Frame(LEFT, BOTTOM, A4[0] - LEFT - RIGHT, A4[1] - TOP - BOTTOM, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="letter", frames=[frame])])
    doc.build(story, canvasmaker=functools.partial(_LetterCanvas, duplex=duplex, pages=pages,
                                                   styles=styles))
    return buffer.getvalue(), pages


# ---------------------------------------------------------------- page bookkeeping


class _Mark(Flowable):
    """Zero-size marker at the top of a letter: tells the canvas whose pages follow."""

    def __init__(self, texts: LetterTexts, organisation: str, username: str):
        super().__init__()
        self.context = (texts, organisation, username)

    def wrap(self, available_width, available_height):
        return 0, 0

    def draw(self):
        self.canv.letter_context = self.context


class _LetterCanvas(rl_canvas.Canvas):
    """Keeps every page until save(), then draws each letter's "page x of y" footers and
    inserts the blank back pages of `duplex`; `pages` receives each letter's page count."""

    def __init__(self, *args, duplex: bool, pages: list[int], styles: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.letter_context = None
        self._saved: list[tuple[dict, tuple | None]] = []
        self._duplex = duplex
        self._pages_out = pages
        self._styles = styles

    def showPage(self):
        self._saved.append((dict(self.__dict__), self.letter_context))
        self._startPage()

    def save(self):
        runs: list[list[dict]] = []  # pages grouped by letter, in order
        contexts: list[tuple] = []
        for state, context in self._saved:
            if not runs or context is not contexts[-1]:
                runs.append([])
                contexts.append(context)
            runs[-1].append(state)
        for run, context in zip(runs, contexts):
            for number, state in enumerate(run, 1):
                self.__dict__.update(state)
                if context is not None:
                    self._footer(context, number, len(run))
                super().showPage()
            padded = len(run)
            if self._duplex and len(run) % 2 and context is not None:
                self._blank(context[0])
                super().showPage()
                padded += 1
            self._pages_out.append(padded)
        super().save()

    def _footer(self, context: tuple, page: int, pages: int) -> None:
        texts, organisation, username = context
        self.saveState()
        self.setFont("TeleworkSans", 8)
        self.setFillColor(colors.Color(0.35, 0.35, 0.35))
        self.drawCentredString(A4[0] / 2, 12 * mm, texts.text(
            "footer", organisation=organisation, username=username, page=page, pages=pages))
        self.restoreState()

    def _blank(self, texts: LetterTexts) -> None:
        self.saveState()
        self.setFont("TeleworkSans", 9)
        self.setFillColor(colors.Color(0.45, 0.45, 0.45))
        self.drawCentredString(A4[0] / 2, A4[1] / 2, texts.text("blank_page"))
        self.restoreState()


# ---------------------------------------------------------------- one letter


def _letter(texts: LetterTexts, letter: LetterLayout, when: date, st: dict) -> list[Flowable]:
    width = A4[0] - LEFT - RIGHT
    out: list[Flowable] = [_Mark(texts, letter.organisation, letter.username)]
    head = Table([[_p(texts.text("sender", organisation=letter.organisation), st["sender"]),
                   _p(when.strftime(texts.text("date_format")), st["date"])]],
                 colWidths=[width * 0.6, width * 0.4])
    head.setStyle(_NO_PADDING)
    out += [head, _p(texts.text("confidential"), st["confidential"]), Spacer(1, 4 * mm),
            _p(texts.text("title"), st["title"]),
            _p(texts.text("salutation", name=letter.name), st["body"]),
            _p(texts.text("intro"), st["body"]),
            _username_box(texts, letter.username, width, st),
            _p(texts.text("receive_heading"), st["heading"])]
    out += [_p(item, st["bullet"], bullet="•") for item in letter.items]

    number = 1
    if letter.otpauth_uri is not None and letter.qr_matrix is not None:
        out.append(_authenticator(texts, letter, number, width, st))
        number += 1
    for heading, steps in letter.sections:
        out.append(KeepTogether([_p(f"{number}. {heading}", st["heading"]), *_steps(steps, st)]))
        number += 1

    # help and the security notes side by side: most letters then fit on one sheet
    helpdesk = [_p(texts.text("helpdesk.heading"), st["heading"]), _p(texts.text("helpdesk.intro"), st["tight"]),
                _p(letter.helpdesk_name, st["strong"])]
    helpdesk += [_p(line, st["tight"]) for line in letter.helpdesk_lines]
    helpdesk += [Spacer(1, 2 * mm), _p(texts.text("helpdesk.identify", username=letter.username), st["body"])]
    security = [_p(texts.text("security.heading"), st["heading"])]
    security += [_p(point, st["bullet"], bullet="•") for point in texts.texts("security.points")]
    last = Table([[helpdesk, "", security]], colWidths=[(width - 8 * mm) / 2, 8 * mm, (width - 8 * mm) / 2])
    last.setStyle(_NO_PADDING)
    out.append(last)
    out.append(_p(texts.text("closing"), st["closing"]))
    return out


def _p(text: str, style: ParagraphStyle, bullet: str | None = None) -> Paragraph:
    """A paragraph of plain text: ReportLab reads markup, so every text is escaped first."""
    return Paragraph(escape(text), style, bulletText=bullet)


def _steps(steps: list[str], st: dict) -> list[Paragraph]:
    return [_p(step, st["step"], bullet=f"{n}.") for n, step in enumerate(steps, 1)]


_NO_PADDING = TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                          ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                          ("VALIGN", (0, 0), (-1, -1), "TOP")])


def _username_box(texts: LetterTexts, username: str, width: float, st: dict) -> Table:
    box = Table([[_p(texts.text("username_label"), st["label"]), _p(username, st["username"])],
                 [_p(texts.text("username_note"), st["small"]), ""]],
                colWidths=[40 * mm, width - 40 * mm])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.6, colors.Color(0.45, 0.45, 0.45)),
                             ("SPAN", (0, 1), (1, 1)), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                             ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm), ("TOPPADDING", (0, 0), (-1, 0), 2.5 * mm),
                             ("BOTTOMPADDING", (0, 1), (-1, 1), 2.5 * mm)]))
    box.spaceBefore, box.spaceAfter = 2 * mm, 3 * mm
    return box


def _authenticator(texts: LetterTexts, letter: LetterLayout, number: int, width: float, st: dict) -> Flowable:
    """The steps on the left, the QR code beside them, the key for typing in below."""
    steps = _steps(texts.texts("authenticator.steps", issuer=letter.organisation, username=letter.username), st)
    row = Table([[steps, _QrCode(letter.qr_matrix, QR_SIZE)]], colWidths=[width - QR_SIZE - 4 * mm,
                                                                          QR_SIZE + 4 * mm])
    row.setStyle(_NO_PADDING)
    return KeepTogether([
        _p(f"{number}. {texts.text('authenticator.heading')}", st["heading"]), row,
        _p(texts.text("authenticator.manual"), st["body"]),
        _p(_grouped_secret(letter.otpauth_uri), st["secret"]),
    ])


class _QrCode(Flowable):
    """The QR code as filled rectangles, one per horizontal run of dark modules."""

    def __init__(self, matrix: tuple[tuple[int, ...], ...], size: float):
        super().__init__()
        self._matrix = matrix
        self._size = size

    def __repr__(self) -> str:  # never the content: it is the seed
        return "_QrCode(...)"

    def wrap(self, available_width, available_height):
        return self._size, self._size

    def draw(self):
        count = len(self._matrix)
        module = self._size / (count + 2 * QR_QUIET_MODULES)
        canv = self.canv
        canv.setFillColor(colors.black)
        for r, row in enumerate(self._matrix):
            y = self._size - (QR_QUIET_MODULES + r + 1) * module
            c = 0
            while c < count:
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < count and row[c]:
                    c += 1
                # a hair of overlap downwards: no white seams between rows when rasterised
                canv.rect((QR_QUIET_MODULES + start) * module, y - module * 0.02, (c - start) * module,
                          module * 1.02, stroke=0, fill=1)


def qr_matrix(uri: str) -> tuple[tuple[int, ...], ...]:
    """The modules of the QR code of `uri` (error correction M, as `enrolment.qr_code`)."""
    return tuple(tuple(row) for row in segno.make(uri, error="m").matrix)


def _grouped_secret(uri: str) -> str:
    secret = parse_qs(urlsplit(uri).query).get("secret", [""])[0]
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# ---------------------------------------------------------------- fonts and styles


@functools.cache
def _register_fonts() -> None:
    for name, file in _FONTS.items():
        path = FONT_DIR / file
        try:
            pdfmetrics.registerFont(TTFont(name, str(path)))
        except (TTFError, OSError) as exc:
            raise FontError(f"cannot load the font {path} ({type(exc).__name__}): install the Debian package "
                            f"fonts-dejavu-core") from None


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName="TeleworkSans", fontSize=10, leading=13, spaceAfter=1.5 * mm)
    return {
        "body": body,
        "tight": ParagraphStyle("tight", parent=body, spaceAfter=0),
        "strong": ParagraphStyle("strong", parent=body, fontName="TeleworkSans-Bold", spaceAfter=0),
        "small": ParagraphStyle("small", parent=body, fontSize=9, leading=12, spaceAfter=0),
        "label": ParagraphStyle("label", parent=body, spaceAfter=0),
        "username": ParagraphStyle("username", fontName="TeleworkMono-Bold", fontSize=16, leading=20),
        "secret": ParagraphStyle("secret", fontName="TeleworkMono-Bold", fontSize=11, leading=15,
                                 spaceAfter=3 * mm),
        "sender": ParagraphStyle("sender", parent=body, fontName="TeleworkSans-Bold", fontSize=11, spaceAfter=0),
        "date": ParagraphStyle("date", parent=body, alignment=TA_RIGHT, spaceAfter=0),
        "confidential": ParagraphStyle("confidential", parent=body, fontName="TeleworkSans-Bold", fontSize=9,
                                       textColor=colors.Color(0.63, 0, 0), spaceBefore=1 * mm),
        "title": ParagraphStyle("title", fontName="TeleworkSans-Bold", fontSize=15, leading=19, spaceAfter=3 * mm),
        "heading": ParagraphStyle("heading", fontName="TeleworkSans-Bold", fontSize=12, leading=15,
                                  spaceBefore=2.5 * mm, spaceAfter=1.2 * mm, keepWithNext=1),
        "bullet": ParagraphStyle("bullet", parent=body, leftIndent=6 * mm, bulletIndent=1 * mm, spaceAfter=1 * mm),
        "step": ParagraphStyle("step", parent=body, leftIndent=7 * mm, bulletIndent=0,
                               bulletFontName="TeleworkSans-Bold", spaceAfter=1.2 * mm),
        "closing": ParagraphStyle("closing", parent=body, spaceBefore=3 * mm),
        "centre": ParagraphStyle("centre", parent=body, alignment=TA_CENTER),
    }
