"""Drug-dose calculators of MedCalc-Bench: steroid conversion and morphine milligram equivalents.

Both are equivalence tables applied to doses. The tables live inside the calculators (their
source is embedded verbatim in reference solutions, so they use nothing but arithmetic), and the
unit conversions below follow ``units.py``'s style. Drug names are the official labels with their
tall-man lettering ("PrednisoLONE PO", "HYDROmorphone"); the steroid calculator reads them case-
insensitively.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from medagentgym.datasets.medcalcbench.facts import Choice, Display, Quantity

# --------------------------------------------------------------------------- calculators


def steroid_conversion(input_steroid: str, input_dose_mg: float, target_steroid: str) -> float:
    """The dose of ``target_steroid`` (mg) with the glucocorticoid effect of ``input_dose_mg`` of
    ``input_steroid``: dose x equivalent(target) / equivalent(input).

    Equivalent anti-inflammatory doses (mg): betamethasone 0.75, cortisone 25, dexamethasone
    0.75, hydrocortisone 20, methylprednisolone 4, prednisolone 5, prednisone 5, triamcinolone 4
    (Meikle & Tyler, Am J Med 1977;63:200; Liu et al., Allergy Asthma Clin Immunol 2013;9:30;
    the table of MDCalc's Steroid Conversion Calculator). IV and PO doses of one drug are taken as
    equivalent, as that table and MedCalc-Bench do. MedCalc-Bench's labels multiply by factors
    rounded to 3 significant digits (6.67 for 5/0.75); the difference stays far inside ±5%.
    """
    equivalent_mg = {
        "betamethasone iv": 0.75,
        "cortisone po": 25.0,
        "dexamethasone iv": 0.75,
        "dexamethasone po": 0.75,
        "hydrocortisone iv": 20.0,
        "hydrocortisone po": 20.0,
        "methylprednisolone iv": 4.0,
        "methylprednisolone po": 4.0,
        "prednisolone po": 5.0,
        "prednisone po": 5.0,
        "triamcinolone iv": 4.0,
    }
    source = " ".join(input_steroid.split()).lower()
    target = " ".join(target_steroid.split()).lower()
    for name in (source, target):
        if name not in equivalent_mg:
            raise ValueError(f"no equivalent dose for the steroid {name!r}")
    if not (math.isfinite(input_dose_mg) and input_dose_mg >= 0):
        raise ValueError(f"a steroid dose must be a finite number >= 0 mg, not {input_dose_mg!r}")
    return input_dose_mg * equivalent_mg[target] / equivalent_mg[source]


def morphine_milligram_equivalents(
    codeine_mg: float = 0.0,
    codeine_per_day: float = 0.0,
    fentanyl_buccal_ug: float = 0.0,
    fentanyl_buccal_per_day: float = 0.0,
    fentanyl_patch_ug_hr: float = 0.0,
    fentanyl_patch_per_day: float = 0.0,
    hydrocodone_mg: float = 0.0,
    hydrocodone_per_day: float = 0.0,
    hydromorphone_mg: float = 0.0,
    hydromorphone_per_day: float = 0.0,
    methadone_mg: float = 0.0,
    methadone_per_day: float = 0.0,
    morphine_mg: float = 0.0,
    morphine_per_day: float = 0.0,
    oxycodone_mg: float = 0.0,
    oxycodone_per_day: float = 0.0,
    oxymorphone_mg: float = 0.0,
    oxymorphone_per_day: float = 0.0,
    tapentadol_mg: float = 0.0,
    tapentadol_per_day: float = 0.0,
    tramadol_mg: float = 0.0,
    tramadol_per_day: float = 0.0,
) -> float:
    """Total daily morphine milligram equivalents: the sum over opioids of
    dose x doses per day x MME conversion factor.

    Factors per mg (CDC Clinical Practice Guideline for Prescribing Opioids for Pain, Dowell et
    al., MMWR Recomm Rep 2022;71(3), Table): codeine 0.15, hydrocodone 1, hydromorphone 5,
    methadone 4.7, morphine 1, oxycodone 1.5, oxymorphone 3, tapentadol 0.4, tramadol 0.2;
    fentanyl buccal or sublingual 0.13 per µg (CMS / CDC 2016 conversion table); transdermal
    fentanyl 2.4 per µg/h. For a patch, "doses per day" is the number of patches counted, the
    MedCalc-Bench convention (its rows give the patch rate with the unit "mg" and multiply by
    the frequency as for any other opioid). A dose stated without its frequency is refused.
    """
    regimen = (
        ("codeine", codeine_mg, codeine_per_day, 0.15),
        ("fentanyl buccal", fentanyl_buccal_ug, fentanyl_buccal_per_day, 0.13),
        ("fentanyl patch", fentanyl_patch_ug_hr, fentanyl_patch_per_day, 2.4),
        ("hydrocodone", hydrocodone_mg, hydrocodone_per_day, 1.0),
        ("hydromorphone", hydromorphone_mg, hydromorphone_per_day, 5.0),
        ("methadone", methadone_mg, methadone_per_day, 4.7),
        ("morphine", morphine_mg, morphine_per_day, 1.0),
        ("oxycodone", oxycodone_mg, oxycodone_per_day, 1.5),
        ("oxymorphone", oxymorphone_mg, oxymorphone_per_day, 3.0),
        ("tapentadol", tapentadol_mg, tapentadol_per_day, 0.4),
        ("tramadol", tramadol_mg, tramadol_per_day, 0.2),
    )
    total = 0.0
    for name, dose, per_day, factor in regimen:
        if not (math.isfinite(dose) and math.isfinite(per_day) and dose >= 0 and per_day >= 0):
            raise ValueError(f"{name}: dose and doses per day must be finite and >= 0, not {dose!r} x {per_day!r}")
        if dose > 0 and per_day == 0:
            raise ValueError(f"{name}: a dose of {dose} without a number of doses per day")
        total += dose * per_day * factor
    return total


# --------------------------------------------------------------------------- unit conversions


def grams_to_mg(value: float) -> float:
    return value * 1000.0


def micrograms_to_mg(value: float) -> float:
    return value / 1000.0


def mg_to_micrograms(value: float) -> float:
    return value * 1000.0


def every_hours_to_per_day(hours: float) -> float:
    """A dose "every N hours" is taken 24 / N times a day."""
    return 24.0 / hours


# --------------------------------------------------------------------------- vocabulary

# Official labels of the steroid calculator -> how a note names the drug and route.
STEROIDS: dict[str, tuple[str, ...]] = {
    "Betamethasone IV": ("intravenous betamethasone", "IV betamethasone"),
    "Cortisone PO": ("oral cortisone", "cortisone acetate by mouth"),
    "Dexamethasone IV": ("intravenous dexamethasone", "IV dexamethasone"),
    "Dexamethasone PO": ("oral dexamethasone", "dexamethasone tablets"),
    "Hydrocortisone IV": ("intravenous hydrocortisone", "IV hydrocortisone"),
    "Hydrocortisone PO": ("oral hydrocortisone", "hydrocortisone tablets"),
    "MethylPrednisoLONE IV": ("intravenous methylprednisolone", "IV methylprednisolone"),
    "MethylPrednisoLONE PO": ("oral methylprednisolone", "methylprednisolone tablets"),
    "PrednisoLONE PO": ("oral prednisolone", "prednisolone by mouth"),
    "PredniSONE PO": ("oral prednisone", "prednisone tablets"),
    "Triamcinolone IV": ("intravenous triamcinolone", "IV triamcinolone"),
}

QUANTITIES: dict[str, Quantity] = {
    q.kind: q
    for q in [
        Quantity("steroid_dose", "meds", ("steroid dose",), (0.5, 20, 1000), None, (Display("mg", 2), Display("g", 2, lambda v: v / 1000.0, grams_to_mg))),
        Quantity("opioid_dose", "meds", ("opioid dose",), (2, 15, 120), None, (Display("mg", 1),)),
        Quantity("fentanyl_buccal_dose", "meds", ("buccal fentanyl dose",), (100, 200, 800), None, (Display("µg", 0), Display("mcg", 0))),
        Quantity("fentanyl_patch_rate", "meds", ("fentanyl patch strength",), (12, 25, 100), None, (Display("µg/h", 0), Display("mcg/hr", 0))),
        Quantity(
            "doses_per_day", "meds", ("doses per day",), (1, 3, 6), None,
            (Display("doses per day", 0), Display("hours between doses", 0, lambda v: 24.0 / v, every_hours_to_per_day)),
        ),
    ]
}
FINDINGS: dict[str, Any] = {}
CHOICES: dict[str, Choice] = {
    "steroid": Choice("steroid", {label: tuple(f"{{He}} is on {phrase}." for phrase in phrases) for label, phrases in STEROIDS.items()}, "meds"),
}

# Official opioid labels of the MME rows -> argument prefix and the unit of its dose argument.
OPIOIDS: dict[str, tuple[str, str]] = {
    "Codeine": ("codeine", "mg"),
    "FentaNYL buccal": ("fentanyl_buccal", "ug"),
    "FentANYL patch": ("fentanyl_patch", "ug_hr"),
    "HYDROcodone": ("hydrocodone", "mg"),
    "HYDROmorphone": ("hydromorphone", "mg"),
    "Methadone": ("methadone", "mg"),
    "Morphine": ("morphine", "mg"),
    "OxyCODONE": ("oxycodone", "mg"),
    "OxyMORphone": ("oxymorphone", "mg"),
    "Tapentadol": ("tapentadol", "mg"),
    "TraMADol": ("tramadol", "mg"),
}
_OPIOID_SPELLINGS = {**OPIOIDS, "FentaNYL patch": OPIOIDS["FentANYL patch"]}  # both spellings occur upstream

_MME_ENTITIES: dict[str, str] = {
    **{f"{label} Dose": f"{prefix}_{unit}" for label, (prefix, unit) in _OPIOID_SPELLINGS.items()},
    **{f"{label} Dose Per Day": f"{prefix}_per_day" for label, (prefix, _unit) in _OPIOID_SPELLINGS.items()},
}

ENTITY_MAP: dict[str, dict[str, str]] = {
    # entities.py reads the drug entry ['Dexamethasone PO', 7.96, 'mg'] as the name under its own
    # key and [7.96, 'mg'] under "<key> dose"
    "steroid-conversion": {
        "input steroid": "input_steroid",
        "input steroid dose": "input_dose_mg",
        "target steroid": "target_steroid",
    },
    "morphine-milligram-equivalents": _MME_ENTITIES,
}

_MICROGRAMS = ("µg", "mcg", "ug")
UNIT_TABLE: dict[str, dict[str, Callable[..., float] | None]] = {
    "steroid_dose": {"mg": None, "g": grams_to_mg, **dict.fromkeys(_MICROGRAMS, micrograms_to_mg)},
    "opioid_dose": {"mg": None, **dict.fromkeys(_MICROGRAMS, micrograms_to_mg)},
    "fentanyl_buccal_dose": {**dict.fromkeys(_MICROGRAMS, None), "mg": mg_to_micrograms},
    # The official rows write the patch rate's unit as "mg" but mean the µg/h rate (patches come
    # in 12-100 µg/h; the labels multiply the number by 2.4 as it stands).
    "fentanyl_patch_rate": {
        **{f"{unit}{per}": None for unit in _MICROGRAMS for per in ("/h", "/hr", "/hour")},
        "mg": None,
    },
    "doses_per_day": {"per day": None, "": None, "doses per day": None},
}
