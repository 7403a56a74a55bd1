"""Resumes for tests: PDFs built by hand (one page of Helvetica text), DOCX through python-docx,
and the hostile kinds (encrypted, damaged, zip bombs)."""

from __future__ import annotations

import io
import zipfile

import docx
import pypdf
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.files.models import Resume, ResumeSkill, ResumeVersion

ADA = [
    "Ada Lovelace",
    "ada@example.com | +44 20 7946 0958",
    "Analytical engines, Python and PostgreSQL; some Docker.",
    "Experience 1842 - 1843: notes on the engine.",
]


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(lines: list[str], *, pages: int = 1) -> bytes:
    """A valid PDF with `lines` of text on each of `pages` pages (offsets computed, xref exact)."""
    content = (
        "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({_escape(line)}) Tj T*" for line in lines) + " ET"
    ).encode("latin-1")
    font = 3 + 2 * pages
    kids = " ".join(f"{3 + 2 * index} 0 R" for index in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    for index in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * index} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def encrypted_pdf(lines: list[str]) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(make_pdf(lines))))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def damaged_pdf() -> bytes:
    """A PDF header, then nothing a reader can make sense of."""
    return b"%PDF-1.7\n" + b"\x00garbage obj << /Type /Catalog /Pages 9 0 R" * 40 + b"\n%%EOF\n"


def make_docx(paragraphs: list[str], *, table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb(*, unpacked: int) -> bytes:
    """A zip that sniffs as DOCX (word/ entries first) and inflates to `unpacked` bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * unpacked)
    return out.getvalue()


def many_entries(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        for index in range(count):
            archive.writestr(f"word/media/{index}.xml", "")
    return out.getvalue()


def zip_without_document() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/styles.xml", "<w:styles/>")
    return out.getvalue()


async def resume_counts(session: AsyncSession) -> tuple[int, int, int]:
    """Rows of resumes, versions and skills."""
    return (
        int(await session.scalar(select(func.count()).select_from(Resume)) or 0),
        int(await session.scalar(select(func.count()).select_from(ResumeVersion)) or 0),
        int(await session.scalar(select(func.count()).select_from(ResumeSkill)) or 0),
    )
