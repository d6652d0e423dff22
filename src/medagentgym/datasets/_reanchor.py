"""Re-anchoring of official EHRSQL-style rows onto the database at hand.

Official task rows (EHRSQL MIMIC-III and eICU, TREQS) ask about real patients, drugs, labs and
diagnoses. Our embedded databases are synthetic, so many gold queries name a patient or an item
that does not exist there and return nothing: such a row has no answer to grade. Re-anchoring
keeps the question's *shape* and swaps each literal "slot" (patient id, drug name, lab name, ...)
for a value that exists, in both the question text and the gold SQL, then the answer is
recomputed by executing the new SQL.

Pieces, each usable on its own:

* :func:`repair_quotes` escapes apostrophes left unescaped inside literals (TREQS writes
  ``= 'crohn's disease'``), so such SQL parses.
* :func:`find_slots` finds the literal comparisons of a gold query with their positions
  (``t.c = 'x'``, ``t.'c' = 'x'``, ``t.c in ('a', 'b')``, ``t.c = 123``, ``strftime('%y', t.c)
  >= '2103'``) and names them after the row's EHRSQL ``value`` dict where a value matches.
* :class:`SlotSpace` is the per-database knowledge of where the present values of a column come
  from and how each table relates to a patient. It is data: eicu and treqs supply their own
  (see :data:`MIMIC_III_SPACE` for an example) without changing this module.
* :class:`Reanchorer` chooses values deterministically (seeded by the row id) and coherently: it
  picks a patient first, then the other values from that patient's own rows, and keeps the first
  assignment whose query returns a usable result. It swaps only values the question shows, so
  the question and the SQL never disagree. Every query it runs on task SQL goes through
  ``_ehrsql.run_gold_query`` (read-only connection, time limit), because task files are untrusted.
* :func:`in_question` / :func:`swap_question` find a value in the question text (as written,
  loosely, or fuzzily with ``rapidfuzz``, since questions retype and misspell the titles their SQL
  compares) and apply the same swaps there.
"""

from __future__ import annotations

import math
import random
import re
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from medagentgym.catalog.splits import stable_hash
from medagentgym.datasets._ehrsql import (
    GOLD_QUERY_TIME_LIMIT_S,
    MIMIC_III_NOW,
    GoldQueryError,
    is_nonempty,
    prepare_query,
    run_gold_query,
)
from medagentgym.readonly_sql import PROGRESS_STEPS, fetch_limited

__all__ = [
    "EICU_SPACE",
    "MIMIC_III_SPACE",
    "TREQS_SPACE",
    "ColumnSource",
    "PatientFilter",
    "Reanchored",
    "Reanchorer",
    "Slot",
    "SlotSpace",
    "Swap",
    "TableLink",
    "absent_slots",
    "find_slots",
    "in_question",
    "informative_result",
    "repair_quotes",
    "swap_question",
]

#: Literals longer than this are never treated as slots (no real value is so long; a hostile
#: row could otherwise make every candidate query or question search expensive).
MAX_LITERAL_CHARS = 300
#: At most this many slots are read from one query; the rest are left as they are.
MAX_SLOTS = 64
#: Gold SQL longer than this is not re-anchored (it still runs once, as it is).
MAX_SQL_CHARS = 20_000
#: Candidate values read from one per-patient query (keeps memory bounded).
MAX_CANDIDATES = 5_000
#: Values read to decide whether a literal is present in a column.
MAX_PRESENT_VALUES = 500_000


# --------------------------------------------------------------------------- slots


@dataclass(frozen=True)
class Slot:
    """One literal in a gold query that is compared with a column (or a function of one).

    ``start``/``end`` span the literal in the SQL text, quotes included, so it can be replaced in
    place. ``literal`` is its value as text (quotes removed, ``''`` unescaped). ``column`` is the
    compared column as ``table.column`` in lowercase without quotes (``column`` alone when the
    query does not qualify it), or None. ``transform`` is the strftime format when the left side
    is ``strftime('<fmt>', column)`` (EHRSQL's year and month conditions). ``op`` is the
    comparison, lowercase: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``like`` or ``in``.
    ``name`` is the key of the row's ``value`` dict whose value this literal is, if any.
    ``scope`` spans the innermost parentheses around the comparison (its subquery), where the
    words that pick a column's source are looked for first.
    """

    start: int
    end: int
    literal: str
    quoted: bool
    column: str | None
    op: str
    transform: str | None = None
    name: str | None = None
    scope: tuple[int, int] = (0, 0)

    @property
    def is_equality(self) -> bool:
        """Equality and ``in`` slots name an entity (a patient, a drug): they are swapped when the
        value is absent. The others (thresholds, years, ``like`` patterns) move only when needed."""
        return self.op in ("=", "in") and self.transform is None


# --------------------------------------------------------------------------- the space


@dataclass(frozen=True)
class ColumnSource:
    """Where the present values of one column come from.

    ``column`` is ``table.column`` as gold SQL compares it (lowercase, unquoted). ``values_sql``
    selects the distinct present values (first column). ``patient_values_sql`` selects them for
    one patient (one ``?`` parameter, the patient key), which is what makes choices coherent; None
    when the column does not relate to patients (e.g. a dictionary of all lab names).
    ``requires`` lists words (usually table names) the query must contain for this source to
    apply, looked for in the slot's own subquery first, so one column can have several sources
    (``d_items.label`` of chart, input or output events).
    ``key_of_sql`` is set for columns that identify a patient (subject id, hospital stay id,
    name): the patient key(s) of one literal (one ``?`` parameter).
    """

    column: str
    values_sql: str
    patient_values_sql: str | None = None
    requires: tuple[str, ...] = ()
    key_of_sql: str | None = None

    def applies(self, text: str) -> bool:
        """Whether every word of ``requires`` occurs in ``text`` (a query or one subquery)."""
        return all(_mentions(text, word) for word in self.requires)

    @property
    def identifies_patient(self) -> bool:
        return self.key_of_sql is not None


@dataclass(frozen=True)
class TableLink:
    """How one table relates to the patient key.

    ``patients_sql`` selects the distinct patient keys that have rows in the table; ``restrict``
    is a WHERE condition on the table with one ``?`` (the patient key) keeping that patient's rows.
    """

    patients_sql: str
    restrict: str


@dataclass(frozen=True)
class PatientFilter:
    """A condition a query states about its patient, with the patients that meet it.

    ``pattern`` is a regular expression searched in the lowercased SQL (e.g. ``dischtime is
    null``: "the current hospital visit"); ``patients_sql`` selects the patient keys for which
    it holds. Candidate patients are drawn from those that meet every matching filter.
    """

    pattern: str
    patients_sql: str


@dataclass(frozen=True)
class SlotSpace:
    """Per-database knowledge the re-anchorer needs; pure data.

    ``name`` seeds choices (with the row id). ``patients_sql`` selects every patient key.
    ``tables`` maps a table name to its :class:`TableLink` (tables without one, such as
    dictionaries, do not restrict the patient). ``sources`` lists the swappable columns: a column
    without a source (``d_items.linksto``, ``cost.event_type``) is never swapped. ``filters``
    narrow the candidate patients. ``lowercase_values`` writes new string values in lowercase
    (for databases that compare without case but whose task files write lowercase literals).
    """

    name: str
    patients_sql: str
    tables: Mapping[str, TableLink]
    sources: tuple[ColumnSource, ...]
    filters: tuple[PatientFilter, ...] = ()
    lowercase_values: bool = False

    def source_for(self, column: str | None, sql_lower: str, scope_lower: str = "") -> ColumnSource | None:
        """The source of ``column`` for a slot: the first whose ``requires`` words occur in the
        slot's subquery ``scope_lower``, else in the whole (lowercased) query.

        A column written without its table matches a source ``<table>.<column>`` of a table the
        query mentions.
        """
        if not column:
            return None
        if "." in column:
            candidates = [s for s in self.sources if s.column == column]
        else:
            candidates = [
                s for s in self.sources
                if s.column.split(".", 1)[1] == column and _mentions(sql_lower, s.column.split(".", 1)[0])
            ]
        for text in (scope_lower, sql_lower) if scope_lower else (sql_lower,):
            for source in candidates:
                if source.applies(text):
                    return source
        return None


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Swap:
    """One value replaced: ``old`` -> ``new`` (text as in the SQL literal), in these columns.

    ``in_question`` says the old value was found and replaced in the question text; the
    re-anchorer only swaps values the question shows, so it is always True (kept so that a
    sample's metadata states it).
    """

    old: str
    new: str
    columns: tuple[str, ...]
    name: str | None
    in_question: bool


@dataclass
class Reanchored:
    """The outcome of re-anchoring one row.

    ``sql`` is the re-anchored gold SQL in the task file's dialect (not yet ``prepare_query``-d);
    ``rows`` the result of its prepared form; ``question`` the question with the same swaps.
    ``attempts`` counts the assignments executed. ``ok`` is False when no assignment returned a
    non-empty result (then ``sql``/``question`` are the originals and ``rows`` is empty);
    ``informative`` whether the result is more than a lone 0 (:func:`informative_result`).
    ``unswappable`` lists the absent values that stayed as they were because the question does
    not show them (swapping one would make the question and the SQL disagree); the importer
    skips a row whose answer they leave empty or 0. ``question_unmatched`` lists swapped values
    not found in the question: empty by construction (an assignment whose question cannot be
    rewritten is never kept), there to be checked.
    """

    sql: str
    question: str
    rows: list[tuple[Any, ...]]
    swaps: list[Swap] = field(default_factory=list)
    attempts: int = 0
    ok: bool = False
    informative: bool = False
    unswappable: list[str] = field(default_factory=list)
    question_unmatched: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- quote repair


def repair_quotes(sql: str) -> str:
    """Escape apostrophes left unescaped inside string literals (``'crohn's disease'``).

    A quote inside a literal that has a letter or digit right before and right after it is an
    apostrophe of the value, not the end of the literal, so it is doubled. Correct SQL is
    returned unchanged (an already doubled ``''`` stays as it is).
    """
    out: list[str] = []
    i, n = 0, len(sql)
    inside = False
    while i < n:
        c = sql[i]
        if c != "'":
            out.append(c)
            i += 1
            continue
        if not inside:
            inside = True
            out.append(c)
            i += 1
            continue
        if i + 1 < n and sql[i + 1] == "'":
            out.append("''")
            i += 2
            continue
        before = sql[i - 1] if i > 0 else ""
        after = sql[i + 1] if i + 1 < n else ""
        if before.isalnum() and after.isalnum():
            out.append("''")  # an apostrophe of the value
        else:
            out.append(c)
            inside = False
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------- tokens

_COMPARE_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_KEYWORDS = frozenset(
    "select from where and or not in is null like between case when then else end on as by group "
    "order having limit offset union all distinct join inner left right outer cross exists asc "
    "desc with values set current_time".split()
)
_IDENT = re.compile(r"[^\W\d]\w*")
_NUMBER_TOKEN = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SAFE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_ZERO_PADDED = re.compile(r"[+-]?0\d+")


@dataclass(frozen=True)
class _Tok:
    kind: str  # "str", "num", "id", "op", "(", ")", ",", ".", "other"
    text: str  # the value: a literal's content, an identifier in lowercase, the operator
    start: int
    end: int


def _tokens(sql: str) -> list[_Tok]:
    """A lexer good enough to find literal comparisons; stops at an unterminated literal."""
    toks: list[_Tok] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif c == "'":
            j, parts = i + 1, []
            while True:
                k = sql.find("'", j)
                if k < 0:
                    return toks  # unterminated: nothing after it is reliable
                parts.append(sql[j:k])
                if k + 1 < n and sql[k + 1] == "'":
                    parts.append("'")
                    j = k + 2
                    continue
                toks.append(_Tok("str", "".join(parts), i, k + 1))
                i = k + 1
                break
        elif c in "\"`[":
            close = "]" if c == "[" else c
            k = sql.find(close, i + 1)
            if k < 0:
                return toks
            toks.append(_Tok("id", sql[i + 1 : k].lower(), i, k + 1))
            i = k + 1
        elif c.isdigit() or (c == "." and i + 1 < n and sql[i + 1].isdigit()):
            m = _NUMBER_TOKEN.match(sql, i)
            end = m.end() if m else i + 1
            toks.append(_Tok("num", sql[i:end], i, end))
            i = end
        elif m := _IDENT.match(sql, i):
            toks.append(_Tok("id", m.group().lower(), i, m.end()))
            i = m.end()
        elif sql.startswith(("<=", ">=", "<>", "!=", "==", "||"), i):
            toks.append(_Tok("op", sql[i : i + 2], i, i + 2))
            i += 2
        elif c in "=<>":
            toks.append(_Tok("op", c, i, i + 1))
            i += 1
        elif c in "(),.":
            toks.append(_Tok(c, c, i, i + 1))
            i += 1
        else:
            toks.append(_Tok("other", c, i, i + 1))
            i += 1
    return toks


def _column_ending_at(toks: Sequence[_Tok], e: int) -> tuple[str, int] | None:
    """The column reference whose last token is ``toks[e]`` and the index of its first token.

    ``t.c``, ``t.'c'`` (TREQS quotes column names) and a bare ``c`` that is not a keyword.
    """
    if e < 0:
        return None
    last = toks[e]
    if last.kind not in ("id", "str"):
        return None
    if e >= 2 and toks[e - 1].kind == "." and toks[e - 2].kind == "id":
        name = last.text.lower()
        return f"{toks[e - 2].text}.{name}", e - 2
    if last.kind == "id" and last.text not in _KEYWORDS:
        return last.text, e
    return None


def _left_side(toks: Sequence[_Tok], e: int) -> tuple[str, str | None] | None:
    """The compared thing ending at ``toks[e]``: (column, strftime format or None)."""
    col = _column_ending_at(toks, e)
    if col is not None:
        return col[0], None
    # strftime ( 'fmt' , column )
    if e >= 0 and toks[e].kind == ")":
        inner = _column_ending_at(toks, e - 1)
        if inner is not None:
            b = inner[1]
            if (
                b >= 4
                and toks[b - 1].kind == ","
                and toks[b - 2].kind == "str"
                and toks[b - 3].kind == "("
                and toks[b - 4].kind == "id"
                and toks[b - 4].text == "strftime"
            ):
                return inner[0], toks[b - 2].text
    return None


def _scopes(toks: Sequence[_Tok], n: int) -> list[tuple[int, int]]:
    """For each token, the text span of its innermost enclosing parentheses (or the whole SQL)."""
    match: dict[int, int] = {}
    stack: list[int] = []
    for k, tok in enumerate(toks):
        if tok.kind == "(":
            stack.append(k)
        elif tok.kind == ")" and stack:
            match[stack.pop()] = k
    spans: list[tuple[int, int]] = []
    stack = []
    for k, tok in enumerate(toks):
        if tok.kind == ")" and stack:
            stack.pop()
        if stack:
            close = match.get(stack[-1])
            spans.append((toks[stack[-1]].start, toks[close].end if close is not None else n))
        else:
            spans.append((0, n))
        if tok.kind == "(":
            stack.append(k)
    return spans


def _canon(value: Any) -> str:
    """The comparable text of a value: numbers in one spelling (23 == 23.0 == '23'), text
    stripped and case-folded. Zero-padded digits are codes, not numbers: ICD-9 '0066' is not
    '66' (SQL compares them as text, so taking them for one value hides an absent code)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip().casefold()
    if len(text) < 40 and _NUMBER_TEXT.fullmatch(text) and not _ZERO_PADDED.fullmatch(text):
        try:
            return _canon(float(text))
        except (ValueError, OverflowError):
            return text
    return text


def _named_values(value: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(key, canonical value) pairs of an untrusted value dict, ignoring anything odd."""
    if not isinstance(value, Mapping):
        return []
    out: list[tuple[str, str]] = []
    for key, v in list(value.items())[:MAX_SLOTS]:
        if not isinstance(key, str) or isinstance(v, bool) or not isinstance(v, str | int | float):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            continue
        if isinstance(v, str) and len(v) > MAX_LITERAL_CHARS:
            continue
        out.append((key[:100], _canon(v)))
    return out


def find_slots(sql: str, value: Mapping[str, Any] | None = None) -> list[Slot]:
    """The literal comparisons of ``sql`` in text order (at most ``MAX_SLOTS``).

    ``value`` is the row's EHRSQL value dict (untrusted: keys or values that are not strings or
    numbers are ignored); a slot whose literal equals one of its values gets that key as ``name``.
    SQL longer than ``MAX_SQL_CHARS`` has no slots.
    """
    if not isinstance(sql, str) or len(sql) > MAX_SQL_CHARS:
        return []
    toks = _tokens(sql)
    scopes = _scopes(toks, len(sql))
    names = _named_values(value)
    found: list[tuple[int, _Tok, str, str | None, str, tuple[int, int]]] = []
    for k, tok in enumerate(toks):
        if tok.kind in ("str", "num") and k >= 2:
            prev = toks[k - 1]
            if prev.kind == "op" and prev.text in _COMPARE_OPS:
                op, e = _COMPARE_OPS[prev.text], k - 2
            elif prev.kind == "id" and prev.text == "like":
                if k >= 3 and toks[k - 2].kind == "id" and toks[k - 2].text == "not":
                    continue
                op, e = "like", k - 2
            else:
                continue
            left = _left_side(toks, e)
            if left is not None:
                found.append((k, tok, left[0], left[1], op, scopes[k]))
        elif tok.kind == "id" and tok.text == "in" and k + 2 < len(toks) and toks[k + 1].kind == "(":
            if toks[k + 2].kind not in ("str", "num") or (k >= 1 and toks[k - 1].text == "not"):
                continue
            col = _column_ending_at(toks, k - 1)
            if col is None:
                continue
            j = k + 2
            while j < len(toks) and toks[j].kind in ("str", "num"):
                found.append((j, toks[j], col[0], None, "in", scopes[k]))
                if j + 1 < len(toks) and toks[j + 1].kind == ",":
                    j += 2
                else:
                    break
    slots: list[Slot] = []
    for _, tok, column, transform, op, scope in sorted(found, key=lambda f: f[0]):
        if len(tok.text) > MAX_LITERAL_CHARS:
            continue
        canon = _canon(tok.text)
        name = next((key for key, v in names if v == canon), None)
        slots.append(
            Slot(
                start=tok.start,
                end=tok.end,
                literal=tok.text,
                quoted=tok.kind == "str",
                column=column,
                op=op,
                transform=transform,
                name=name,
                scope=scope,
            )
        )
        if len(slots) >= MAX_SLOTS:
            break
    return slots


# --------------------------------------------------------------------------- question text


_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")


def _question_pairs(old: str, new: str) -> list[tuple[str, str]]:
    """The spellings an old value may have in a question, each with the new value spelled alike.

    Besides the value itself: a whole number's other spelling (``23`` and ``23.0``), and the way
    EHRSQL questions write the dates its SQL compares: ``2105-02-10`` as ``02/10/2105``,
    ``2105-04`` as ``04/2105``, ``12-29`` as ``12/29``.
    """
    pairs = [(old, new)]
    text = old.strip()
    if text and len(text) < 40 and _NUMBER_TEXT.fullmatch(text):
        try:
            number = float(text)
        except (ValueError, OverflowError):
            number = math.nan
        if math.isfinite(number) and number.is_integer() and abs(number) < 1e15:
            whole = str(int(number))
            if text in (whole, f"{whole}.0"):
                for alt in (whole, f"{whole}.0"):
                    if alt != old:
                        pairs.append((alt, new))
    for pattern, spell in (
        (_DAY, lambda m: f"{m[2]}/{m[3]}/{m[1]}"),
        (_MONTH, lambda m: f"{m[2]}/{m[1]}"),
        (_MONTH_DAY, lambda m: f"{m[1]}/{m[2]}"),
    ):
        old_match, new_match = pattern.fullmatch(text), pattern.fullmatch(new.strip())
        if old_match and new_match:
            pairs.append((spell(old_match), spell(new_match)))
    return [(o, n) for o, n in pairs if o.strip()]


def _loose_pattern(old: str) -> re.Pattern[str] | None:
    """A looser pattern for a value as questions often retype it: any punctuation or none
    between its words (``sigmoid diverticulitis, colovestical`` as ``sigmoid diverticulitis
    colovestical``), and the last word may go on (MIMIC truncates titles: ``left against medical
    advi`` for ``advice``, ``dialys`` for ``dialysis``). A single word needs at least
    ``FUZZY_MIN_CHARS`` characters (``heart`` must not match ``hearty``); None otherwise."""
    words = _WORD.findall(old.lower())
    if not words or len(words) > 40 or (len(words) == 1 and len(words[0]) < FUZZY_MIN_CHARS):
        return None
    # Only a word ending in a letter goes on, with letters: a code or a number is never cut
    # short ('neolevo5' is not 'neolevo50').
    tail = r"[^\W\d_]*" if _LETTER.fullmatch(words[-1][-1]) else ""
    body = r"[\W_]*".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![^\W_]){body}{tail}(?![^\W_])", re.IGNORECASE)


def _question_pattern(form: str) -> re.Pattern[str]:
    body = re.escape(form)
    if _NUMBER_TEXT.fullmatch(form.strip()):
        return re.compile(rf"(?<![\w.]){body}(?!\w|\.\d)", re.IGNORECASE)
    head = r"(?<![^\W_])" if form[0].isalnum() else ""
    tail = r"(?![^\W_])" if form[-1].isalnum() else ""
    return re.compile(head + body + tail, re.IGNORECASE)


#: Questions longer than this are not rewritten (no official question comes close).
MAX_QUESTION_CHARS = 20_000
#: The least similarity (rapidfuzz's Indel ratio, 0-100) between a value and the words of the
#: question that are taken to be it, when neither the value nor its loose form occurs as written.
#: High on purpose: misspellings and small rewordings pass ("chordae tendinae ops", "transfer
#: within this facility" for 'trsf within this facility'), other titles do not.
FUZZY_MIN_SCORE = 90.0
#: Words in another order count only when they are (nearly) the same words: "indirect bilirubin"
#: for 'bilirubin, indirect'.
FUZZY_REORDER_SCORE = 97.0
#: Values shorter than this (letters and digits) are never matched fuzzily: short words are too
#: alike ('neb', 'po').
FUZZY_MIN_CHARS = 6
#: Questions longer than this are not searched fuzzily (the search is words x value length).
FUZZY_MAX_QUESTION_CHARS = 2_000

_WORD = re.compile(r"[^\W_]+")
_LETTER = re.compile(r"[^\W\d_]")
_DIGITS = re.compile(r"\d+")
_OPENING, _CLOSING = "([{", ")]}"
_TRAILING_MARKS = re.compile(r"[^\w\s]*\s*$")

#: One located value: where it is in the question and what replaces it.
_Span = tuple[int, int, str]


def _exact_spans(question: str, old: str, new: str) -> list[_Span]:
    """Every occurrence of ``old`` as written (or in another spelling of a number or date)."""
    spans: list[_Span] = []
    for form, spelled in _question_pairs(old, new):
        spans += [(m.start(), m.end(), spelled) for m in _question_pattern(form).finditer(question) if m.end() > m.start()]
    return spans


def _loose_spans(question: str, old: str, new: str) -> list[_Span]:
    """Every occurrence of ``old``'s loose form (:func:`_loose_pattern`)."""
    loose = _loose_pattern(old)
    if loose is None:
        return []
    return [(*_widen(question, m.start(), m.end(), old), new) for m in loose.finditer(question)]


def _widen(question: str, start: int, end: int, old: str) -> tuple[int, int]:
    """A loose or fuzzy span widened to take the punctuation around the value's words with it:
    the value's own leading and trailing marks where the question has them (``*ind*``), and a
    bracket the span leaves open or closed (``stent(s`` -> ``stent(s)``, ``hypertension (rule
    out ... cath`` -> ``... cath)``), so that a replacement never leaves half of them behind."""
    core = _WORD.search(old)
    if core is not None:
        lead = old[: core.start()].strip()
        tail = _TRAILING_MARKS.search(old)
        marks = tail.group().strip() if tail else ""
        if marks and question.startswith(marks, end):
            end += len(marks)
        if lead and question[:start].endswith(lead):
            start -= len(lead)
    text = question[start:end]
    while end < len(question) and question[end] in _CLOSING and sum(map(text.count, _OPENING)) > sum(
        map(text.count, _CLOSING)
    ):
        end += 1
        text = question[start:end]
    while start > 0 and question[start - 1] in _OPENING and sum(map(text.count, _CLOSING)) > sum(
        map(text.count, _OPENING)
    ):
        start -= 1
        text = question[start:end]
    return start, end


def _fuzzy_spans(question: str, old: str, new: str, taken: Sequence[_Span] = ()) -> list[_Span]:
    """The run of whole words of the question most like ``old`` (ignoring case and punctuation),
    if it is alike enough (``FUZZY_MIN_SCORE``); at most one span.

    Questions paraphrase and misspell the titles their SQL compares ("hemoptysis" for
    'hemopytsis', "cerebrospinal fluid" for 'cerebrospinal fluid (csf)'). Runs of the value's
    word count give or take two are compared with ``rapidfuzz.fuzz.ratio``; the same words in
    another order count when ``token_sort_ratio`` reaches ``FUZZY_REORDER_SCORE``. The digits
    must be the very same (a fuzzy match never turns '42731' into '42732'), the value needs
    ``FUZZY_MIN_CHARS`` characters and a letter, and spans in ``taken`` are not reused.
    """
    target_words = [w.casefold() for w in _WORD.findall(old)]
    target = " ".join(target_words)
    if (
        len(question) > FUZZY_MAX_QUESTION_CHARS
        or len(target) - len(target_words) + 1 < FUZZY_MIN_CHARS
        or not _LETTER.search(target)
    ):
        return []
    digits = _DIGITS.findall(target)
    words = list(_WORD.finditer(question))
    folded = [m.group().casefold() for m in words]
    n = len(target_words)
    best: tuple[float, int, int] | None = None
    for i in range(len(words)):
        for k in range(max(1, n - 2), n + 3):
            if i + k > len(words):
                break
            start, end = words[i].start(), words[i + k - 1].end()
            if any(start < e and s < end for s, e, _ in taken):
                continue
            text = " ".join(folded[i : i + k])
            if _DIGITS.findall(text) != digits:
                continue
            score = fuzz.ratio(target, text)
            if k == n and score < FUZZY_REORDER_SCORE:
                reordered = fuzz.token_sort_ratio(target, text)
                if reordered >= FUZZY_REORDER_SCORE:
                    score = reordered
            if score >= FUZZY_MIN_SCORE and (best is None or score > best[0]):
                best = (score, start, end)
    if best is None:
        return []
    start, end = _widen(question, best[1], best[2], old)
    return [(start, end, new)]


def _overlaps(span: _Span, spans: Sequence[_Span]) -> bool:
    return any(span[0] < e and s < span[1] for s, e, _ in spans)


def in_question(question: str, old: str) -> bool:
    """Whether a value occurs in a question in a form :func:`swap_question` finds: as written,
    loosely, or fuzzily (a value the question does not show must never be swapped)."""
    if not isinstance(question, str) or not isinstance(old, str) or len(question) > MAX_QUESTION_CHARS:
        return False
    return bool(_exact_spans(question, old, old) or _loose_spans(question, old, old) or _fuzzy_spans(question, old, old))


def swap_question(question: str, swaps: Mapping[str, str]) -> tuple[str, list[str]]:
    """Apply ``old -> new`` swaps to a question; returns the new text and the olds not found.

    Each value is looked for in three ways, each tried for every value before the next: as
    written (every occurrence; case ignored, a non-alphanumeric character or the text's edge on
    both sides, so ``po`` never matches inside ``potassium``; numbers and dates also in their
    other spellings, ``23`` for ``23.0``, ``02/10/2105`` for ``2105-02-10``), then loosely (other
    punctuation, a truncated last word: :func:`_loose_pattern`), then fuzzily (the one most
    similar run of words: :func:`_fuzzy_spans`). Longer olds go first within a way, no two swaps
    share a span, and all are applied at once on the original text, so one swap's new value is
    never rewritten by another.
    """
    if not isinstance(question, str) or len(question) > MAX_QUESTION_CHARS:
        return question if isinstance(question, str) else "", list(swaps)
    spans: list[_Span] = []
    pending = sorted(swaps.items(), key=lambda item: -len(item[0]))
    for way in ("exact", "loose", "fuzzy"):
        left: list[tuple[str, str]] = []
        for old, new in pending:
            if way == "exact":
                found = _exact_spans(question, old, new)
            elif way == "loose":
                found = _loose_spans(question, old, new)
            else:
                found = _fuzzy_spans(question, old, new, spans)
            hit = False
            for span in found:
                if not _overlaps(span, spans):
                    spans.append(span)
                    hit = True
            if not hit:
                left.append((old, new))
        pending = left
    out, last = [], 0
    for start, end, new in sorted(spans):
        out.append(question[last:start])
        out.append(new)
        last = end
    out.append(question[last:])
    return "".join(out), [old for old, _ in pending]


# --------------------------------------------------------------------------- choosing values


def _value_text(value: Any) -> str:
    """How a database value reads inside a literal and in the question."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _literal_sql(text: str, quoted: bool) -> str:
    """``text`` written as the slot wrote its literal: quoted (``'`` doubled) or a bare number."""
    if not quoted and _NUMBER_TEXT.fullmatch(text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _param(literal: str) -> Any:
    """A literal as a query parameter: numbers as numbers, so integer columns match them."""
    text = literal.strip()
    if len(text) < 40 and _NUMBER_TEXT.fullmatch(text):
        try:
            number = float(text)
        except (ValueError, OverflowError):
            return literal
        if math.isfinite(number) and number.is_integer() and abs(number) < 2**63:
            return int(number)
        return number
    return literal


_COUNT_BOOL = re.compile(r"^\s*select\s+count\s*\(\s*\*\s*\)\s*>\s*0", re.IGNORECASE)


def informative_result(sql: str, rows: Sequence[Sequence[Any]]) -> bool:
    """A result worth keeping at once: non-empty and, except for yes/no questions, not a lone 0.

    A count that comes out 0 is a valid but weak question ("how many times did the patient get
    a drug they never got"), so the re-anchorer tries another assignment first, and the importer
    tries to move the thresholds of a row whose count is 0 as written.
    """
    if not is_nonempty(rows):
        return False
    if _COUNT_BOOL.match(sql):
        return True
    if len(rows) == 1 and len(rows[0]) == 1:
        first = rows[0][0]
        if isinstance(first, int | float) and not isinstance(first, bool) and first == 0:
            return False
    return True


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers before text, numbers by size: a stable order for choosing thresholds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return (0, float(value), "")
    return (1, 0.0, _value_text(value))


def _pick_threshold(rng: random.Random, values: Sequence[Any], op: str) -> Any:
    """A present value that makes ``column <op> value`` likely to keep rows: a low one for
    ``>``/``>=`` (most rows are above it), a high one for ``<``/``<=``, any for the rest."""
    ordered = sorted(values, key=_sort_key)
    third = max(1, len(ordered) // 3)
    if op == ">=":
        pool = ordered[:third]
    elif op == ">":
        pool = ordered[:-1][:third] or ordered
    elif op == "<=":
        pool = ordered[-third:]
    elif op == "<":
        pool = ordered[1:][-third:] or ordered
    else:
        pool = ordered
    return rng.choice(pool)


@dataclass
class _Group:
    """Slots sharing one literal: they are swapped together (a patient id used in two subqueries)."""

    slots: list[Slot]
    source: ColumnSource | None
    equality: bool

    @property
    def literal(self) -> str:
        return self.slots[0].literal

    @property
    def op(self) -> str:
        return self.slots[0].op


_WORD_CACHE: dict[str, re.Pattern[str]] = {}


def _mentions(text: str, word: str) -> bool:
    """Whether ``word`` occurs in ``text`` as a whole word (``lab`` is not in ``labevents``)."""
    pattern = _WORD_CACHE.get(word)
    if pattern is None:
        pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
        _WORD_CACHE[word] = pattern
    return pattern.search(text) is not None


class Reanchorer:
    """Chooses present values for the slots of gold queries on one database.

    ``con`` must be a ``readonly_sql.connect_readonly`` connection: task SQL runs on it through
    ``run_gold_query`` with ``time_limit_s`` per query, and a row stops trying after
    ``row_budget_s`` seconds or ``max_attempts`` executed assignments. Present values, patient
    pools and per-patient values are read with the space's own SQL (task literals only ever
    travel as parameters) and cached for the life of the object.
    """

    def __init__(
        self,
        con: sqlite3.Connection,
        space: SlotSpace,
        *,
        now: str = MIMIC_III_NOW,
        time_limit_s: float = GOLD_QUERY_TIME_LIMIT_S,
        row_budget_s: float = 20.0,
        max_attempts: int = 24,
    ) -> None:
        self.con = con
        self.space = space
        self.now = now
        self.time_limit_s = time_limit_s
        self.row_budget_s = row_budget_s
        self.max_attempts = max(1, max_attempts)
        self._present_cache: dict[str, tuple[frozenset[str], list[Any]]] = {}
        self._keys_cache: dict[str, frozenset[Any]] = {}
        self._pool_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Any]] = {}
        self._patient_cache: dict[tuple[str, Any], tuple[list[Any], frozenset[str]]] = {}
        self._threshold_cache: dict[tuple[str, tuple[Any, ...]], list[Any]] = {}

    # ---- reading candidates (the space's own SQL)

    def _query(self, sql: str, params: Sequence[Any] = (), limit: int = MAX_CANDIDATES) -> list[Any]:
        """Non-NULL first-column values of one of the space's queries, distinct, in order.

        A query that fails (a user database lacking a column the space expects) gives none.
        """
        # The space's SQL steps the VM, so a progress-handler deadline is enough; it avoids the
        # watchdog thread ``readonly_sql.time_limit`` starts per statement (thousands per file).
        deadline = time.monotonic() + self.time_limit_s
        self.con.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
        try:
            cursor = self.con.execute(sql, tuple(params))
            try:
                rows, _ = fetch_limited(cursor, limit)
            finally:
                cursor.close()
        except (sqlite3.Error, ValueError, OverflowError):
            return []
        finally:
            self.con.set_progress_handler(None, 0)
        seen: dict[str, Any] = {}
        for row in rows:
            if row and row[0] is not None:
                seen.setdefault(_canon(row[0]), row[0])
        return list(seen.values())

    def _present(self, sql: str) -> tuple[frozenset[str], list[Any]]:
        cached = self._present_cache.get(sql)
        if cached is None:
            values = self._query(sql, limit=MAX_PRESENT_VALUES)
            cached = (frozenset(_canon(v) for v in values), values)
            self._present_cache[sql] = cached
        return cached

    def _keys(self, sql: str) -> frozenset[Any]:
        cached = self._keys_cache.get(sql)
        if cached is None:
            cached = frozenset(self._query(sql, limit=MAX_PRESENT_VALUES))
            self._keys_cache[sql] = cached
        return cached

    def _patient_entry(self, sql: str, key: Any) -> tuple[list[Any], frozenset[str]]:
        cache_key = (sql, key)
        cached = self._patient_cache.get(cache_key)
        if cached is None:
            values = self._query(sql, (key,))
            cached = (values, frozenset(_canon(v) for v in values))
            if len(self._patient_cache) > 20_000:
                self._patient_cache.clear()
            self._patient_cache[cache_key] = cached
        return cached

    def _patient_values(self, sql: str, key: Any) -> list[Any]:
        """The values one of the space's per-patient queries gives for patient ``key``."""
        return self._patient_entry(sql, key)[0]

    def _pool(self, sql_lower: str) -> list[Any]:
        """Candidate patients: those with rows in every patient table the query mentions and
        meeting every filter it matches (dropping filters, then tables, when none do)."""
        tables = tuple(t for t in self.space.tables if _mentions(sql_lower, t))
        filters = tuple(f.patients_sql for f in self.space.filters if re.search(f.pattern, sql_lower))
        key = (tables, filters)
        cached = self._pool_cache.get(key)
        if cached is None:
            everyone = self._keys(self.space.patients_sql)
            base = set(everyone)
            for table in tables:
                base &= self._keys(self.space.tables[table].patients_sql)
            narrowed = set(base)
            for sql in filters:
                narrowed &= self._keys(sql)
            chosen = narrowed or base or set(everyone)
            cached = sorted(chosen, key=_sort_key)
            self._pool_cache[key] = cached
        return cached

    # ---- slots

    def _groups(self, sql: str, sql_lower: str, slots: Sequence[Slot]) -> list[_Group]:
        groups: dict[tuple[bool, str], _Group] = {}
        for slot in slots:
            key = (slot.is_equality, _canon(slot.literal))
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group([], None, slot.is_equality)
            group.slots.append(slot)
            if group.source is None and slot.transform is None:
                scope = sql_lower[slot.scope[0] : slot.scope[1]]
                group.source = self.space.source_for(slot.column, sql_lower, scope)
        return list(groups.values())

    def _is_present(self, group: _Group) -> bool:
        assert group.source is not None
        return _canon(group.literal) in self._present(group.source.values_sql)[0]

    def absent(self, sql: str, slots: Sequence[Slot]) -> list[Slot]:
        """The equality slots with a source whose literal is not among the column's values."""
        sql_lower = sql.lower()
        out: list[Slot] = []
        for group in self._groups(sql, sql_lower, slots):
            if group.equality and group.source is not None and not self._is_present(group):
                out.extend(group.slots)
        return sorted(out, key=lambda s: s.start)

    def _threshold_values(self, group: _Group, anchor: Any) -> list[Any]:
        """Present values for a threshold slot: its source's, or the compared column's own
        (through its strftime format), restricted to the anchor patient when possible."""
        slot = group.slots[0]
        if group.source is not None and slot.transform is None:
            if anchor is not None and group.source.patient_values_sql:
                found = self._patient_values(group.source.patient_values_sql, anchor)
                if found:
                    return found
            return self._present(group.source.values_sql)[1]
        if not slot.column or "." not in slot.column:
            return []
        table, column = slot.column.split(".", 1)
        link = self.space.tables.get(table)
        if link is None or not _SAFE_NAME.fullmatch(table) or not _SAFE_NAME.fullmatch(column):
            return []
        if slot.transform is None:
            expr, params = f'"{table}"."{column}"', ()
        else:
            fmt = slot.transform.replace("%y", "%Y").replace("%j", "%J")
            expr, params = f'strftime(?, "{table}"."{column}")', (fmt,)
        if anchor is not None:
            # No DISTINCT or NULL test here either: the plan must use the patient index.
            found = self._cached(f'select {expr} from "{table}" where {link.restrict}', (*params, anchor))
            if found:
                return found
        return self._cached(f'select distinct {expr} from "{table}" where "{table}"."{column}" is not null', params)

    def _cached(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """:meth:`_query` through a bounded cache (threshold candidates are asked for repeatedly)."""
        key = (sql, params)
        cached = self._threshold_cache.get(key)
        if cached is None:
            cached = self._query(sql, params)
            if len(self._threshold_cache) > 5_000:
                self._threshold_cache.clear()
            self._threshold_cache[key] = cached
        return cached

    # ---- the search

    def _anchors(
        self, rng: random.Random, sql_lower: str, groups: Sequence[_Group], swapped: set[int], count: int
    ) -> list[Any]:
        """The patients to try, in order: the row's own (when its id is kept) or a seeded sample
        of the candidate pool. Rows without a patient slot get an anchor too, so that the values
        they name (a drug, a diagnosis) occur together in one patient."""
        patients = [g for g in groups if g.equality and g.source is not None and g.source.identifies_patient]
        kept = [g for g in patients if id(g) not in swapped]
        if kept:
            source = kept[0].source
            assert source is not None and source.key_of_sql is not None
            keys = self._patient_values(source.key_of_sql, _param(kept[0].literal))
            return [keys[0] if keys else None] * count
        pool = self._pool(sql_lower)
        if not pool:
            return [None] * count
        sample = rng.sample(pool, min(count * 4, len(pool)))
        # Values the row keeps (a present drug) should be the new patient's own: prefer those.
        kept_values = [
            (g.source.patient_values_sql, _canon(g.literal))
            for g in groups
            if id(g) not in swapped and g.equality and g.source is not None
            and g.source.patient_values_sql and not g.source.identifies_patient
        ]
        if not kept_values:
            return sample[:count]
        fitting = [
            a for a in sample
            if all(want in self._patient_entry(sql, a)[1] for sql, want in kept_values)
        ]
        chosen = set(fitting)
        return (fitting + [a for a in sample if a not in chosen])[:count]

    def _choose(
        self, rng: random.Random, groups: Sequence[_Group], swapped: set[int], anchor: Any
    ) -> dict[int, Any] | None:
        """One value per swapped group (by group index), or None when the anchor cannot supply
        a patient id. Groups of one column get different values (``drug in ('a', 'b')``)."""
        chosen: dict[int, Any] = {}
        taken: dict[str, set[str]] = {}
        for index, group in enumerate(groups):
            if id(group) not in swapped:
                continue
            if group.equality:
                source = group.source
                assert source is not None
                used = taken.setdefault(source.column, set())
                own: list[Any] = []
                if anchor is not None and source.patient_values_sql:
                    own = self._patient_values(source.patient_values_sql, anchor)
                if source.identifies_patient and anchor is not None and not own:
                    return None
                pool = [v for v in own if _canon(v) not in used]
                if not pool:
                    pool = [v for v in self._present(source.values_sql)[1] if _canon(v) not in used]
                if not pool:
                    return None
                value = rng.choice(pool)
                used.add(_canon(value))
            else:
                values = self._threshold_values(group, anchor)
                if not values:
                    continue
                value = _pick_threshold(rng, values, group.op)
            chosen[index] = value
        return chosen

    def _text(self, value: Any) -> str:
        text = _value_text(value)
        return text.lower() if self.space.lowercase_values and isinstance(value, str) else text

    def _execute(self, sql: str, deadline: float) -> tuple[list[tuple[Any, ...]] | None, str]:
        budget = min(self.time_limit_s, max(0.05, deadline - time.monotonic()))
        try:
            return run_gold_query(self.con, prepare_query(sql, now=self.now), time_limit_s=budget), ""
        except GoldQueryError as exc:
            return None, exc.kind

    def reanchor(
        self,
        row_id: str,
        question: str,
        sql: str,
        value: Mapping[str, Any] | None = None,
        *,
        swap_present: bool = False,
        only_thresholds: bool = False,
    ) -> Reanchored:
        """Re-anchor one row: swap absent slot values for present ones until the query returns
        a non-empty result (with ``swap_present``, present values shown in the question may
        change from the first try; with ``only_thresholds``, only thresholds the question shows
        move: a count that is 0 because a year or number lies outside the data's range).

        Only values the question shows change (:func:`in_question`: as written, loosely or
        fuzzily), so that the question keeps saying what the SQL asks; an absent value it does
        not show stays and is reported in ``unswappable``. The search runs in phases, each
        widening what may change: the absent values only, then also present values the question
        shows, then also thresholds it shows (years, dates, numbers). Within a phase it tries
        patients from the candidate pool, choosing the other values from that patient's rows; an
        assignment whose question cannot be rewritten (two values claiming one phrase) is passed
        over. An assignment with an informative result (not a lone 0) ends the search; else the
        first non-empty one is kept. A timeout ends the row's search.

        Deterministic: the same row id, SQL and database give the same swaps (as long as the
        ``row_budget_s`` safety limit is not reached).
        """
        question = question if isinstance(question, str) else ""
        failed = Reanchored(sql=sql, question=question, rows=[])
        if not isinstance(sql, str) or len(sql) > MAX_SQL_CHARS:
            return failed
        sql_lower = sql.lower()
        groups = self._groups(sql, sql_lower, find_slots(sql, value))
        swappable = [g for g in groups if g.equality and g.source is not None]
        absent = [g for g in swappable if not self._is_present(g)]
        absent_ids = {id(g) for g in absent}
        hidden = [g for g in absent if not in_question(question, g.literal)]
        failed.unswappable = [g.literal for g in hidden]
        hidden_ids = {id(g) for g in hidden}
        absent = [g for g in absent if id(g) not in hidden_ids]
        shown = [g for g in swappable if id(g) not in absent_ids and in_question(question, g.literal)]
        movable = [g for g in groups if not g.equality and g.op != "like" and in_question(question, g.literal)]
        phases: list[list[_Group]] = []
        if only_thresholds:
            if movable:
                phases.append(absent + movable)
        else:
            if absent and not swap_present:
                phases.append(absent)
            if shown or (swap_present and absent):
                phases.append(absent + shown)
            if movable:
                phases.append(absent + shown + movable)
        if not phases:
            return failed
        rng = random.Random(stable_hash("reanchor", self.space.name, str(row_id), sql))
        deadline = time.monotonic() + self.row_budget_s
        per_phase = max(1, self.max_attempts // len(phases))
        best: tuple[str, list[tuple[Any, ...]], dict[int, Any], str, dict[str, str]] | None = None
        attempts = 0
        seen: set[str] = {sql}  # the row as it is already ran
        stop = False
        for phase in phases:
            swapped = {id(g) for g in phase}
            tries = 0
            for anchor in self._anchors(rng, sql_lower, groups, swapped, per_phase * 3):
                if tries >= per_phase or time.monotonic() > deadline:
                    break
                chosen = self._choose(rng, groups, swapped, anchor)
                if not chosen:
                    continue
                new_sql = self._apply(sql, groups, chosen)
                if new_sql in seen:
                    continue
                seen.add(new_sql)
                mapping = self._mapping(groups, chosen)
                new_question, unmatched = swap_question(question, mapping)
                if unmatched:
                    continue
                tries += 1
                attempts += 1
                rows, error = self._execute(new_sql, deadline)
                if rows is None:
                    if error == "timeout":
                        stop = True
                        break
                    continue
                if not is_nonempty(rows):
                    continue
                good = informative_result(new_sql, rows)
                if best is None or good:
                    best = (new_sql, rows, chosen, new_question, mapping)
                if good:
                    stop = True
                    break
            if stop:
                break
        if best is None:
            failed.attempts = attempts
            return failed
        new_sql, rows, chosen, new_question, mapping = best
        swaps: list[Swap] = []
        for index in sorted(chosen):
            group = groups[index]
            if group.literal not in mapping:
                continue
            columns = tuple(dict.fromkeys(s.column or "" for s in group.slots))
            name = next((s.name for s in group.slots if s.name), None)
            swaps.append(Swap(group.literal, mapping[group.literal], columns, name, True))
        return Reanchored(
            sql=new_sql,
            question=new_question,
            rows=rows,
            swaps=swaps,
            attempts=attempts,
            ok=True,
            informative=informative_result(new_sql, rows),
            unswappable=list(failed.unswappable),
        )

    def _mapping(self, groups: Sequence[_Group], chosen: Mapping[int, Any]) -> dict[str, str]:
        """``old literal -> new text`` of the chosen values that differ from the old ones."""
        mapping: dict[str, str] = {}
        for index, value in chosen.items():
            group = groups[index]
            text = self._text(value)
            if _canon(text) != _canon(group.literal):
                mapping[group.literal] = text
        return mapping

    def _apply(self, sql: str, groups: Sequence[_Group], chosen: Mapping[int, Any]) -> str:
        """``sql`` with every slot of each chosen group replaced, right to left."""
        edits: list[tuple[int, int, str]] = []
        for index, value in chosen.items():
            text = self._text(value)
            for slot in groups[index].slots:
                edits.append((slot.start, slot.end, _literal_sql(text, slot.quoted)))
        out = sql
        for start, end, literal in sorted(edits, reverse=True):
            out = out[:start] + literal + out[end:]
        return out


def absent_slots(con: sqlite3.Connection, space: SlotSpace, sql: str, slots: Sequence[Slot]) -> list[Slot]:
    """The equality slots with a source whose literal is not among that column's present values.

    (Builds its caches anew on each call; an importer keeps one :class:`Reanchorer` instead.)
    """
    return Reanchorer(con, space).absent(sql, slots)


# --------------------------------------------------------------------------- the spaces


def _own(table: str, column: str, patient_where: str) -> ColumnSource:
    """A column whose values are read from its own table (``patient_where`` has one ``?``).

    The per-patient query has no DISTINCT and no NULL test (the reader drops both), so SQLite
    plans it on the patient index; with them it may scan an index of the value column instead.
    """
    return ColumnSource(
        f"{table}.{column}",
        f"select distinct {column} from {table} where {column} is not null",
        f"select {table}.{column} from {table} where {patient_where}",
    )


def _mimic_patient_where(table: str) -> str:
    """The rows of one patient (``?``) in a MIMIC-III table, through indexed columns: event
    tables are indexed by hospital or ICU stay, not by ``subject_id``."""
    if table in ("patients", "admissions", "icustays"):
        return f"{table}.subject_id = ?"
    if table in ("chartevents", "inputevents_cv", "outputevents"):
        return f"{table}.icustay_id in (select icustay_id from icustays where subject_id = ?)"
    return f"{table}.hadm_id in (select hadm_id from admissions where subject_id = ?)"


def _mimic_iii_space() -> SlotSpace:
    """MIMIC-III (EHRSQL's 17 tables): every event table carries ``subject_id``, the patient key."""
    events = (
        "admissions", "icustays", "transfers", "diagnoses_icd", "procedures_icd", "labevents",
        "prescriptions", "chartevents", "inputevents_cv", "outputevents", "microbiologyevents", "cost",
    )
    tables = {
        t: TableLink(f"select distinct subject_id from {t}", _mimic_patient_where(t)) for t in ("patients", *events)
    }
    subject = "select subject_id from patients where subject_id = ?"
    sources: list[ColumnSource] = [
        ColumnSource(f"{t}.subject_id", "select subject_id from patients", subject, key_of_sql=subject)
        for t in ("patients", *events)
    ]
    sources += [
        ColumnSource(
            f"{t}.hadm_id",
            "select hadm_id from admissions",
            "select hadm_id from admissions where subject_id = ? order by admittime",
            key_of_sql="select subject_id from admissions where hadm_id = ?",
        )
        for t in events
    ]
    sources += [
        ColumnSource(
            f"{t}.icustay_id",
            "select icustay_id from icustays",
            "select icustay_id from icustays where subject_id = ? order by intime",
            key_of_sql="select subject_id from icustays where icustay_id = ?",
        )
        for t in ("icustays", "transfers", "chartevents", "inputevents_cv", "outputevents")
    ]
    # Dictionary labels: the values events use, and for a patient the ones their events use.
    for event in ("chartevents", "inputevents_cv", "outputevents"):
        sources.append(
            ColumnSource(
                "d_items.label",
                f"select distinct d_items.label from {event} join d_items on d_items.itemid = {event}.itemid",
                f"select distinct d_items.label from {event} join d_items on d_items.itemid = {event}.itemid"
                f" where {_mimic_patient_where(event)}",
                requires=(event,),
            )
        )
    sources.append(ColumnSource("d_items.label", "select distinct label from d_items"))
    sources.append(
        ColumnSource(
            "d_labitems.label",
            "select distinct d_labitems.label from labevents join d_labitems on d_labitems.itemid = labevents.itemid",
            "select distinct d_labitems.label from labevents join d_labitems on d_labitems.itemid = labevents.itemid"
            f" where {_mimic_patient_where('labevents')}",
        )
    )
    for event, dictionary in (("diagnoses_icd", "d_icd_diagnoses"), ("procedures_icd", "d_icd_procedures")):
        for column in ("short_title", "long_title", "icd9_code"):
            joined = f"from {event} join {dictionary} on {dictionary}.icd9_code = {event}.icd9_code"
            sources.append(
                ColumnSource(
                    f"{dictionary}.{column}",
                    f"select distinct {dictionary}.{column} {joined}",
                    f"select distinct {dictionary}.{column} {joined} where {_mimic_patient_where(event)}",
                )
            )
        sources.append(_own(event, "icd9_code", _mimic_patient_where(event)))
    owned = {
        "prescriptions": ("drug", "route", "dose_unit_rx"),
        "transfers": ("careunit", "wardid", "eventtype"),
        "icustays": ("first_careunit", "last_careunit", "first_wardid", "last_wardid"),
        "microbiologyevents": ("spec_type_desc", "org_name"),
        "patients": ("gender",),
        "admissions": (
            "admission_type", "admission_location", "discharge_location", "insurance", "language",
            "marital_status", "ethnicity",
        ),
        "chartevents": ("charttime",),
        "labevents": ("charttime", "valueuom"),
    }
    for table, columns in owned.items():
        sources += [_own(table, c, _mimic_patient_where(table)) for c in columns]
    # "the percentile of <lab> value 0.6 among patients of the same age": t1.valuenum is a lab value.
    sources.append(
        ColumnSource(
            "t1.valuenum",
            "select distinct valuenum from labevents where valuenum is not null",
            "select distinct valuenum from labevents"
            f" where {_mimic_patient_where('labevents')} and valuenum is not null",
            requires=("percent_rank", "labevents"),
        )
    )
    current = "select distinct subject_id from admissions where dischtime is null"
    return SlotSpace(
        name="mimic_iii",
        patients_sql="select subject_id from patients",
        tables=tables,
        sources=tuple(sources),
        filters=(
            PatientFilter(r"admissions\.dischtime is null", current),
            PatientFilter(r"admissions\.dischtime is not null", current.replace("is null", "is not null")),
            PatientFilter(
                r"icustays\.outtime is null", "select distinct subject_id from icustays where outtime is null"
            ),
            PatientFilter(
                r"icustays\.outtime is not null", "select distinct subject_id from icustays where outtime is not null"
            ),
        ),
    )


def _eicu_space() -> SlotSpace:
    """eICU (EHRSQL's 10 tables): ``uniquepid`` is the patient; event tables hang off
    ``patientunitstayid`` (one ICU stay), cost off ``uniquepid``."""
    stays = "select patientunitstayid from patient where uniquepid = ?"
    events = ("diagnosis", "treatment", "lab", "medication", "allergy", "intakeoutput", "microlab", "vitalperiodic")
    tables = {"patient": TableLink("select distinct uniquepid from patient", "patient.uniquepid = ?")}
    tables |= {
        t: TableLink(
            f"select distinct patient.uniquepid from {t}"
            f" join patient on patient.patientunitstayid = {t}.patientunitstayid",
            f"{t}.patientunitstayid in ({stays})",
        )
        for t in events
    }
    tables["cost"] = TableLink("select distinct uniquepid from cost", "cost.uniquepid = ?")
    pid = "select distinct uniquepid from patient where uniquepid = ?"
    sources: list[ColumnSource] = [
        ColumnSource(f"{t}.uniquepid", "select distinct uniquepid from patient", pid, key_of_sql=pid)
        for t in ("patient", "cost")
    ]
    sources += [
        ColumnSource(
            f"{t}.patienthealthsystemstayid",
            "select distinct patienthealthsystemstayid from patient",
            "select distinct patienthealthsystemstayid from patient where uniquepid = ? order by hospitaladmittime",
            key_of_sql="select uniquepid from patient where patienthealthsystemstayid = ?",
        )
        for t in ("patient", "cost")
    ]
    sources += [
        ColumnSource(
            f"{t}.patientunitstayid",
            "select patientunitstayid from patient",
            "select patientunitstayid from patient where uniquepid = ? order by unitadmittime",
            key_of_sql="select uniquepid from patient where patientunitstayid = ?",
        )
        for t in ("patient", *events)
    ]
    for cellpath in ("intake", "output"):
        sources.append(
            ColumnSource(
                "intakeoutput.celllabel",
                f"select distinct celllabel from intakeoutput where cellpath like '%{cellpath}%'",
                f"select distinct celllabel from intakeoutput where cellpath like '%{cellpath}%'"
                f" and patientunitstayid in ({stays})",
                requires=(cellpath,),
            )
        )
    owned = {
        "diagnosis": ("diagnosisname", "icd9code"),
        "treatment": ("treatmentname",),
        "lab": ("labname",),
        "medication": ("drugname", "routeadmin", "dosage"),
        "allergy": ("allergyname", "drugname"),
        "intakeoutput": ("celllabel", "cellpath"),
        "microlab": ("culturesite", "organism"),
    }
    for table, columns in owned.items():
        sources += [_own(table, c, f"{table}.patientunitstayid in ({stays})") for c in columns]
    sources += [
        _own("patient", c, "patient.uniquepid = ?")
        for c in (
            "gender", "ethnicity", "wardid", "hospitalid", "hospitaladmitsource", "hospitaldischargestatus", "age",
        )
    ]
    sources.append(_own("cost", "eventtype", "cost.uniquepid = ?"))
    # "the value measured at <time>" compares a time; "the percentile of <lab> value 8.3".
    sources += [
        _own("lab", "labresulttime", f"lab.patientunitstayid in ({stays})"),
        _own("vitalperiodic", "observationtime", f"vitalperiodic.patientunitstayid in ({stays})"),
        _own("patient", "unitadmittime", "patient.uniquepid = ?"),
        ColumnSource(
            "t1.labresult",
            "select distinct labresult from lab where labresult is not null",
            f"select labresult from lab where patientunitstayid in ({stays})",
            requires=("percent_rank", "lab"),
        ),
    ]
    patient_filter = "select distinct uniquepid from patient where {} {}"
    filters = tuple(
        PatientFilter(rf"patient\.{column} {test}", patient_filter.format(column, test))
        for column in ("hospitaldischargetime", "unitdischargetime")
        for test in ("is null", "is not null")
    )
    return SlotSpace(
        name="eicu",
        patients_sql="select distinct uniquepid from patient",
        tables=tables,
        sources=tuple(sources),
        filters=filters,
    )


def _treqs_space() -> SlotSpace:
    """TREQS (MIMIC-III in five wide tables): ``subject_id`` is the patient; every table carries
    ``subject_id`` and ``hadm_id``. Values compare without case (COLLATE NOCASE) and TREQS writes
    literals in lowercase, so new values are lowercased too."""
    names = ("demographic", "diagnoses", "procedures", "prescriptions", "lab")

    def where(table: str) -> str:
        # Through hospital stays: every table is indexed by hadm_id (its join column).
        if table == "demographic":
            return "demographic.subject_id = ?"
        return f"{table}.hadm_id in (select hadm_id from demographic where subject_id = ?)"

    tables = {t: TableLink(f"select distinct subject_id from {t}", where(t)) for t in names}
    subject = "select distinct subject_id from demographic where subject_id = ?"
    sources: list[ColumnSource] = [
        ColumnSource(f"{t}.subject_id", "select distinct subject_id from demographic", subject, key_of_sql=subject)
        for t in names
    ]
    sources += [
        ColumnSource(
            f"{t}.hadm_id",
            "select hadm_id from demographic",
            "select hadm_id from demographic where subject_id = ?",
            key_of_sql="select subject_id from demographic where hadm_id = ?",
        )
        for t in names
    ]
    sources.append(
        ColumnSource(
            "demographic.name",
            "select distinct name from demographic",
            "select distinct name from demographic where subject_id = ?",
            key_of_sql="select subject_id from demographic where name = ?",
        )
    )
    owned = {
        "demographic": (
            "marital_status", "gender", "language", "religion", "admission_type", "insurance", "ethnicity",
            "admission_location", "discharge_location", "diagnosis", "expire_flag", "age", "days_stay",
            "dob_year", "dod_year", "admityear", "dob", "dod", "admittime", "dischtime",
        ),
        "diagnoses": ("icd9_code", "short_title", "long_title"),
        "procedures": ("icd9_code", "short_title", "long_title"),
        "prescriptions": ("drug_type", "drug", "formulary_drug_cd", "route", "drug_dose"),
        "lab": ("itemid", "flag", "label", "fluid", "category"),
    }
    for table, columns in owned.items():
        sources += [_own(table, c, where(table)) for c in columns]
    return SlotSpace(
        name="treqs",
        patients_sql="select distinct subject_id from demographic",
        tables=tables,
        sources=tuple(sources),
        lowercase_values=True,
    )


#: Re-anchoring knowledge of the embedded MIMIC-III database (and users' MIMIC-III CSVs).
MIMIC_III_SPACE: SlotSpace = _mimic_iii_space()
#: Re-anchoring knowledge for the eICU schema (``datasets/eicu/schema.sql``).
EICU_SPACE: SlotSpace = _eicu_space()
#: Re-anchoring knowledge for the TREQS schema (``datasets/treqs/schema.sql``).
TREQS_SPACE: SlotSpace = _treqs_space()
