"""Build hook: compile the gettext catalogs (.po -> .mo) whenever the package is built or installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def compile_catalogs(locales_dir: Path) -> list[Path]:
    compiled = []
    for po_path in sorted(locales_dir.glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        compiled.append(mo_path)
    return compiled


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]  # hatchling is only in the build env
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        compile_catalogs(Path(self.root) / "src" / "sixty" / "locales")
