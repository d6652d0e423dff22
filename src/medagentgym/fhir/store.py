"""A FHIR R4 record store on SQLite: resources as JSON, search indexes, create, per-episode copies.

Layout (one file, self-contained, rollback journal so a plain file copy is a complete store):

* ``resources(pk, type, id, json)``: one row per resource; ``pk`` is the insertion order;
* ``idx_token(pk, param, system, code)``, ``idx_string(pk, param, norm, raw)``,
  ``idx_date(pk, param, low, high)``, ``idx_ref(pk, param, target)``: one row per value a
  search parameter of ``resources.py`` reads from a resource, written when it is stored;
* ``meta(key, value)``: the base URL, the store's clock (``now``: what ``meta.lastUpdated`` of a
  created resource says) and ``sealed_pk``, the last row of the template.

A dataset builds a *template* store once per split (``FhirStore.build`` + ``add`` + ``seal``);
every episode works on its own copy (``copy_store``), so K samples and parallel episodes never
see each other's writes, and a write task is graded from ``created()``: the resources past the
template's last row.

Search semantics follow FHIR R4 for the parameters the store defines: token ``[system|]code``
(``system|`` any code of a system, ``|code`` a code without system), string (case- and
accent-insensitive prefix; ``:exact``, ``:contains``), date with prefixes ``eq ne gt lt ge le sa
eb`` on precision ranges (``dates.py``), references (``patient=S123``, ``Patient/S123`` or the
absolute URL); a comma inside one parameter is OR, repeated parameters are AND; ``_sort``
(date parameters, ``_id``, ``_lastUpdated``; ``-`` for descending), ``_count``, ``_offset``,
``_summary=count``. Values are only ever bound as SQL parameters; parameter and column names
come from the tables in ``resources.py``, never from the request.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from medagentgym.fhir.dates import DateRange, FhirDateError, parse_search, parse_value
from medagentgym.fhir.resources import RESOURCE_DEFS, ResourceDef, SearchParam
from medagentgym.fhir.validate import (
    ID_PATTERN,
    Issue,
    split_reference,
    validate_resource,
)

DEFAULT_BASE_URL = "http://localhost:8080/fhir/"
#: Entries per page when a search names no ``_count``, and the most it may ask for.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: Most values one comma-separated parameter may hold (each is an OR branch of the query).
MAX_OR_VALUES = 20
#: Longest JSON body a create accepts (characters).
MAX_BODY_CHARS = 64_000

_MIN_TIME = -(2**62)
_MAX_TIME = 2**62

_SCHEMA = """
create table resources (
  pk integer primary key,
  type text not null,
  id text not null,
  json text not null,
  unique (type, id)
);
create table idx_token (pk integer not null, param text not null, system text not null, code text not null);
create table idx_string (pk integer not null, param text not null, norm text not null, raw text not null);
create table idx_date (pk integer not null, param text not null, low integer not null, high integer not null);
create table idx_ref (pk integer not null, param text not null, target text not null);
create table meta (key text primary key, value text not null);
create index idx_token_lookup on idx_token (param, code, system, pk);
create index idx_string_lookup on idx_string (param, norm, pk);
create index idx_date_lookup on idx_date (param, pk, low, high);
create index idx_ref_lookup on idx_ref (param, target, pk);
create index resources_type on resources (type, pk);
"""


class FhirStoreError(RuntimeError):
    """The store file is missing, unreadable or not a store."""


class SearchError(ValueError):
    """A search the store cannot run (unknown parameter, bad value); shown to the agent."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class CreateError(ValueError):
    """A create the store refused; ``issues`` say why (the store is unchanged)."""

    def __init__(self, issues: list[Issue], status: int = 400, dropped: int = 0) -> None:
        super().__init__("; ".join(f"{i.expression}: {i.diagnostics}" for i in issues[:3]))
        self.issues = issues
        self.status = status
        self.dropped = dropped


@dataclass(frozen=True)
class SearchResult:
    """One page of a search: the matching resources of the page and the total."""

    resources: list[dict[str, Any]]
    total: int
    offset: int
    count: int
    summary_count: bool = False


def normalize_string(text: str) -> str:
    """How string search compares: accents removed, case folded, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def values_at(resource: Any, path: str) -> Iterator[Any]:
    """The values at a dotted element path, arrays flattened at every step."""
    current: list[Any] = [resource]
    for step in path.split("."):
        following: list[Any] = []
        for item in current:
            if isinstance(item, dict) and step in item:
                value = item[step]
                following.extend(value if isinstance(value, list) else [value])
        current = following
    yield from current


def _tokens(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, bool):
        yield "", "true" if value else "false"
    elif isinstance(value, str):
        yield "", value
    elif isinstance(value, dict):
        if isinstance(value.get("coding"), list):
            for coding in value["coding"]:
                if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                    yield str(coding.get("system") or ""), coding["code"]
        elif isinstance(value.get("code"), str):
            yield str(value.get("system") or ""), value["code"]
        elif isinstance(value.get("value"), str):  # Identifier, ContactPoint
            system = value.get("system")
            yield (system if isinstance(system, str) and ":" in system else ""), value["value"]


def _date_range(value: Any) -> DateRange | None:
    try:
        if isinstance(value, str):
            return parse_value(value)
        if isinstance(value, dict) and ("start" in value or "end" in value):
            low = parse_value(value["start"]).low if "start" in value else _MIN_TIME
            high = parse_value(value["end"]).high if "end" in value else _MAX_TIME
            return DateRange(low, high)
    except FhirDateError:
        return None
    return None


class FhirStore:
    """One store file. Thread-safe (one lock): the env uses it from executor threads, the HTTP
    server from its worker threads."""

    def __init__(
        self,
        path: str | Path,
        *,
        readonly: bool = False,
        max_creates: int | None = None,
        base_url: str | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FhirStoreError(f"no FHIR store at {self.path}")
        uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
        try:
            self._con = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            self._con.execute("pragma synchronous = off")
            self._meta = dict(self._con.execute("select key, value from meta").fetchall())
        except sqlite3.Error as exc:
            raise FhirStoreError(f"{self.path} is not a FHIR store ({exc})") from None
        if not readonly:
            self._con.execute("pragma journal_mode = memory")  # a throwaway copy: no journal file
        self.readonly = readonly
        self.max_creates = max_creates
        # ``base_url`` overrides the stored one (a store served at another address)
        self.base_url = base_url or self._meta.get("base_url", DEFAULT_BASE_URL)
        self.now = self._meta.get("now")
        self.sealed_pk = int(self._meta.get("sealed_pk", "0"))
        self._lock = threading.Lock()

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def build(cls, path: str | Path, *, now: str, base_url: str = DEFAULT_BASE_URL) -> FhirStore:
        """A new, empty store at ``path`` (which must not exist) whose clock reads ``now``."""
        parse_value(now)
        path = Path(path)
        con = sqlite3.connect(path)
        try:
            con.executescript(_SCHEMA)
            con.executemany(
                "insert into meta values (?, ?)", [("base_url", base_url), ("now", now), ("sealed_pk", "0")]
            )
            con.commit()
        finally:
            con.close()
        return cls(path)

    def add(self, resource: dict[str, Any]) -> None:
        """Store a trusted resource as given (generators, tests): its id is kept, not checked."""
        with self._lock:
            self._insert(resource["resourceType"], str(resource["id"]), resource)

    def add_many(self, resources: Sequence[dict[str, Any]]) -> None:
        """``add`` for many resources in one transaction (a template build)."""
        with self._lock:
            self._con.execute("begin")
            try:
                for resource in resources:
                    self._insert(resource["resourceType"], str(resource["id"]), resource)
                self._con.execute("commit")
            except BaseException:
                self._con.execute("rollback")
                raise

    def seal(self) -> None:
        """Mark every resource stored so far as the template's: ``created()`` lists only later ones.
        Also compacts the file and analyses it for the query planner."""
        with self._lock:
            last = self._con.execute("select coalesce(max(pk), 0) from resources").fetchone()[0]
            self._con.execute("insert or replace into meta values ('sealed_pk', ?)", (str(last),))
            self._con.execute("analyze")
            self._con.execute("vacuum")
            self.sealed_pk = int(last)

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._con.execute("insert or replace into meta values (?, ?)", (key, value))
            self._meta[key] = value

    def meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def _insert(self, type_name: str, ident: str, resource: dict[str, Any]) -> int:
        definition = RESOURCE_DEFS.get(type_name)
        if definition is None:
            raise ValueError(f"the store does not hold {type_name} resources")
        cursor = self._con.execute(
            "insert into resources (type, id, json) values (?, ?, ?)",
            (type_name, ident, json.dumps(resource, ensure_ascii=False, separators=(",", ":"))),
        )
        pk = int(cursor.lastrowid or 0)
        self._index(pk, definition, resource)
        return pk

    def _index(self, pk: int, definition: ResourceDef, resource: dict[str, Any]) -> None:
        tokens, strings, dates, refs = [], [], [], []
        for param in definition.params.values():
            for path in param.paths:
                for value in values_at(resource, path):
                    if param.kind == "token":
                        tokens += [(pk, param.name, system, code) for system, code in _tokens(value)]
                    elif param.kind == "string" and isinstance(value, str):
                        strings.append((pk, param.name, normalize_string(value), value))
                    elif param.kind == "date":
                        span = _date_range(value)
                        if span is not None:
                            dates.append((pk, param.name, span.low, span.high))
                    elif param.kind == "reference" and isinstance(value, str):
                        refs.append((pk, param.name, self._ref_key(value)))
        self._con.executemany("insert into idx_token values (?, ?, ?, ?)", tokens)
        self._con.executemany("insert into idx_string values (?, ?, ?, ?)", strings)
        self._con.executemany("insert into idx_date values (?, ?, ?, ?)", dates)
        self._con.executemany("insert into idx_ref values (?, ?, ?)", refs)

    def _ref_key(self, reference: str) -> str:
        parts = split_reference(reference, self.base_url)
        return f"{parts[0]}/{parts[1]}" if parts else reference

    # -- reading -------------------------------------------------------------------------------

    def read(self, type_name: str, ident: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._con.execute(
                "select json from resources where type = ? and id = ?", (type_name, ident)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def exists(self, type_name: str, ident: str) -> bool:
        with self._lock:
            return self._exists(type_name, ident)

    def _exists(self, type_name: str, ident: str) -> bool:
        row = self._con.execute("select 1 from resources where type = ? and id = ?", (type_name, ident)).fetchone()
        return row is not None

    def count(self, type_name: str | None = None) -> int:
        with self._lock:
            if type_name is None:
                return int(self._con.execute("select count(*) from resources").fetchone()[0])
            return int(
                self._con.execute("select count(*) from resources where type = ?", (type_name,)).fetchone()[0]
            )

    def created(self) -> list[dict[str, Any]]:
        """Every resource stored after the template was sealed, in order (the episode's writes)."""
        with self._lock:
            rows = self._con.execute(
                "select json from resources where pk > ? order by pk", (self.sealed_pk,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def search(self, type_name: str, params: Sequence[tuple[str, str]]) -> SearchResult:
        """Run a search; raises :class:`SearchError` for what the store cannot answer."""
        definition = RESOURCE_DEFS.get(type_name)
        if definition is None:
            raise SearchError(f"unknown resource type {type_name[:40]!r} (known: {', '.join(RESOURCE_DEFS)})", 404)
        plan = _plan_search(definition, params, self._ref_key)
        where = " and ".join(["r.type = ?", *plan.clauses])
        args: list[Any] = [type_name, *plan.args]
        with self._lock:
            total = int(self._con.execute(f"select count(*) from resources r where {where}", args).fetchone()[0])
            if plan.summary_count or plan.count == 0:
                rows: list[tuple[str]] = []
            else:
                rows = self._con.execute(
                    f"select r.json from resources r where {where} order by {plan.order} limit ? offset ?",
                    [*args, *plan.order_args, plan.count, plan.offset],
                ).fetchall()
        return SearchResult(
            [json.loads(r[0]) for r in rows], total, plan.offset, plan.count, plan.summary_count
        )

    # -- writing -------------------------------------------------------------------------------

    def create(self, type_name: str, payload: Any) -> dict[str, Any]:
        """Validate and store a new resource; returns it as stored (with its new id and meta).

        Raises :class:`CreateError` with every problem found; nothing is written then.
        """
        if self.readonly:
            raise CreateError([Issue(type_name, "this store is read-only", "forbidden")], 403)
        if type_name not in RESOURCE_DEFS:
            raise CreateError(
                [Issue(type_name, f"unknown resource type (known: {', '.join(RESOURCE_DEFS)})", "not-supported")],
                404,
            )
        with self._lock:
            issues, dropped = validate_resource(type_name, payload, self._check_reference)
            if issues:
                raise CreateError(issues, 400, dropped)
            if self.max_creates is not None:
                made = self._con.execute("select count(*) from resources where pk > ?", (self.sealed_pk,)).fetchone()[0]
                if made >= self.max_creates:
                    raise CreateError(
                        [Issue(type_name, f"this store accepts at most {self.max_creates} new resources", "too-costly")],
                        429,
                    )
            resource = {k: v for k, v in payload.items() if k not in ("id", "meta")}
            self._con.execute("begin")
            try:
                pk = int(self._con.execute("select coalesce(max(pk), 0) + 1 from resources").fetchone()[0])
                ident = str(pk)
                while self._exists(type_name, ident):
                    pk += 1
                    ident = str(pk)
                stored = {
                    "resourceType": type_name,
                    "id": ident,
                    "meta": {"versionId": "1", "lastUpdated": self.now or _wall_clock()},
                    **{k: v for k, v in resource.items() if k != "resourceType"},
                }
                self._insert(type_name, ident, stored)
                self._con.execute("commit")
            except BaseException:
                self._con.execute("rollback")
                raise
        return stored

    def _check_reference(self, reference: str) -> tuple[str, str] | None:
        if reference.startswith("#"):
            return None  # a contained resource
        parts = split_reference(reference, self.base_url)
        if parts is None:
            return (
                "value",
                f"{reference[:60]!r} is not a reference to this server (write Type/id, e.g. Patient/S1234567)",
            )
        type_name, ident = parts
        if type_name in RESOURCE_DEFS and not self._exists(type_name, ident):
            return "not-found", f"no {type_name} with id {ident!r} on this server"
        return None

    # -- copies --------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _wall_clock() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def copy_store(template: str | Path, destination: str | Path) -> Path:
    """Copy a template store file to ``destination`` (a plain file copy: the template is
    self-contained, see the module doc). The copy is what one episode reads and writes."""
    template, destination = Path(template), Path(destination)
    if not template.is_file():
        raise FhirStoreError(f"no FHIR store at {template}")
    shutil.copyfile(template, destination)
    return destination


# -- search planning ---------------------------------------------------------------------------


@dataclass
class _Plan:
    clauses: list[str]
    args: list[Any]
    order: str
    order_args: list[Any]
    count: int
    offset: int
    summary_count: bool


_RESULT_PARAMS = ("_count", "_offset", "_sort", "_summary", "_format", "_pretty", "_total")
_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")


def _plan_search(
    definition: ResourceDef, params: Sequence[tuple[str, str]], ref_key: Any
) -> _Plan:
    clauses: list[str] = []
    args: list[Any] = []
    count, offset, summary_count = DEFAULT_PAGE_SIZE, 0, False
    order, order_args = "r.pk", []
    for raw_name, value in params:
        name, _, modifier = raw_name.partition(":")
        if name in _RESULT_PARAMS:
            if modifier:
                raise SearchError(f"{name} takes no modifier")
            if name == "_count":
                count = _int_param(name, value, 0, MAX_PAGE_SIZE)
            elif name == "_offset":
                offset = _int_param(name, value, 0, 10**9)
            elif name == "_sort":
                order, order_args = _sort_clause(definition, value)
            elif name == "_summary":
                if value not in ("count", "false"):
                    raise SearchError("_summary supports count and false only")
                summary_count = value == "count"
            elif name == "_format" and value.lower() not in _FORMATS:
                raise SearchError("only JSON is served (_format=json)", 406)
            continue
        param = definition.params.get(name)
        if param is None:
            known = ", ".join(sorted(definition.params))
            raise SearchError(
                f"unknown search parameter {raw_name[:40]!r} for {definition.name} (supported: {known}; "
                f"and {', '.join(p for p in _RESULT_PARAMS if p not in ('_pretty', '_total'))})"
            )
        clause, clause_args = _clause(param, modifier, value, ref_key)
        clauses.append(clause)
        args += clause_args
    return _Plan(clauses, args, order, order_args, count, offset, summary_count)


def _int_param(name: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or len(value) > 10:
        raise SearchError(f"{name} must be a whole number")
    number = int(value)
    if not low <= number <= high:
        raise SearchError(f"{name} must be between {low} and {high}")
    return number


def _sort_clause(definition: ResourceDef, value: str) -> tuple[str, list[Any]]:
    keys = [k for k in value.split(",") if k]
    if not keys or len(keys) > 3:
        raise SearchError("_sort takes one to three keys, e.g. _sort=-date")
    parts: list[str] = []
    args: list[Any] = []
    for key in keys:
        descending = key.startswith("-")
        name = key[1:] if descending else key
        if name == "_id":
            parts.append(f"r.id {'desc' if descending else 'asc'}")
            continue
        param = definition.params.get(name)
        if param is None or param.kind != "date":
            sortable = sorted(p.name for p in definition.params.values() if p.kind == "date")
            raise SearchError(f"cannot sort by {name[:40]!r} (sortable: _id, {', '.join(sortable)})")
        if descending:
            parts.append("(select max(d.high) from idx_date d where d.pk = r.pk and d.param = ?) desc nulls last")
        else:
            parts.append("(select min(d.low) from idx_date d where d.pk = r.pk and d.param = ?) asc nulls last")
        args.append(param.name)
    parts.append("r.pk")
    return ", ".join(parts), args


def _split_or(value: str) -> list[str]:
    """The comma-separated alternatives of one parameter (``\\,`` is a literal comma)."""
    items: list[str] = []
    current: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    if len(items) > MAX_OR_VALUES:
        raise SearchError(f"at most {MAX_OR_VALUES} comma-separated values per parameter")
    if any(not item for item in items):
        raise SearchError("a search value must not be empty")
    return items


def _clause(param: SearchParam, modifier: str, value: str, ref_key: Any) -> tuple[str, list[Any]]:
    alternatives = _split_or(value)
    conditions: list[str] = []
    args: list[Any] = [param.name]
    if param.kind == "token":
        if modifier:
            raise SearchError(f"{param.name} (a token) takes no modifier")
        table = "idx_token"
        for item in alternatives:
            if "|" in item:
                system, _, code = item.partition("|")
                if code:
                    conditions.append("(code = ? and system = ?)")
                    args += [code, system]
                else:
                    conditions.append("(system = ?)")
                    args.append(system)
            else:
                conditions.append("(code = ?)")
                args.append(item)
    elif param.kind == "string":
        if modifier not in ("", "exact", "contains"):
            raise SearchError(f"{param.name} supports the modifiers :exact and :contains")
        table = "idx_string"
        for item in alternatives:
            if modifier == "exact":
                conditions.append("(raw = ?)")
                args.append(item)
            elif modifier == "contains":
                conditions.append("(instr(norm, ?) > 0)")
                args.append(normalize_string(item))
            else:
                norm = normalize_string(item)
                conditions.append("(norm >= ? and norm < ?)")
                args += [norm, norm + "\U0010ffff"]
    elif param.kind == "date":
        if modifier:
            raise SearchError(f"{param.name} (a date) takes no modifier; use a prefix such as ge or lt")
        table = "idx_date"
        for item in alternatives:
            try:
                prefix, span = parse_search(item)
            except FhirDateError as exc:
                raise SearchError(f"{param.name}: {exc}") from None
            condition, condition_args = _date_condition(prefix, span)
            conditions.append(condition)
            args += condition_args
    else:  # reference
        if modifier and modifier != param.target:
            raise SearchError(f"{param.name} does not support the modifier :{modifier[:20]}")
        table = "idx_ref"
        for item in alternatives:
            key = ref_key(item)
            if "/" not in key:
                key = f"{param.target or 'Patient'}/{item}"
            elif param.target and not key.startswith(param.target + "/"):
                raise SearchError(f"{param.name} must name a {param.target}")
            conditions.append("(target = ?)")
            args.append(key)
    if param.kind == "date":
        # dates rarely narrow a search on their own: checked per candidate row (the patient or
        # code has already picked few), instead of materialising every date of the parameter
        sql = f"exists (select 1 from {table} where pk = r.pk and param = ? and ({' or '.join(conditions)}))"
    else:
        sql = f"r.pk in (select pk from {table} where param = ? and ({' or '.join(conditions)}))"
    return sql, args


def _date_condition(prefix: str, span: DateRange) -> tuple[str, list[int]]:
    """FHIR R4 prefix semantics over ranges: the stored value is [low, high), the searched one
    [span.low, span.high)."""
    eq = "(low >= ? and high <= ?)"
    if prefix == "eq":
        return eq, [span.low, span.high]
    if prefix == "ne":
        return "not (low >= ? and high <= ?)", [span.low, span.high]
    if prefix == "gt":
        return "(high > ?)", [span.high]
    if prefix == "lt":
        return "(low < ?)", [span.low]
    if prefix == "ge":
        return f"(high > ? or {eq})", [span.high, span.low, span.high]
    if prefix == "le":
        return f"(low < ? or {eq})", [span.low, span.low, span.high]
    if prefix == "sa":
        return "(low >= ?)", [span.high]
    if prefix == "eb":
        return "(high <= ?)", [span.low]
    raise SearchError(f"unknown date prefix {prefix!r}")  # pragma: no cover - parse_search checks


def valid_id(ident: str) -> bool:
    return bool(ID_PATTERN.fullmatch(ident))
