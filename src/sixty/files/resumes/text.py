"""A resume's text, from its bytes, and the candidate's fields found in it.

Blocking and CPU-bound: the service runs `extract` in a thread, with a time limit. Hostile input
is expected, so every step is bounded:

- PDF (pypdf): encrypted files are refused; at most `max_pages` pages are read; pypdf's own
  limits bound what a stream may decompress to. Anything pypdf cannot read is "corrupt".
- DOCX (python-docx): a zip, checked before anything is decompressed: at most `max_entries`
  entries declaring at most `max_unzipped_bytes` together (zipfile never inflates an entry past
  the size it declares), and `word/document.xml` present. python-docx parses XML without
  resolving entities.
- The text is cut at `max_chars` characters.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import IO

import docx
import pypdf

from sixty.core.i18n import N_

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TYPES = frozenset({PDF, DOCX})


@dataclass(frozen=True)
class Limits:
    max_pages: int
    max_chars: int
    max_entries: int
    max_unzipped_bytes: int


class ExtractionError(Exception):
    """The file cannot be read as a resume: `code` and a message for people (`N_`-marked)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def corrupt() -> ExtractionError:
    return ExtractionError(
        "corrupt_resume", N_("The file is damaged or not a readable PDF or DOCX document.")
    )


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: int | None = None  # PDF only


@dataclass(frozen=True)
class Fields:
    name: str | None
    email: str | None
    phone: str | None
    skills: list[str] = field(default_factory=list)


# --- extraction ------------------------------------------------------------------------------------


def _bounded(pieces: Iterator[str], max_chars: int) -> str:
    parts: list[str] = []
    total = 0
    for piece in pieces:
        piece = piece.replace("\x00", "")  # PostgreSQL cannot store NUL, and it is never text
        parts.append(piece[: max_chars - total])
        total += len(parts[-1])
        if total >= max_chars:
            break
    return "\n".join(parts).strip()


def _pdf(file: IO[bytes], limits: Limits) -> Extracted:
    try:
        reader = pypdf.PdfReader(file)
        if reader.is_encrypted:
            raise ExtractionError(
                "encrypted_resume", N_("The PDF is encrypted; upload it without a password.")
            )
        pages = len(reader.pages)

        def texts() -> Iterator[str]:
            for index in range(min(pages, limits.max_pages)):
                yield reader.pages[index].extract_text() or ""

        return Extracted(_bounded(texts(), limits.max_chars), pages=pages)
    except ExtractionError:
        raise
    except Exception:  # pypdf raises many kinds of error on damaged input
        raise corrupt() from None


def _check_zip(file: IO[bytes], limits: Limits) -> None:
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise corrupt() from None
    if len(entries) > limits.max_entries or sum(e.file_size for e in entries) > limits.max_unzipped_bytes:
        raise ExtractionError(
            "archive_too_large", N_("The document unpacks to too many files or too many bytes.")
        )
    if not any(entry.filename == "word/document.xml" for entry in entries):
        raise corrupt()


def _docx(file: IO[bytes], limits: Limits) -> Extracted:
    _check_zip(file, limits)
    file.seek(0)
    try:
        document = docx.Document(file)

        def texts() -> Iterator[str]:
            for paragraph in document.paragraphs:
                yield paragraph.text
            for table in document.tables:
                for row in table.rows:
                    yield " ".join(cell.text for cell in row.cells)

        return Extracted(_bounded(texts(), limits.max_chars))
    except Exception:  # python-docx and lxml raise many kinds of error on damaged input
        raise corrupt() from None


def extract(file: IO[bytes], content_type: str, limits: Limits) -> Extracted:
    """The text of a PDF or DOCX (by its sniffed type). Raises ExtractionError."""
    file.seek(0)
    extracted = _pdf(file, limits) if content_type == PDF else _docx(file, limits)
    if not WORD.search(extracted.text):
        raise ExtractionError(
            "no_text", N_("No text was found in the document (a scanned image has none to read).")
        )
    return extracted


# --- fields ----------------------------------------------------------------------------------------

WORD = re.compile(r"[^\W_]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"(?<![\w+])(\+?\d[\d ().-]{5,22}\d)(?!\w)")
_NAME = re.compile(r"^[^\W\d_]{2,}(?:[ '.-]{1,2}[^\W\d_]+){1,3}\.?$")
_NOT_NAMES = frozenset({"resume", "résumé", "curriculum", "vitae", "cv", "profile", "contact"})


def search_text(text: str) -> str:
    """What `q` searches: the words, lower-cased, separated by single spaces."""
    return " ".join(WORD.findall(text.lower()))


def _name(text: str) -> str | None:
    """The first short line of two to four words made of letters: usually the candidate's name."""
    lines = (line.strip() for line in text.splitlines())
    for line in [line for line in lines if line][:8]:
        if len(line) <= 80 and _NAME.match(line) and not _NOT_NAMES & set(line.lower().split()):
            return line
    return None


def _phone(text: str) -> str | None:
    """A number of 9 to 15 digits (7 with a leading +), not a date range or a year."""
    for match in _PHONE.finditer(text):
        candidate = match.group(1).strip()
        digits = sum(char.isdigit() for char in candidate)
        if 9 <= digits <= 15 or (candidate.startswith("+") and 7 <= digits <= 15):
            return candidate[:40]
    return None


@cache
def _skill_pattern(vocabulary: tuple[str, ...]) -> re.Pattern[str] | None:
    if not vocabulary:
        return None
    # Longest first, so "machine learning" wins over a shorter skill inside it.
    alternatives = "|".join(re.escape(skill) for skill in sorted(vocabulary, key=len, reverse=True))
    return re.compile(rf"(?<![\w+#.])({alternatives})(?![\w+#])")


def skills(text: str, vocabulary: tuple[str, ...]) -> list[str]:
    """The vocabulary's skills found in the text as whole words, in any case; sorted."""
    pattern = _skill_pattern(vocabulary)
    if pattern is None:
        return []
    return sorted({match.group(1) for match in pattern.finditer(" ".join(text.lower().split()))})


def fields(text: str, vocabulary: tuple[str, ...]) -> Fields:
    email = _EMAIL.search(text)
    return Fields(
        name=_name(text),
        email=email.group(0)[:320] if email else None,
        phone=_phone(text),
        skills=skills(text, vocabulary),
    )
