"""What the book is made of, read from _toc.yml and _config.yml (shared by several tests)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    """Every page in the table of contents, root first, without extensions; a chapter's depth
    pages (its ``sections``) follow it."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def walk(entries: list[dict]) -> list[str]:
        files = []
        for entry in entries:
            files += [entry["file"]] if "file" in entry else []
            files += walk(entry.get("sections", [])) + walk(entry.get("chapters", []))
        return files

    return [toc["root"], *walk(toc.get("parts", []))]


def toc_chapters() -> list[str]:
    """The table of contents' top level (root and chapters), without depth pages."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *(c["file"] for part in toc.get("parts", [])
                           for c in part.get("chapters", []))]


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))
