"""The vocabulary of generated patient notes: quantities, findings and choices.

A *fact kind* is one thing a note can state (serum creatinine, a history of stroke, the best eye
response). Quantities know their canonical unit, a plausible sampling distribution and the units
a note may write them in (with the conversion back, from ``units.py``); findings know how a note
says yes or no; choices know the phrase for each option. Calculator arguments are bound to fact
kinds in ``categories.toml``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from medagentgym.datasets.medcalcbench import units


@dataclass(frozen=True)
class Display:
    """One way of writing a quantity: unit text, how to get there, the conversion back."""

    unit: str
    decimals: int
    to_display: Callable[[float], float] = lambda value: value
    convert: Callable[..., float] | None = None  # None: already canonical


@dataclass(frozen=True)
class Quantity:
    """A measured or counted value. Notes write it as "<label> <value unit>" in its section's
    sentence (vitals, labs, body size, ECG), or, when ``template`` is set, as that sentence
    (``{text}`` is the value with its unit, ``{He}``/``{His}``... the pronouns) in ``section``
    (history | symptoms | exam | meds | social | plan | any other name: a paragraph of its own)."""

    kind: str
    section: str  # vitals | body | labs | ecg | social | plan | history | symptoms | exam | ...
    labels: tuple[str, ...]
    typical: tuple[float, float, float]  # low, mode, high (triangular)
    abnormal: tuple[float, float] | None
    displays: tuple[Display, ...]
    templates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    kind: str
    section: str  # history | exam | symptoms | meds | renal
    yes: tuple[str, ...]  # phrases; history ones are noun phrases, others sentences
    no: tuple[str, ...]
    p_true: float = 0.35
    always_state: bool = False  # False: an absent finding may simply go unmentioned


@dataclass(frozen=True)
class Choice:
    """One of several options (official label -> phrases). Glasgow Coma Scale parts (section
    "gcs") are verb phrases joined after "the patient"; every other section takes whole
    sentences (with ``{He}``/``{His}``... pronouns), placed like findings of that section."""

    kind: str
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)  # official label -> phrases
    section: str = "gcs"
    weights: dict[str, float] = field(default_factory=dict)  # option -> sampling weight (default 1)


_mmol = Display("mmol/L", 0)
_meq = Display("mEq/L", 0)

QUANTITIES: dict[str, Quantity] = {
    q.kind: q
    for q in [
        Quantity("age", "demo", ("age",), (18, 58, 92), None, (Display("years", 0),)),
        Quantity(
            "height", "body", ("height",), (150, 170, 195), None,
            (
                Display("cm", 0),
                Display("cm", 1),
                Display("m", 2, lambda v: v / 100.0, units.m_to_cm),
                Display("in", 0, lambda v: v / 2.54, units.in_to_cm),
                Display("ft-in", 0, lambda v: v / 2.54, units.ft_in_to_cm),
            ),
        ),
        Quantity(
            "weight", "body", ("weight",), (45, 78, 140), None,
            (
                Display("kg", 1),
                Display("kg", 0),
                Display("lb", 0, lambda v: v / 0.45359237, units.lb_to_kg),
                Display("lb", 1, lambda v: v / 0.45359237, units.lb_to_kg),
            ),
        ),
        Quantity("target_bmi", "plan", ("target BMI",), (19.0, 22.5, 27.0), None, (Display("kg/m²", 1),)),
        Quantity("systolic", "vitals", ("systolic blood pressure",), (95, 128, 175), (70, 210), (Display("mm Hg", 0),)),
        Quantity("diastolic", "vitals", ("diastolic blood pressure",), (50, 78, 100), (35, 125), (Display("mm Hg", 0),)),
        Quantity("heart_rate", "vitals", ("heart rate", "pulse"), (52, 80, 118), (38, 160), (Display("beats/min", 0),)),
        Quantity("respiratory_rate", "vitals", ("respiratory rate",), (12, 17, 26), (8, 40), (Display("breaths/min", 0),)),
        Quantity(
            "temperature", "vitals", ("temperature",), (36.2, 37.0, 38.3), (35.0, 40.2),
            (Display("°C", 1), Display("°F", 1, lambda v: v * 9.0 / 5.0 + 32.0, units.fahrenheit_to_celsius)),
        ),
        Quantity("spo2", "vitals", ("oxygen saturation",), (90, 97, 100), None, (Display("% on room air", 0),)),
        Quantity("qt", "ecg", ("QT interval",), (330, 410, 520), (280, 600), (Display("msec", 0), Display("ms", 0))),
        Quantity(
            "creatinine", "labs", ("creatinine", "serum creatinine"), (0.5, 1.0, 2.6), (2.6, 9.0),
            (Display("mg/dL", 2), Display("mg/dL", 1), Display("µmol/L", 0, lambda v: v * 88.4, units.creatinine_umol_l_to_mg_dl)),
        ),
        Quantity(
            "bun", "labs", ("blood urea nitrogen (BUN)", "BUN"), (7, 16, 35), (35, 110),
            (Display("mg/dL", 0), Display("mmol/L", 1, lambda v: v / 2.8, units.bun_mmol_l_to_mg_dl)),
        ),
        Quantity("sodium", "labs", ("sodium", "serum sodium", "Na"), (128, 139, 149), (118, 165), (_mmol, _meq)),
        Quantity("potassium", "labs", ("potassium",), (3.3, 4.2, 5.4), None, (Display("mmol/L", 1), Display("mEq/L", 1))),
        Quantity("chloride", "labs", ("chloride", "Cl"), (92, 104, 114), None, (_mmol, _meq)),
        Quantity("bicarbonate", "labs", ("bicarbonate", "HCO3", "serum bicarbonate"), (14, 24, 31), (5, 38), (_mmol, _meq, Display("mmol/L", 1))),
        Quantity(
            "glucose", "labs", ("glucose", "blood glucose"), (75, 110, 240), (240, 700),
            (Display("mg/dL", 0), Display("mmol/L", 1, lambda v: v / 18.016, units.glucose_mmol_l_to_mg_dl)),
        ),
        Quantity(
            "albumin", "labs", ("albumin", "serum albumin"), (2.0, 3.6, 4.9), None,
            (Display("g/dL", 1), Display("g/L", 0, lambda v: v * 10.0, units.albumin_g_l_to_g_dl)),
        ),
        Quantity(
            "calcium", "labs", ("calcium", "total calcium"), (7.2, 8.8, 10.4), (6.0, 13.0),
            (Display("mg/dL", 1), Display("mmol/L", 2, lambda v: v / 4.008, units.calcium_mmol_l_to_mg_dl)),
        ),
        Quantity("ast", "labs", ("AST", "aspartate aminotransferase"), (15, 35, 160), (160, 1500), (Display("U/L", 0), Display("IU/L", 0))),
        Quantity("alt", "labs", ("ALT", "alanine aminotransferase"), (10, 32, 150), (150, 1500), (Display("U/L", 0), Display("IU/L", 0))),
        Quantity(
            "platelets", "labs", ("platelet count", "platelets"), (90, 230, 420), (20, 90),
            (
                Display("x10^9/L", 0),
                Display("x10^3/µL", 0),
                Display("/µL", 0, lambda v: round(v) * 1000.0, units.platelets_per_ul_to_10e9_l),
            ),
        ),
        Quantity(
            "bilirubin", "labs", ("total bilirubin", "bilirubin"), (0.3, 1.0, 4.0), (4.0, 25.0),
            (Display("mg/dL", 1), Display("µmol/L", 0, lambda v: v * 17.1, units.bilirubin_umol_l_to_mg_dl)),
        ),
        Quantity("inr", "labs", ("INR",), (0.9, 1.2, 2.5), (2.5, 4.5), (Display("", 2), Display("", 1))),
        Quantity("hemoglobin", "labs", ("hemoglobin",), (8.5, 13.2, 16.5), None, (Display("g/dL", 1),)),
        Quantity("wbc", "labs", ("white blood cell count", "WBC"), (3.8, 8.0, 16.0), None, (Display("x10^9/L", 1),)),
        Quantity(
            "total_cholesterol", "labs", ("total cholesterol",), (130, 200, 300), None,
            (Display("mg/dL", 0), Display("mmol/L", 2, lambda v: v / 38.67, units.cholesterol_mmol_l_to_mg_dl)),
        ),
        Quantity(
            "hdl", "labs", ("HDL cholesterol", "HDL"), (28, 50, 90), None,
            (Display("mg/dL", 0), Display("mmol/L", 2, lambda v: v / 38.67, units.cholesterol_mmol_l_to_mg_dl)),
        ),
        Quantity(
            "triglycerides", "labs", ("triglycerides",), (50, 140, 380), None,
            (Display("mg/dL", 0), Display("mmol/L", 2, lambda v: v / 88.57, units.triglycerides_mmol_l_to_mg_dl)),
        ),
        Quantity("insulin", "labs", ("fasting insulin", "insulin"), (3, 12, 45), None, (Display("µIU/mL", 1),)),
        Quantity("urine_sodium", "labs", ("urine sodium",), (8, 40, 120), None, (Display("mmol/L", 0), Display("mEq/L", 0))),
        Quantity("urine_creatinine", "labs", ("urine creatinine",), (20, 90, 250), None, (Display("mg/dL", 0), Display("mg/dL", 1))),
        Quantity("alcohol", "social", ("alcoholic drinks per week",), (0, 2, 20), None, (Display("drinks/week", 0),)),
    ]
}

FINDINGS: dict[str, Finding] = {
    f.kind: f
    for f in [
        Finding("chf", "history", ("congestive heart failure", "heart failure with reduced ejection fraction"), ("heart failure",)),
        Finding("hypertension", "history", ("hypertension", "essential hypertension"), ("hypertension",), 0.5),
        Finding(
            "hypertension_uncontrolled", "history",
            ("uncontrolled hypertension with systolic readings above 160 mm Hg",), ("uncontrolled hypertension",), 0.4,
        ),
        Finding("stroke", "history", ("a prior ischemic stroke", "a stroke several years ago"), ("stroke",), 0.25),
        Finding("tia", "history", ("a transient ischemic attack",), ("transient ischemic attacks",), 0.2),
        Finding(
            "thromboembolism", "history",
            ("a prior deep vein thrombosis", "a previous pulmonary embolism", "a prior systemic arterial embolism"),
            ("venous or arterial thromboembolism",), 0.2,
        ),
        Finding(
            "vascular_disease", "history",
            ("peripheral artery disease", "a prior myocardial infarction", "complex aortic plaque"),
            ("vascular disease",), 0.3,
        ),
        Finding("diabetes", "history", ("type 2 diabetes mellitus", "diabetes mellitus on metformin"), ("diabetes",), 0.35),
        Finding(
            "renal_disease", "history",
            ("end-stage renal disease on chronic dialysis", "a kidney transplant", "chronic kidney disease with creatinine above 2.3 mg/dL"),
            ("kidney disease",), 0.25,
        ),
        Finding("liver_disease", "history", ("cirrhosis", "chronic hepatitis with cirrhosis"), ("liver disease",), 0.2),
        Finding(
            "prior_bleeding", "history",
            ("a prior major gastrointestinal bleed", "an intracranial hemorrhage two years ago"), ("bleeding problems",), 0.25,
        ),
        Finding(
            "labile_inr", "history",
            ("labile INRs on warfarin, with time in therapeutic range below 60%",), ("unstable INR control",), 0.25,
        ),
        Finding(
            "bleeding_medication", "meds",
            ("Current medications include daily aspirin.", "{He} takes clopidogrel daily.", "{He} uses ibuprofen regularly for back pain."),
            ("There is no antiplatelet or NSAID use.",), 0.35,
        ),
        Finding(
            "confusion", "exam",
            ("On examination the patient is confused and disoriented to time and place.",),
            ("On examination the patient is alert and oriented.",), 0.3,
        ),
        Finding("cough_absent", "symptoms", ("There is no cough.", "The patient denies any cough."), ("The patient also reports a cough.",), 0.5, True),
        Finding(
            "tender_nodes", "exam",
            ("Tender, swollen anterior cervical lymph nodes are palpable.",),
            ("There is no anterior cervical lymphadenopathy.",), 0.5, True,
        ),
        Finding(
            "tonsillar_exudate", "exam",
            ("The tonsils are swollen with white exudate.",), ("The tonsils are not swollen and show no exudate.",), 0.5, True,
        ),
        Finding(
            "dialysis_twice", "renal",
            ("The patient received hemodialysis twice during the past week.",), ("The patient has not required dialysis.",), 0.15,
        ),
        Finding(
            "cvvhd", "renal",
            ("The patient was on continuous veno-venous hemodialysis for more than 24 hours in the past week.",),
            ("No continuous renal replacement therapy was used.",), 0.1,
        ),
    ]
}

CHOICES: dict[str, Choice] = {
    "gcs_eye": Choice(
        "gcs_eye",
        {
            "eyes open spontaneously": ("opens the eyes spontaneously",),
            "eye opening to verbal command": ("opens the eyes only when spoken to",),
            "eye opening to pain": ("opens the eyes only to a painful stimulus",),
            "no eye opening": ("does not open the eyes even to pain",),
        },
    ),
    "gcs_verbal": Choice(
        "gcs_verbal",
        {
            "oriented": ("converses normally and is oriented",),
            "confused": ("is confused but converses",),
            "inappropriate words": ("utters only random, inappropriate words",),
            "incomprehensible sounds": ("makes only incomprehensible moaning sounds",),
            "no verbal response": ("makes no sounds at all",),
        },
    ),
    "gcs_motor": Choice(
        "gcs_motor",
        {
            "obeys commands": ("obeys motor commands",),
            "localizes pain": ("localizes a painful stimulus",),
            "withdrawal from pain": ("withdraws the limb from pain",),
            "flexion to pain": ("shows abnormal flexion (decorticate posturing) to pain",),
            "extension to pain": ("shows extension (decerebrate posturing) to pain",),
            "no motor response": ("shows no motor response to pain",),
        },
    ),
}

# Order in which kinds are sampled: later samplers read earlier values (weight from height...).
SAMPLING_ORDER = ("sex", "age", "black", "height", "weight", "systolic", "diastolic", "sodium", "bicarbonate", "chloride")

# History items no calculator uses: safe distractors.
DISTRACTOR_CONDITIONS = (
    "asthma", "hypothyroidism", "gastroesophageal reflux disease", "osteoarthritis of both knees",
    "migraine", "benign prostatic hyperplasia", "gout", "depression", "glaucoma", "psoriasis",
    "obstructive sleep apnea", "iron-deficiency anemia", "hyperlipidemia", "chronic low back pain",
)
DISTRACTOR_LABS = ("potassium", "hemoglobin", "wbc", "glucose", "bun", "creatinine", "albumin", "calcium", "ast", "alt", "platelets", "inr", "sodium", "chloride", "bicarbonate")
DISTRACTOR_VITALS = ("heart_rate", "respiratory_rate", "temperature", "spo2")


def _triangular(rng: random.Random, low: float, mode: float, high: float) -> float:
    return rng.triangular(low, high, min(max(mode, low), high))


def sample_quantity(
    kind: str,
    rng: random.Random,
    ctx: dict[str, Any],
    override: tuple[float, float] | None,
    quantities: dict[str, Quantity] = QUANTITIES,
) -> float:
    """A canonical value for ``kind``; ``ctx`` holds canonical values drawn before it.
    ``quantities``: the vocabulary to read ``kind`` from (families add their own kinds)."""
    spec = quantities[kind]
    low, mode, high = spec.typical
    age = ctx.get("age", 50)
    male = ctx.get("sex", True)
    if kind == "height" and override is None:
        if age < 18:
            base = 75.0 + 6.2 * age
            return min(rng.gauss(base, 5.0), 185.0)
        return min(max(rng.gauss(176.0 if male else 163.0, 7.0), 140.0), 205.0)
    if kind == "weight" and override is None:
        height_m = ctx.get("height", 170.0) / 100.0
        if age < 18:
            bmi = min(max(rng.gauss(17.0, 2.0), 13.0), 26.0)
        else:
            bmi = min(max(rng.gauss(27.0, 5.5), 16.0), 48.0)
        return bmi * height_m * height_m
    if kind == "diastolic" and override is None and "systolic" in ctx:
        systolic = ctx["systolic"]
        return max(min(systolic * rng.uniform(0.5, 0.72), systolic - 15), 30.0)
    if kind == "chloride" and override is None:
        gap = _triangular(rng, 3.0, 11.0, 32.0)
        return ctx.get("sodium", 139.0) - ctx.get("bicarbonate", 24.0) - gap
    if override is not None:
        low, high = override
        return rng.uniform(low, high)
    if spec.abnormal is not None and rng.random() < 0.2:
        return rng.uniform(*spec.abnormal)
    return _triangular(rng, low, mode, high)
