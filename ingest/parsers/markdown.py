"""Markdown (``.md``, ``.markdown``): headings label the paragraphs that follow them.

What is kept and what is dropped (the goal is prose for sentence-level fact extraction):

* **Headings** (``# ATX`` and ``Setext`` underlined) are not paragraphs; their text, lower-cased and with
  markup removed, becomes the section label of the paragraphs below. Paragraphs before any heading are
  ``"body"``. The title is the first level-1 heading (else the first heading, else the first paragraph).
* **Paragraphs** are separated by blank lines; wrapped lines are joined with a space.
* **List items and table rows** each become their own paragraph (markers and outer pipes removed;
  table separator rows ``|---|`` dropped).
* **Code fences** (````` and ``~~~``) are **dropped**: code is not prose, and its tokens would only
  produce noise facts. Inline ```code``` keeps its text.
* **Inline markup** is stripped: ``*em*``, ``**strong**``, ``_em_``, ``~~del~~``, ``[text](url)`` → text,
  ``![alt](src)`` → alt, ``<https://x>`` → the URL, HTML tags and comments removed, backslash escapes
  resolved. YAML front matter, thematic breaks and link reference definitions are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ingest.parsers.base import Parser, ParseResult, read_text
from ingest.parsers.text import TITLE_MAX
from ingest.types import Paragraph, ParsedDocument

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(.*)$")
_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_LINK_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*\S+")
_TABLE_SEP = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

# Inline rules, applied in order. Code spans go first so their content is not read as emphasis markers.
_INLINE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    # "_" only at word edges, so snake_case names survive.
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),
)


def strip_inline(text: str) -> str:
    """Remove inline markdown markup and collapse whitespace.

    Example:
        >>> strip_inline("A **bold** [link](http://x) and `code_x` in snake_case")
        'A bold link and code_x in snake_case'
    """
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


class _Builder:
    """Collects paragraphs while the line scanner walks the file."""

    def __init__(self) -> None:
        self.section = "body"
        self.lines: list[str] = []
        self.paragraphs: list[Paragraph] = []
        self.headings: list[tuple[int, str]] = []

    def flush(self) -> None:
        text = strip_inline(" ".join(self.lines))
        if text:
            self.paragraphs.append(Paragraph(self.section, text))
        self.lines = []

    def heading(self, level: int, raw: str) -> None:
        self.flush()
        text = strip_inline(raw)
        if text:
            self.headings.append((level, text))
            self.section = text.lower()


def parse_markdown(text: str) -> tuple[str, tuple[Paragraph, ...]]:
    """Turn markdown text into ``(title, paragraphs)`` following the rules in the module docstring.

    Example:
        >>> title, paras = parse_markdown("# Pump\\n\\nIt *pumps*.\\n\\n## Parts\\n- a rotor\\n- a shaft\\n")
        >>> title, [(p.section, p.text) for p in paras]
        ('Pump', [('pump', 'It pumps.'), ('parts', 'a rotor'), ('parts', 'a shaft')])
    """
    lines = _COMMENT.sub("", text).split("\n")
    if lines and lines[0].strip() == "---":  # YAML front matter
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            lines = lines[end + 1 :]

    out = _Builder()
    fence: str | None = None
    for line in lines:
        if fence is not None:  # inside a code fence: drop until the closing fence
            if line.strip().startswith(fence):
                fence = None
            continue
        if match := _FENCE.match(line):
            out.flush()
            fence = match.group(1)[0] * 3
            continue
        line = _QUOTE.sub("", line)
        if not line.strip():
            out.flush()
        elif match := _ATX.match(line):
            out.heading(len(match.group(1)), match.group(2) or "")
        elif out.lines and _SETEXT.match(line) and not _ITEM.match(out.lines[0]):
            raw, out.lines = " ".join(out.lines), []
            out.heading(1 if line.strip()[0] == "=" else 2, raw)
        elif _BREAK.match(line) or _LINK_DEF.match(line) or _TABLE_SEP.match(line):
            out.flush()
        elif match := _ITEM.match(line):
            out.flush()
            out.lines.append(match.group(1))
        elif line.lstrip().startswith("|"):
            out.flush()
            out.lines.append(line.strip().strip("|"))
            out.flush()
        else:
            out.lines.append(line.strip())
    out.flush()

    level_one = [h for level, h in out.headings if level == 1]
    if level_one or out.headings:
        title = (level_one or [out.headings[0][1]])[0]
    else:
        title = out.paragraphs[0].text if out.paragraphs else ""
    return title[:TITLE_MAX].rstrip(), tuple(out.paragraphs)


class MarkdownParser(Parser):
    """One document per file; see the module docstring for what is kept.

    Example:
        >>> doc = next(MarkdownParser().parse(Path("README.md")))  # doctest: +SKIP
        >>> doc.title  # doctest: +SKIP
        'Factloom'
    """

    name = "markdown"
    suffixes = (".md", ".markdown")

    def parse(self, path: Path) -> Iterator[ParseResult]:
        raw, text = read_text(path)
        title, paragraphs = parse_markdown(text)
        yield ParsedDocument(source=str(path), raw=raw, title=title, paragraphs=paragraphs, kind=self.name)
