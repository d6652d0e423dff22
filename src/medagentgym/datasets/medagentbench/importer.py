"""Official MedAgentBench rows -> samples that run against the user's own FHIR server.

An official row (``id``, ``instruction``, ``context``, ``sol``, ``eval_MRN``) names a patient of
the original benchmark's server (a HAPI image with 100 patients). Those patients are not in the
embedded store, so:

* without ``fhir_url`` nothing is written and a ValueError says why and what to pass;
* with ``fhir_url`` (e.g. the original image at ``http://localhost:8080/fhir/``) every row becomes
  a sample whose ``fhir_store`` resource is that server: the family comes from the row id
  (``task1`` ... ``task10``), the parameters (MRN, name and birth date, the blood pressure to
  file, the referral note, "now") from the row, and the answer and expected writes from the
  user's server through the same solvers and FHIR requests the generated samples use
  (``families.solve``). Episodes then send their GETs and POSTs to that server from the harness;
  write tasks are graded from the resources the episode created there.

Rows are untrusted: read line by line (``untrusted.iter_jsonl``); a row that cannot be read,
names an unknown family, lacks a parameter, or whose patient the server does not hold is skipped
with its line number. The output is written atomically and only when the import succeeds.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from medagentgym.catalog.dataset import ImportReport
from medagentgym.catalog.sample import SPLITS, Sample
from medagentgym.datasets.medagentbench.build import NAME
from medagentgym.datasets.medagentbench.dataset import (
    solution_of,
    store_resource,
    target_of,
)
from medagentgym.datasets.medagentbench.families import Instance, SolveError, solve
from medagentgym.datasets.medagentbench.patients import NOW_ISO
from medagentgym.fhir import RemoteEndpoint
from medagentgym.fhir.validate import ID_PATTERN
from medagentgym.untrusted import iter_jsonl, model_json, write_lines_atomic

#: The family of each official task number.
FAMILY_OF_TASK: dict[str, str] = {
    "task1": "patient_mrn",
    "task2": "patient_age",
    "task3": "record_bp",
    "task4": "latest_magnesium",
    "task5": "magnesium_replacement",
    "task6": "average_glucose",
    "task7": "latest_glucose",
    "task8": "ortho_referral",
    "task9": "potassium_replacement",
    "task10": "hba1c_check",
}
#: Longest instruction or context read from a row.
MAX_FIELD_CHARS = 20_000

_ROW_ID = re.compile(r"(task\d{1,2})_(\d{1,6})")
_NOW = re.compile(r"It's (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?) now")
_NAME_DOB = re.compile(r"name ([A-Za-z][A-Za-z' .\-]{0,80}?) and DOB of (\d{4}-\d{2}-\d{2})")
_BP = re.compile(r'"(\d{2,3}/\d{2,3} ?mmHg)"')
_NOTE = re.compile(r'free text of the referral, "(.+)"', re.DOTALL)

NO_SERVER = (
    "the official medagentbench rows name patients of the original benchmark's FHIR server "
    "(this file: {n} rows, e.g. MRN {mrn}); they are not in the embedded store, so no samples were "
    "written. Start a FHIR server that holds them (e.g. the original HAPI image) and pass its base URL "
    "with --fhir-url, e.g. --fhir-url http://localhost:8080/fhir/"
)


class RowError(ValueError):
    """A row this importer cannot turn into a sample (the message names what is wrong)."""


def _text(row: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise RowError(f"field {key!r} must be a string")
    if len(value) > MAX_FIELD_CHARS:
        raise RowError(f"field {key!r} is longer than {MAX_FIELD_CHARS} characters")
    return value


def parse_row(row: Any) -> tuple[Instance, str, str]:
    """(instance, now, official id) of one official row."""
    if not isinstance(row, dict):
        raise RowError("a row must be a JSON object")
    row_id = _text(row, "id")
    match = _ROW_ID.fullmatch(row_id)
    if match is None or match.group(1) not in FAMILY_OF_TASK:
        raise RowError(f"id {row_id[:40]!r} is not task1_<n> ... task10_<n>")
    family = FAMILY_OF_TASK[match.group(1)]
    instruction = _text(row, "instruction")
    context = _text(row, "context", required=False)
    found_now = _NOW.search(context)
    now = found_now.group(1) if found_now else NOW_ISO
    try:
        moment = datetime.fromisoformat(now)
    except ValueError:
        raise RowError(f"the time {now!r} in the context is not a date-time") from None
    if moment.tzinfo is None:
        now = now + "+00:00"
    mrn = _text(row, "eval_MRN", required=family != "patient_mrn")
    params: dict[str, Any] = {}
    if family == "patient_mrn":
        named = _NAME_DOB.search(instruction)
        if named is None:
            raise RowError("the instruction names no patient and birth date")
        *given, family_name = named.group(1).split()
        if not given:
            raise RowError("the patient's name needs a given and a family name")
        params = {"given": " ".join(given), "family": family_name, "birth_date": named.group(2)}
        mrn = ""
    elif not ID_PATTERN.fullmatch(mrn):
        raise RowError(f"eval_MRN {mrn[:40]!r} is not a FHIR id")
    if family == "record_bp":
        reading = _BP.search(instruction)
        if reading is None:
            raise RowError("the instruction gives no blood pressure in quotes")
        params = {"bp": reading.group(1)}
    elif family == "ortho_referral":
        note = _NOTE.search(instruction)
        if note is None:
            raise RowError("the instruction gives no referral text in quotes")
        params = {"note_text": note.group(1).strip()}
    return Instance(family, "imported", mrn, params), now, row_id


def _check_url(fhir_url: str) -> str:
    parts = urlsplit(fhir_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.username or parts.query or parts.fragment:
        raise ValueError(f"--fhir-url {fhir_url[:80]!r} must be an http(s) base URL such as http://localhost:8080/fhir/")
    return fhir_url.rstrip("/") + "/"


def import_rows(
    source: Path,
    output: Path,
    *,
    fhir_url: str | None = None,
    split: str = "test",
    transport: Any = None,
    **options: Any,
) -> ImportReport:
    """Import official rows against the server at ``fhir_url`` (see the module doc)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    lines = list(iter_jsonl(source))
    if fhir_url is None:
        mrns = [ln.value.get("eval_MRN") for ln in lines if isinstance(ln.value, dict) and ln.value.get("eval_MRN")]
        raise ValueError(NO_SERVER.format(n=len(lines), mrn=str(mrns[0])[:20] if mrns else "S1234567"))
    base = _check_url(fhir_url)
    endpoint = RemoteEndpoint(base, transport=transport)
    messages: list[str] = []
    samples: list[Sample] = []
    agreement = {"checked": 0, "agree": 0}
    reasons: Counter[str] = Counter()  # ImportReport.skipped_by_reason
    try:
        probe = endpoint.get("metadata")
        if not probe.ok:
            raise ValueError(f"the FHIR server at {base} does not answer (GET metadata -> {probe.status})")

        def fetch(url: str) -> dict[str, Any]:
            response = endpoint.get(url)
            if response.ok or response.status in (404, 410):
                return response.body
            raise SolveError(f"GET {url[:120]} -> {response.status}")

        for line in lines:
            if line.error is not None:
                reasons["unreadable line"] += 1
                messages.append(f"line {line.number}: skipped, unreadable row ({line.error})")
                continue
            reason = "row not understood"
            try:
                instance, now, row_id = parse_row(line.value)
                reason = "patient not on the server"
                if instance.mrn and fetch(f"Patient/{instance.mrn}").get("resourceType") != "Patient":
                    raise RowError(f"patient {instance.mrn} is not on the server at {base}")
                reason = "not solvable on the server"
                solved = solve(instance, fetch, now)
            except (RowError, SolveError, KeyError, ValueError, TypeError) as exc:
                reasons[reason] += 1
                messages.append(f"line {line.number}: skipped, {str(exc).splitlines()[0][:200]}")
                continue
            official = line.value.get("sol")
            if instance.family == "patient_mrn" and isinstance(official, list) and official:
                agreement["checked"] += 1
                agreement["agree"] += int(str(official[0]) == str(solved.answer))
            context = _text(line.value, "context", required=False)
            samples.append(
                Sample(
                    id=f"{NAME}/{instance.family}/{split}/official-{row_id}",
                    dataset=NAME,
                    category=instance.family,
                    split=split,  # type: ignore[arg-type]
                    index=line.number - 1,
                    seed=0,
                    prompt=(_text(line.value, "instruction").strip() + ("\n\n" + context.strip() if context else "")),
                    resources=(store_resource(base, f"the FHIR R4 server at {base}"),),
                    target=target_of(solved),
                    solution=solution_of(solved),
                    metadata={"official_id": row_id, "mrn": instance.mrn, "params": instance.params,
                              "now": now, "fhir_url": base, "line": line.number},
                )
            )
    finally:
        endpoint.close()
    if not samples:
        raise ValueError(f"no row of {source} could be imported against {base}: " + "; ".join(messages[:3]))
    write_lines_atomic(output, (model_json(s) for s in samples))
    if agreement["checked"]:
        messages.append(
            f"patient lookups: the server's answer agrees with the file's for {agreement['agree']} of "
            f"{agreement['checked']} rows"
        )
    return ImportReport(
        dataset=NAME,
        source=str(source),
        rows_read=len(lines),
        samples_written=len(samples),
        rows_skipped=len(lines) - len(samples),
        skipped_by_reason=dict(reasons),
        details={"fhir_url": base, "lookup_agreement": agreement},
        messages=messages,
    )
