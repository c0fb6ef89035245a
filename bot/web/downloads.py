"""Files the console hands out: a folder written by an exporter, zipped in memory."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from starlette.responses import Response


def zipped(folder: Path) -> bytes:
    """Every file under `folder`, by its path relative to it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, arcname=str(path.relative_to(folder)))
    return buffer.getvalue()


def zip_download(content: bytes, name: str) -> Response:
    return Response(
        content, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
