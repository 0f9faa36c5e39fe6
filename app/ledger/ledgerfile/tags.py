"""hledger tags in a transaction's comment: an entry's client metadata in a journal.

hledger reads a tag wherever a comment has a colon: the tag's name is the last word
before it (``checked`` in ``from the old books, checked: 2026-03-05``), its value the
text after it up to the next comma or the line's end, stripped; an empty name is no tag.
``tags_of`` reads them as hledger does (hledger-lib's ``commenttagsp``), across the
comment's lines.

On import (``take_tags``) a tag is the entry's metadata when it is written as a tag:
its name starts the comment's line or follows a comma, its colon is followed by a space,
a tab, a comma or the line's end, and the name is a key a client may write. Its value is
read by metadata_text's rule, and it is taken out of the comment with the comma after
it; what is left of its line stays in the comment, a line left empty goes. Other tags
hledger reads in prose (``https`` in ``see https://x.org``, ``card`` in ``paid by card:
yes``, names that are not keys) stay in the comment, where hledger still reads them. A
key given twice must have one value.

On export (``tag_text``) the metadata is written as one comment line of tags after the
comment's text: ``order_id: A-17, amount: 12.50``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.ledger.errors import BadInput
from app.ledger.ledgerfile.metadata_text import is_client_key, text_of_value, value_of_text
from app.ledger.metadata import check_metadata


@dataclass(frozen=True)
class Tag:
    name: str
    value: str
    start: int  # where the name starts in the comment
    end: int  # past the value and the comma that ends it


def _spaces_at(text: str, at: int) -> int:
    while at < len(text) and text[at] != "\n" and text[at].isspace():
        at += 1
    return at


def tags_of(comment: str) -> list[Tag]:
    """The tags hledger reads in ``comment`` (its lines joined by ``\\n``), in order."""
    tags: list[Tag] = []
    at = 0
    while (colon := comment.find(":", at)) >= 0:
        start = colon
        while start > at and not comment[start - 1].isspace():
            start -= 1
        at = colon + 1
        if start == colon:  # "foo : bar": no name, and no tag
            continue
        value_start = _spaces_at(comment, at)
        value_end = value_start
        while value_end < len(comment) and comment[value_end] not in ",\n":
            value_end += 1
        at = value_end + 1 if comment[value_end : value_end + 1] == "," else value_end
        tags.append(Tag(comment[start:colon], comment[value_start:value_end].strip(), start, at))
    return tags


class TagProblem(Exception):
    """A tag that cannot be metadata: its line, the message and the field."""

    def __init__(self, line: int, message: str, field: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.field = field


def take_tags(
    comments: Sequence[str], lines: Sequence[int]
) -> tuple[list[str], dict[str, Any] | None]:
    """The comment's lines without the tags that are metadata, and that metadata.

    ``lines`` are the file lines of ``comments``; a TagProblem names the tag's line.
    """
    comment = "\n".join(comments)
    found: dict[str, Any] = {}
    where: dict[str, int] = {}
    taken: list[Tag] = []
    for tag in tags_of(comment):
        if not (_written_as_tag(comment, tag) and is_client_key(tag.name)):
            continue
        line = lines[comment.count("\n", 0, tag.start)]
        field = f"metadata.{tag.name}"
        try:
            value = value_of_text(tag.value, field=field)
        except BadInput as error:
            raise TagProblem(line, error.message, field) from None
        if tag.name in found and not _same(found[tag.name], value):
            raise TagProblem(line, f"the tag {tag.name} is given twice, with other values", field)
        found.setdefault(tag.name, value)
        where.setdefault(tag.name, line)
        taken.append(tag)
    if not taken:
        return list(comments), None
    try:
        metadata = check_metadata(found)
    except BadInput as error:
        key = (error.field or "").removeprefix("metadata.")
        line = where.get(key, lines[0])
        raise TagProblem(line, error.message, error.field or "metadata") from None
    return _without(comment, taken), metadata


def _written_as_tag(comment: str, tag: Tag) -> bool:
    """Whether ``tag`` starts its line or follows a comma, and a space, a tab, a comma or
    the line's end follows its colon (not prose, a URL or a time of day)."""
    before = comment[comment.rfind("\n", 0, tag.start) + 1 : tag.start].rstrip()
    after = comment[tag.start + len(tag.name) + 1 : tag.start + len(tag.name) + 2]
    return (before == "" or before.endswith(",")) and after in ("", " ", "\t", ",", "\n")


def _same(one: object, other: object) -> bool:
    return type(one) is type(other) and one == other


def _without(comment: str, taken: Sequence[Tag]) -> list[str]:
    """The comment's lines with the ``taken`` tags cut out: a line they were cut from is
    stripped of the spaces and separating commas left at its ends, and goes when nothing
    is left."""
    kept: list[str] = []
    at = 0
    cut = iter(taken)
    tag = next(cut, None)
    for text in comment.split("\n"):
        end = at + len(text)
        pieces: list[str] = []
        start = at
        while tag is not None and tag.start < end:
            pieces.append(comment[start : tag.start])
            start = tag.end
            tag = next(cut, None)
        if start == at:
            kept.append(text)
            at = end + 1
            continue
        pieces.append(comment[start:end])
        rest = ""
        for piece in pieces:  # one space where a cut tag stood between two
            rest += piece.lstrip() if rest[-1:].isspace() else piece
        rest = rest.strip().rstrip(",").rstrip()
        while rest[:1] == "," and rest[1:2] in ("", " ", "\t"):  # not ",x": a tag's name
            rest = rest[1:].lstrip()
        if rest:
            kept.append(rest)
        at = end + 1
    return kept


def writable_key(key: str) -> bool:
    """Whether hledger reads ``key`` back as a tag's name (a ``:`` would end the name)."""
    return ":" not in key


def tag_text(metadata: Mapping[str, Any]) -> str:
    """The metadata as one line of hledger tags, in its order (keys ``writable_key``)."""
    return ", ".join(f"{key}: {text_of_value(value, tag=True)}" for key, value in metadata.items())
