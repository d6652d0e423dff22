"""Text and JSON that come from someone we do not trust: model output, agent code, task files.

Policies are rewarded for reaching a target, so whatever they emit is adversarial input, and task
files are third-party data. Three rules keep one bad string from taking the harness down:

* **Valid UTF-8 everywhere we write.** A Python ``str`` may hold lone surrogates (``'\\udcff'``
  from a JSON ``"\\udcff"`` escape in an HTTP reply, from ``surrogateescape`` decoding, from agent
  code); encoding such a string as UTF-8 raises, which used to abort a run at the trajectory
  writer. :func:`clean_text` / :func:`clean_json` replace every lone surrogate with U+FFFD (and
  join a split surrogate pair into its character) before anything is written or printed.
* **Bounded JSON.** :func:`loads_bounded` refuses text longer or nested deeper than a cap before
  ``json.loads`` sees it (deep nesting raises RecursionError inside the decoder; a 5,000-digit
  integer raises a plain ValueError), and always raises :class:`UntrustedJSONError`.
* **Line by line, atomically written.** :func:`iter_jsonl` decodes each line of a JSONL file on
  its own, so an invalid byte or a bad line is skipped with its line number instead of aborting
  the file; :func:`write_lines_atomic` writes outputs through a temporary file and ``os.replace``
  so a failed rewrite leaves the earlier output intact.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

__all__ = [
    "MAX_FILE_JSON_DEPTH",
    "MAX_LINE_BYTES",
    "JsonLine",
    "UntrustedJSONError",
    "balanced_end",
    "clean_json",
    "clean_text",
    "iter_jsonl",
    "json_depth_exceeds",
    "loads_bounded",
    "model_json",
    "object_starts",
    "write_lines_atomic",
]

#: Nesting depth accepted in a line of a task or samples file (official rows nest at most 2 deep).
MAX_FILE_JSON_DEPTH = 64
#: Longest line read from a task or samples file (official rows are under 80 KB).
MAX_LINE_BYTES = 16 * 1024 * 1024


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: lone surrogates become U+FFFD, split surrogate pairs are joined.

    Cheap for clean text (one encode attempt). The UTF-16 round trip is what joins a high and a
    low surrogate that arrived as two code points into the character they spell.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def clean_json(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, strings, scalars) with every string,
    dict key included, passed through :func:`clean_text`; tuples become lists (JSON has none).
    Other objects are returned as they are. Iterative, so a deeply nested value cannot exhaust
    the stack.
    """
    if isinstance(value, str):
        return clean_text(value)
    if not isinstance(value, (dict, list, tuple)):
        return value
    root: list[Any] = [None]
    # Work items: (source container, target container, key in target where it goes).
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        source, parent, slot = stack.pop()
        if isinstance(source, dict):
            copy: Any = {}
            parent[slot] = copy
            for key, item in source.items():
                key = clean_text(key) if isinstance(key, str) else key
                if isinstance(item, (dict, list, tuple)):
                    copy[key] = None
                    stack.append((item, copy, key))
                else:
                    copy[key] = clean_text(item) if isinstance(item, str) else item
        else:
            items = list(source)
            parent[slot] = items
            for index, item in enumerate(items):
                if isinstance(item, (dict, list, tuple)):
                    stack.append((item, items, index))
                elif isinstance(item, str):
                    items[index] = clean_text(item)
    return root[0]


def model_json(model: BaseModel, *, indent: int | None = None) -> str:
    """``model.model_dump_json()`` that never fails on a lone surrogate: such strings are written
    with U+FFFD instead (pydantic refuses to encode them, which used to abort a run or a command).
    """
    try:
        return model.model_dump_json(indent=indent)
    except PydanticSerializationError:
        data = clean_json(model.model_dump(mode="json"))
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(data, ensure_ascii=False, indent=indent, separators=separators)


class UntrustedJSONError(ValueError):
    """Text that is not acceptable JSON: invalid, too long or nested too deeply."""


_STRUCTURE = re.compile(r'[{}\[\]"]')
_IN_STRING = re.compile(r'["\\]')
_OBJECT_OPEN = re.compile(r'\{[ \t\r\n]*["}]')


def _string_end(text: str, pos: int, stop: int) -> int | None:
    """Index just past the JSON string whose opening quote is at ``pos - 1``; None if unclosed."""
    while True:
        match = _IN_STRING.search(text, pos, stop)
        if match is None:
            return None
        if match.group() == "\\":
            pos = match.end() + 1
            continue
        return match.end()


def object_starts(text: str) -> Iterator[int]:
    """Indices of every ``{`` that could start a JSON object (next non-blank is ``"`` or ``}``)."""
    return (match.start() for match in _OBJECT_OPEN.finditer(text))


def balanced_end(text: str, start: int, max_depth: int, stop: int | None = None) -> tuple[int | None, int]:
    """Where the JSON object that opens at ``text[start] == "{"`` would end, in one linear scan.

    Returns ``(end, work)``: ``end`` is the index just past the matching ``}`` (strings lexed as
    JSON strings), or None when the span cannot be a JSON object: it never closes before ``stop``,
    nests deeper than ``max_depth``, or holds a ``{`` that no JSON object could start with (the
    next character must be ``"`` or ``}``). ``work`` is the number of characters looked at, so a
    caller trying many starts can bound its total work.
    """
    stop = len(text) if stop is None else stop
    depth = 0
    pos = start
    while True:
        match = _STRUCTURE.search(text, pos, stop)
        if match is None:
            return None, stop - start
        char, index = match.group(), match.start()
        if char == '"':
            end = _string_end(text, index + 1, stop)
            if end is None:
                return None, stop - start
            pos = end
            continue
        if char in "{[":
            depth += 1
            if depth > max_depth or (char == "{" and not _OBJECT_OPEN.match(text, index)):
                return None, index + 1 - start
        else:
            depth -= 1
            if depth == 0:
                return index + 1, index + 1 - start
        pos = index + 1


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """True when the brackets of ``text`` (outside JSON strings) nest deeper than ``max_depth``."""
    depth = 0
    pos = 0
    stop = len(text)
    while True:
        match = _STRUCTURE.search(text, pos)
        if match is None:
            return False
        char = match.group()
        if char == '"':
            end = _string_end(text, match.end(), stop)
            if end is None:
                return False  # an unterminated string: json.loads will say so
            pos = end
            continue
        depth += 1 if char in "{[" else -1
        if depth > max_depth:
            return True
        pos = match.end()


def loads_bounded(text: str, *, max_depth: int = MAX_FILE_JSON_DEPTH, max_chars: int | None = None) -> Any:
    """``json.loads`` for untrusted text, refusing oversized and deeply nested input up front.

    Every failure is an :class:`UntrustedJSONError` with a one-line reason.
    """
    if max_chars is not None and len(text) > max_chars:
        raise UntrustedJSONError(f"longer than {max_chars} characters ({len(text)})")
    if json_depth_exceeds(text, max_depth):
        raise UntrustedJSONError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UntrustedJSONError(f"not valid JSON ({exc.msg}: line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise UntrustedJSONError(f"not acceptable JSON ({str(exc).splitlines()[0][:120]})") from None


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line of a JSONL file: its value, or why it could not be read."""

    number: int
    value: Any = None
    error: str | None = None


def iter_jsonl(path: Path, *, max_depth: int = MAX_FILE_JSON_DEPTH) -> Iterator[JsonLine]:
    """Each non-blank line of a JSONL file, decoded on its own.

    An invalid UTF-8 byte, invalid JSON, nesting deeper than ``max_depth`` or a line longer than
    ``MAX_LINE_BYTES`` makes that line a :class:`JsonLine` with an ``error``; the rest of the file
    is still read. Strings are passed through :func:`clean_json` (a ``"\\udcff"`` escape is valid
    JSON but not writable UTF-8). OSError (missing or unreadable file) propagates.
    """
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if len(raw) > MAX_LINE_BYTES:
                yield JsonLine(number, error=f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield JsonLine(number, error=f"invalid UTF-8 at byte {exc.start + 1}")
                continue
            if not line.strip():
                continue
            try:
                value = loads_bounded(line, max_depth=max_depth)
            except UntrustedJSONError as exc:
                yield JsonLine(number, error=str(exc))
                continue
            yield JsonLine(number, clean_json(value))


def write_lines_atomic(output: Path, lines: Iterable[str]) -> None:
    """Write text lines (each gets a newline) to ``output`` through a temporary file.

    The earlier file is replaced only once the new one is complete, so an import that fails
    halfway never truncates a good output; the temporary file is removed on failure.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}-", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(clean_text(line) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
