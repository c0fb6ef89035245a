"""QR cards for a whole import: one PNG per patient, the QR code with a caption a coordinator can hand out
(study ID, until when the link works, and what to do, in each of the bot's languages: the patient has not
chosen one yet)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import qrcode
from noto_cjk_sans_otc import FONT_PATH as NOTO_SANS_CJK
from PIL import Image, ImageDraw, ImageFont

from bot.i18n import N_, gettext_for, languages
from bot.services.errors import DomainError

INSTRUCTIONS = N_("Scan with your phone's camera, open it in Telegram and tap Start.")
LINK_VALID_UNTIL = N_("Link valid until {until}")
SIMPLIFIED_CHINESE = 2  # the face of Noto Sans CJK's collection with simplified Chinese glyph shapes


def chinese_font(size: int) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC, shipped as a Python package (noto-cjk-sans-otc): no system font is needed."""
    return ImageFont.truetype(str(NOTO_SANS_CJK), size, index=SIMPLIFIED_CHINESE)


def check_qr_dir(folder: Path) -> None:
    """Refuse a folder that cannot take the cards before anything is written to the database."""
    if not folder.is_dir():
        raise DomainError(f"--qr-dir: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise DomainError(f"--qr-dir: folder {folder} is not writable")


def write_qr_card(link: str, path: Path, *, study_id: str, valid_until: str) -> None:
    """The QR code with its caption below, written atomically."""
    code = qrcode.make(link, box_size=8, border=4).get_image().convert("RGB")
    title, text = chinese_font(28), chinese_font(18)
    until = valid_until.removeprefix("valid until ")
    lines = [(study_id, title)]
    lines += [(gettext_for(language)(LINK_VALID_UNTIL).format(until=until), text) for language in languages()]
    lines += [(gettext_for(language)(INSTRUCTIONS), text) for language in languages()]
    width = max(code.width, *(int(font.getlength(line)) + 40 for line, font in lines))
    height = code.height + sum(font.size + 12 for _line, font in lines) + 20
    card = Image.new("RGB", (width, height), "white")
    card.paste(code, ((width - code.width) // 2, 0))
    draw = ImageDraw.Draw(card)
    y = code.height
    for line, font in lines:
        draw.text(((width - font.getlength(line)) / 2, y), line, fill="black", font=font)
        y += font.size + 12
    handle, temporary = tempfile.mkstemp(suffix=".png", dir=path.resolve().parent)
    os.close(handle)
    try:
        card.save(temporary)
        Path(temporary).replace(path)
    finally:
        Path(temporary).unlink(missing_ok=True)
