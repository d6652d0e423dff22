"""The clinical model behind the world: chronic conditions, presenting problems and their effects.

A patient has chronic *conditions* (more with age) and a *frailty*; each admission has a
presenting *problem* and a *severity* (a standard-normal-like score, higher is sicker). These
latent quantities drive the record:

* labs and vitals: every measurement is ``normal centre + chronic shifts + problem shifts +
  severity effect + patient offset + noise``, in units of the item's half reference range
  (``LAB_SEVERITY``, ``VITAL_SEVERITY``, the ``labs`` of conditions and problems);
* diagnoses, procedures and drugs: the codes of the conditions and the problem, plus care that
  follows from the outcome (ventilation, central line, vasopressors);
* outcomes (``Outcome.draw``): in-hospital death, length of stay, ICU care, a later ICU transfer,
  vasopressors, ventilation and 30-day readmission, each a logistic or log-normal function of
  severity, age and conditions.

The coefficients are chosen from general clinical knowledge to give plausible shares (about 9%
in-hospital deaths, median stay about 4 days, about 70% of admissions with ICU care), not fitted
to any dataset. What matters for the datasets built on the world is that the same latent state
produces both the first-day record and the outcome, so outcomes are predictable from the record.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def softplus(x: float) -> float:
    """A smooth max(x, 0): effects that only appear when severity is high."""
    return math.log1p(math.exp(1.5 * x)) / 1.5


@dataclass(frozen=True)
class Condition:
    """A chronic condition: how common it is, its ICD-9 codes, home drugs and lab shifts."""

    name: str
    base_rate: float  # prevalence at age 60
    age_slope: float  # change of the log-odds per decade of age
    codes: tuple[str, ...]
    drugs: tuple[str, ...] = ()
    labs: dict[str, float] = field(default_factory=dict)  # label -> shift in half ranges


@dataclass(frozen=True)
class Problem:
    """Why the patient came in: codes, the admission diagnosis text, effects, typical care."""

    name: str
    admit_diagnosis: str
    weight: float
    severity_mean: float
    codes: tuple[str, ...]
    procedures: tuple[str, ...] = ()
    drugs: tuple[str, ...] = ()
    labs: dict[str, float] = field(default_factory=dict)  # label -> shift per unit of acuity
    vitals: dict[str, float] = field(default_factory=dict)  # vital kind -> shift per acuity
    elective: bool = False
    respiratory: bool = False
    specimens: tuple[str, ...] = ()  # cultures this problem makes likely


CONDITIONS: tuple[Condition, ...] = (
    Condition("hypertension", 0.45, 0.45, ("4019",), ("lisinopril", "metoprolol tartrate")),
    Condition("diabetes", 0.22, 0.25, ("25000",), ("insulin", "metformin"),
              {"glucose": 2.0, "% hemoglobin a1c": 3.0, "glucose, whole blood": 1.8}),
    Condition("hyperlipidemia", 0.30, 0.30, ("2724",), ("atorvastatin",)),
    Condition("coronary artery disease", 0.15, 0.55, ("41401",), ("aspirin", "atorvastatin")),
    Condition("heart failure", 0.08, 0.65, ("4280",), ("furosemide", "metoprolol tartrate"),
              {"sodium": -0.4, "urea nitrogen": 0.8}),
    Condition("atrial fibrillation", 0.08, 0.70, ("42731",), ("warfarin", "amiodarone"),
              {"inr(pt)": 4.0, "pt": 2.0}),
    Condition("chronic kidney disease", 0.08, 0.50, ("5859",), ("calcium gluconate",),
              {"creatinine": 3.0, "urea nitrogen": 2.0, "potassium": 0.6, "hemoglobin": -0.8,
               "hematocrit": -0.8, "phosphate": 1.0}),
    Condition("copd", 0.09, 0.45, ("496",), ("albuterol 0.083% neb soln", "ipratropium bromide neb"),
              {"pco2": 1.5, "bicarbonate": 0.8}),
    Condition("cirrhosis", 0.03, 0.10, ("5715",), ("lactulose",),
              {"bilirubin, total": 4.0, "inr(pt)": 3.0, "platelet count": -1.2, "albumin": -1.5,
               "asparate aminotransferase (ast)": 2.0}),
    Condition("cancer", 0.06, 0.40, ("1991",), ("ondansetron",),
              {"hemoglobin": -0.6, "white blood cells": 0.3}),
    Condition("hypothyroidism", 0.07, 0.25, ("2449",), ("levothyroxine sodium",)),
    Condition("depression", 0.09, 0.0, ("311",), ()),
)

PROBLEMS: tuple[Problem, ...] = (
    Problem("sepsis", "sepsis", 14, 0.9, ("0389", "99591"), ("3893",),
            ("vancomycin", "piperacillin-tazobactam"),
            {"white blood cells": 1.8, "lactate": 2.5, "neutrophils": 1.2, "platelet count": -0.6},
            {"temperature": 0.9, "heart rate": 10}, specimens=("blood culture", "urine")),
    Problem("pneumonia", "pneumonia", 13, 0.5, ("486",), (), ("ceftriaxone", "levofloxacin"),
            {"white blood cells": 1.4, "neutrophils": 1.0}, {"temperature": 0.7, "sao2": -2.0},
            respiratory=True, specimens=("sputum", "blood culture")),
    Problem("heart failure exacerbation", "congestive heart failure", 10, 0.3, ("42823", "4280"),
            (), ("furosemide",), {"urea nitrogen": 0.8, "sodium": -0.6}, {"sao2": -1.5},
            respiratory=True),
    Problem("gastrointestinal bleed", "gastrointestinal bleed", 9, 0.3, ("5789", "2851"),
            ("4513", "9904"), ("pantoprazole",),
            {"hemoglobin": -3.5, "hematocrit": -3.5, "urea nitrogen": 1.5}, {"heart rate": 8}),
    Problem("myocardial infarction", "coronary artery disease", 10, 0.2, ("41071", "41401"),
            ("0066", "3722"), ("aspirin", "heparin", "clopidogrel bisulfate"),
            {"troponin i": 25.0, "troponin t": 25.0, "creatine kinase (ck)": 3.0,
             "ck-mb index": 2.0}, {}),
    Problem("stroke", "stroke", 6, 0.4, ("43491", "34290"), (), ("aspirin",), {}, {}),
    Problem("copd exacerbation", "copd exacerbation", 6, 0.2, ("49121",), (),
            ("methylprednisolone sodium succ", "albuterol 0.083% neb soln"),
            {"pco2": 1.5, "ph": -0.8}, {"sao2": -2.5}, respiratory=True, specimens=("sputum",)),
    Problem("acute kidney injury", "acute renal failure", 7, 0.4, ("5849", "2767"), ("3995",),
            ("sodium bicarbonate",),
            {"creatinine": 4.0, "urea nitrogen": 3.0, "potassium": 1.5, "bicarbonate": -1.0},
            {}),
    Problem("diabetic ketoacidosis", "diabetic ketoacidosis", 4, 0.3, ("25013",), (),
            ("insulin", "potassium chloride"),
            {"glucose": 8.0, "glucose, whole blood": 8.0, "bicarbonate": -3.0, "anion gap": 4.0,
             "ph": -2.5}, {"heart rate": 8, "respiratory rate": 4}),
    Problem("trauma", "trauma", 6, 0.3, ("85200", "80701"), ("8856",), ("morphine sulfate",),
            {"hemoglobin": -1.0, "hematocrit": -1.0}, {"heart rate": 6}),
    Problem("elective surgery", "coronary artery disease\\coronary artery bypass graft", 9, -0.8,
            ("41401",), ("3615", "3961"), ("cefazolin", "fentanyl citrate"), {}, {},
            elective=True),
    Problem("urinary tract infection", "urinary tract infection", 6, -0.2, ("5990",), (),
            ("ceftriaxone",), {"white blood cells": 0.8}, {"temperature": 0.5},
            specimens=("urine",)),
)

def problem_weights(conditions: frozenset[str] | set[str]) -> list[float]:
    """The weight of each of ``PROBLEMS`` (in order) as a patient's presenting problem: the
    problem's base weight, boosted when a chronic condition makes it likely (heart failure
    exacerbations need heart failure, DKA diabetes, ...). Predictions of later problems (the
    ehrshot MI task's oracle) use the same weights as the generator's draw."""
    boost = {
        "heart failure exacerbation": 4.0 if "heart failure" in conditions else 0.4,
        "copd exacerbation": 5.0 if "copd" in conditions else 0.2,
        "diabetic ketoacidosis": 5.0 if "diabetes" in conditions else 0.05,
        "myocardial infarction": 2.0 if "coronary artery disease" in conditions else 0.8,
        "elective surgery": 2.5 if "coronary artery disease" in conditions else 0.6,
        "acute kidney injury": 2.5 if "chronic kidney disease" in conditions else 0.9,
        "gastrointestinal bleed": 2.5 if "cirrhosis" in conditions else 1.0,
    }
    return [p.weight * boost.get(p.name, 1.0) for p in PROBLEMS]


#: Lab shifts per unit of acuity (``softplus(severity)``), in half reference ranges.
LAB_SEVERITY: dict[str, float] = {
    "lactate": 2.2,
    "creatinine": 1.6,
    "urea nitrogen": 1.8,
    "white blood cells": 0.9,
    "platelet count": -0.6,
    "bicarbonate": -1.0,
    "calculated total co2": -1.0,
    "ph": -1.2,
    "base excess": -1.5,
    "albumin": -1.0,
    "anion gap": 1.2,
    "inr(pt)": 1.5,
    "pt": 1.0,
    "ptt": 0.8,
    "bilirubin, total": 1.0,
    "potassium": 0.5,
    "sodium": -0.3,
    "hemoglobin": -0.5,
    "hematocrit": -0.5,
    "glucose": 0.8,
    "glucose, whole blood": 0.8,
    "asparate aminotransferase (ast)": 0.8,
    "alanine aminotransferase (alt)": 0.6,
    "lactate dehydrogenase (ld)": 0.8,
    "phosphate": 0.6,
    "magnesium": 0.2,
    "po2": -0.8,
}

#: Vital shifts per unit of severity (signed; ``mean`` kinds use acuity), in the vital's units.
VITAL_SEVERITY: dict[str, float] = {
    "heart rate": 11.0,
    "systolic": -11.0,
    "diastolic": -6.0,
    "mean": -8.0,
    "respiratory rate": 3.5,
    "sao2": -1.8,
    "temperature": 0.25,
}


def vital_kind(label: str) -> str:
    """The kind of a chart vital label: 'heart rate', 'systolic', ..., 'temperature'."""
    if "systolic" in label:
        return "systolic"
    if "diastolic" in label:
        return "diastolic"
    if "mean" in label:
        return "mean"
    if label.startswith("temperature"):
        return "temperature"
    return label


@dataclass(frozen=True)
class Outcome:
    """How one admission ends, drawn from its latent state."""

    died: bool
    los_days: float
    icu: bool
    icu_delayed: bool  # first ICU stay starts after the first day (a transfer from the ward)
    vasopressor: bool
    ventilation: bool
    readmit_30d: bool

    @staticmethod
    def draw(
        rng: random.Random, *, severity: float, age: int, n_conditions: int, problem: Problem
    ) -> Outcome:
        acuity = softplus(severity)
        age10 = (age - 65) / 10
        died = rng.random() < sigmoid(-4.0 + 1.7 * severity + 0.35 * age10 + 0.15 * n_conditions
                                      - (1.5 if problem.elective else 0.0))
        log_los = (math.log(3.6) + 0.42 * severity + 0.07 * n_conditions + 0.04 * age10
                   + rng.gauss(0, 0.33))
        los = min(max(math.exp(log_los), 0.6), 60.0)
        if died:
            los = max(0.6, los * rng.uniform(0.3, 1.0))
        icu = problem.elective or rng.random() < sigmoid(0.2 + 1.6 * severity)
        icu_delayed = icu and not problem.elective and rng.random() < sigmoid(-1.4 + 0.5 * severity)
        vasopressor = icu and rng.random() < sigmoid(-2.6 + 1.9 * severity)
        ventilation = icu and rng.random() < sigmoid(
            -2.2 + 1.7 * severity + (0.9 if problem.respiratory else 0.0) + (1.2 if problem.elective else 0.0)
        )
        readmit = (not died) and rng.random() < sigmoid(-2.4 + 0.35 * n_conditions + 0.3 * acuity)
        return Outcome(died, los, icu, icu_delayed, vasopressor, ventilation, readmit)


FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "f": ("Mary", "Patricia", "Linda", "Barbara", "Elizabeth", "Jennifer", "Maria", "Susan",
          "Margaret", "Dorothy", "Lisa", "Nancy", "Karen", "Betty", "Helen", "Sandra", "Donna",
          "Carol", "Ruth", "Sharon", "Michelle", "Laura", "Sarah", "Kimberly", "Deborah",
          "Jessica", "Shirley", "Cynthia", "Angela", "Melissa", "Brenda", "Amy", "Anna",
          "Rebecca", "Virginia", "Kathleen", "Pamela", "Martha", "Debra", "Amanda", "Stephanie",
          "Carolyn", "Christine", "Marie", "Janet", "Catherine", "Frances", "Ann", "Joyce",
          "Diane", "Alice", "Julie", "Heather", "Teresa", "Doris", "Gloria", "Evelyn", "Jean"),
    "m": ("James", "John", "Robert", "Michael", "William", "David", "Richard", "Charles",
          "Joseph", "Thomas", "Christopher", "Daniel", "Paul", "Mark", "Donald", "George",
          "Kenneth", "Steven", "Edward", "Brian", "Ronald", "Anthony", "Kevin", "Jason",
          "Matthew", "Gary", "Timothy", "Jose", "Larry", "Jeffrey", "Frank", "Scott", "Eric",
          "Stephen", "Andrew", "Raymond", "Gregory", "Joshua", "Jerry", "Dennis", "Walter",
          "Patrick", "Peter", "Harold", "Douglas", "Henry", "Carl", "Arthur", "Ryan", "Roger",
          "Joe", "Juan", "Jack", "Albert", "Jonathan", "Justin", "Terry", "Gerald", "Keith"),
}

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
)

RELIGIONS: dict[str, float] = {
    "catholic": 34, "not specified": 20, "unobtainable": 10, "protestant quaker": 12,
    "jewish": 8, "other": 4, "episcopalian": 2, "greek orthodox": 1, "christian scientist": 1,
    "buddhist": 1, "muslim": 1, "jehovah's witness": 1, "unitarian-universalist": 0.5,
    "hindu": 0.5, "romanian east. orth": 0.3, "7th day adventist": 0.4, "baptist": 1,
}

#: Drug allergies as charted: (drug class or drug, reaction).
ALLERGIES: tuple[tuple[str, str], ...] = (
    ("penicillins", "rash"), ("penicillins", "hives"), ("sulfa (sulfonamide antibiotics)", "rash"),
    ("codeine", "nausea/vomiting"), ("morphine sulfate", "itching"), ("aspirin", "gi upset"),
    ("cephalosporins", "rash"), ("iodine", "anaphylaxis"), ("latex", "hives"),
    ("levofloxacin", "tendon pain"), ("vancomycin", "red man syndrome"),
    ("lisinopril", "angioedema"), ("heparin", "thrombocytopenia"), ("shellfish", "anaphylaxis"),
    ("erythromycin", "nausea/vomiting"), ("statins", "myalgia"),
)
