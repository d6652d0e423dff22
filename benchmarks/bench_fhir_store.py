"""What the FHIR record store costs: template builds, per-episode copies, and request latency.

    python benchmarks/bench_fhir_store.py [--repeats N]

In a fresh temporary cache, prints:

* the build of both template stores (medagentbench's generator, ~100 patients per split);
* the per-episode copy the env makes (``copy_store``: a plain file copy, then open) beside two
  baselines: SQLite's online backup API into a new file, and re-building the store from the
  generator; plus the env's whole ``EpisodeStore`` life (copy, open, close, delete);
* the latency of each of the nine API endpoints through ``service.handle`` (what ``fhir_get`` and
  ``fhir_post`` run), median and 95th percentile over random patients, and one env step
  (parse, request, render) beside it; and, as a baseline for the search indexes, the same
  Observation search done by scanning every Observation's JSON in Python.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timings(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def row(label: str, values: list[float], baseline: float | None = None) -> None:
    median, p95 = summary(values)
    ratio = f"  x{baseline / median:6.1f} faster than the baseline" if baseline else ""
    print(f"  {label:<48} median {median:8.3f} ms   p95 {p95:8.3f} ms{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="requests (and copies) measured per row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fhir-") as cache:
        os.environ["MEDAGENTGYM_CACHE"] = cache
        run(args.repeats, Path(cache))


def run(repeats: int, cache: Path) -> None:
    from medagentgym.datasets.medagentbench.build import build_store
    from medagentgym.datasets.medagentbench.patients import NOW_ISO, generate_patients
    from medagentgym.env import MedAgentEnv
    from medagentgym.fhir import EpisodeStore, FhirStore, copy_store, handle

    print("template build (both splits)")
    start = time.perf_counter()
    template = build_store("test")
    build_store("train")
    print(f"  {'build_store train + test':<48} {time.perf_counter() - start:8.3f} s")
    with FhirStore(template, readonly=True) as store:
        print(f"  test store: {store.count()} resources, {template.stat().st_size / 1e6:.2f} MB")

    print("\nper-episode store (candidate: file copy + open)")
    work = cache / "copies"
    work.mkdir()
    counter = iter(range(10**9))

    def file_copy() -> None:
        FhirStore(copy_store(template, work / f"c{next(counter)}.sqlite")).close()

    def backup_api() -> None:
        source = sqlite3.connect(f"file:{template}?mode=ro", uri=True)
        target = sqlite3.connect(work / f"b{next(counter)}.sqlite")
        source.backup(target)
        source.close()
        target.close()

    def rebuild() -> None:
        path = work / f"r{next(counter)}.sqlite"
        with FhirStore.build(path, now=NOW_ISO) as store:
            store.add_many([r for p in generate_patients("test") for r in p.resources])
            store.seal()

    rebuilt = timings(rebuild, max(3, repeats // 40))
    backed = timings(backup_api, repeats // 4)
    copied = timings(file_copy, repeats // 4)
    episode = timings(lambda: EpisodeStore(template).close(), repeats // 4)
    row("baseline: re-build from the generator", rebuilt)
    row("baseline: sqlite3 backup API", backed)
    row("candidate: copy_store + open", copied, summary(backed)[0])
    print(f"  {'':<48} (x{summary(rebuilt)[0] / summary(copied)[0]:.0f} faster than re-building)")
    row("EpisodeStore: temp dir, copy, open, close, delete", episode)

    print("\nrequests on an episode copy (service.handle)")
    rng = random.Random(0)
    patients = [p for p in generate_patients("test")]
    endpoint = EpisodeStore(template, max_creates=None)
    store = endpoint.store

    def some() -> Any:
        return rng.choice(patients)

    def patient_search() -> str:
        p = some()
        return f"Patient?family={p.family}&birthdate={p.birth_date}"

    def obs_search() -> str:
        return f"Observation?patient={some().mrn}&code=MG&date=ge2023-11-12T10:15:00%2B00:00&_sort=-date&_count=1"

    requests: list[tuple[str, Callable[[], Any]]] = [
        ("GET Patient?family&birthdate", lambda: handle(store, "GET", patient_search())),
        ("GET Patient/id (read)", lambda: handle(store, "GET", f"Patient/{some().mrn}")),
        ("GET Observation labs (code, date, sort, count)", lambda: handle(store, "GET", obs_search())),
        ("GET Observation vital-signs", lambda: handle(store, "GET", f"Observation?patient={some().mrn}&category=vital-signs")),
        ("GET MedicationRequest", lambda: handle(store, "GET", f"MedicationRequest?patient={some().mrn}")),
        ("GET Procedure (date)", lambda: handle(store, "GET", f"Procedure?patient={some().mrn}&date=ge2019-01-01")),
        ("GET Condition (category)", lambda: handle(store, "GET", f"Condition?patient={some().mrn}&category=problem-list-item")),
        ("POST Observation", lambda: handle(store, "POST", "Observation", {
            "resourceType": "Observation", "status": "final", "code": {"text": "BP"},
            "category": [{"coding": [{"system": "http://hl7.org/fhir/observation-category", "code": "vital-signs"}]}],
            "subject": {"reference": f"Patient/{some().mrn}"}, "effectiveDateTime": NOW_ISO,
            "valueString": "120/80 mmHg"})),
        ("POST MedicationRequest", lambda: handle(store, "POST", "MedicationRequest", {
            "resourceType": "MedicationRequest", "status": "active", "intent": "order", "authoredOn": NOW_ISO,
            "medicationCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0338-1715-40"}]},
            "dosageInstruction": [{"route": {"text": "IV"}, "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "g"}}]}],
            "subject": {"reference": f"Patient/{some().mrn}"}})),
        ("POST ServiceRequest", lambda: handle(store, "POST", "ServiceRequest", {
            "resourceType": "ServiceRequest", "status": "active", "intent": "order", "priority": "stat",
            "authoredOn": NOW_ISO, "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
            "subject": {"reference": f"Patient/{some().mrn}"}})),
    ]
    for label, request in requests:
        row(label, timings(request, repeats))

    def scan() -> list[dict[str, Any]]:
        mrn = some().mrn
        found = []
        for (text,) in store._con.execute("select json from resources where type = 'Observation'"):
            resource = json.loads(text)
            if resource.get("subject", {}).get("reference") == f"Patient/{mrn}" and any(
                c.get("code") == "MG" for c in resource.get("code", {}).get("coding", [])
            ) and resource.get("effectiveDateTime", "") >= "2023-11-12T10:15:00+00:00":
                found.append(resource)
        return sorted(found, key=lambda r: r["effectiveDateTime"], reverse=True)[:1]

    scanned = timings(scan, max(10, repeats // 10))
    indexed = timings(lambda: handle(store, "GET", obs_search()), repeats)
    print()
    row("baseline: the lab search as a JSON scan in Python", scanned)
    row("candidate: the lab search on the indexes", indexed, summary(scanned)[0])
    endpoint.close()

    from medagentgym.datasets.medagentbench.dataset import DATASET

    sample = DATASET.generate("latest_magnesium", "test", 0)
    env = MedAgentEnv()
    env.reset(options={"sample": sample})
    url = json.loads(sample.solution.code)[0]["url"]
    step = timings(lambda: env.step(json.dumps({"action": "fhir_get", "url": url})), min(repeats, 14))
    row("env.step(fhir_get): parse, request, render", step)
    env.close()
    resets = timings(lambda: (env.reset(options={"sample": sample}), env.end_episode()), max(5, repeats // 10))
    row("env.reset + end_episode (copy made and deleted)", resets)
    env.close()


if __name__ == "__main__":
    main()
