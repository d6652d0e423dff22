"""Codes and names the medagentbench records and tasks use (public code systems, our own names).

LOINC, SNOMED CT, RxNorm, CPT and NDC codes are public identifiers; the local lab codes (MG, K,
GLU, A1C, ...) are the short codes the tasks name, kept under a local code system beside their
LOINC codes so that ``code=K`` and ``code=http://loinc.org|2823-3`` both find a result.
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
NDC = "http://hl7.org/fhir/sid/ndc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
LAB_SYSTEM = "urn:medagentgym:codes:lab"
FLOWSHEET_SYSTEM = "urn:medagentgym:codes:flowsheet"
MRN_SYSTEM = "urn:medagentgym:mrn"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITALS_CATEGORY = "http://hl7.org/fhir/observation-category"  # the system the vitals endpoint names
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
MED_REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"


@dataclass(frozen=True)
class Lab:
    code: str  # the local code the tasks name
    loinc: str
    display: str
    unit: str
    decimals: int


LABS: dict[str, Lab] = {
    lab.code: lab
    for lab in (
        Lab("MG", "19123-9", "Magnesium [Mass/volume] in Serum or Plasma", "mg/dL", 1),
        Lab("K", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 1),
        Lab("GLU", "41653-7", "Glucose [Mass/volume] in Capillary blood by Glucometer", "mg/dL", 0),
        Lab("A1C", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 1),
        Lab("NA", "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 0),
        Lab("CREAT", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 2),
        Lab("HGB", "718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 1),
    )
}

# Orders the tasks call for.
MAGNESIUM_NDC = "0338-1715-40"
MAGNESIUM_DISPLAY = "magnesium sulfate in water, intravenous solution"
POTASSIUM_NDC = "40032-917-01"
POTASSIUM_DISPLAY = "potassium chloride, oral"
POTASSIUM_LAB_LOINC = "2823-3"
HBA1C_LAB_LOINC = "4548-4"
ORTHO_REFERRAL_SNOMED = "306181000000106"
ORTHO_REFERRAL_DISPLAY = "Referral to orthopedic service"
BP_FLOWSHEET = "BP"
BP_LOINC = "85354-9"

# (SNOMED CT, ICD-10-CM, name) of problem-list conditions.
CONDITIONS: tuple[tuple[str, str, str], ...] = (
    ("38341003", "I10", "Essential hypertension"),
    ("44054006", "E11.9", "Type 2 diabetes mellitus"),
    ("55822004", "E78.5", "Hyperlipidemia"),
    ("709044004", "N18.9", "Chronic kidney disease"),
    ("195967001", "J45.909", "Asthma"),
    ("13645005", "J44.9", "Chronic obstructive pulmonary disease"),
    ("49436004", "I48.91", "Atrial fibrillation"),
    ("40930008", "E03.9", "Hypothyroidism"),
    ("239873007", "M17.9", "Osteoarthritis of knee"),
    ("235595009", "K21.9", "Gastroesophageal reflux disease"),
    ("35489007", "F32.9", "Depressive disorder"),
    ("84114007", "I50.9", "Heart failure"),
)

# (RxNorm ingredient, name, dose text) of outpatient medications.
MEDICATIONS: tuple[tuple[str, str, str], ...] = (
    ("29046", "lisinopril", "lisinopril 10 mg oral tablet, once daily"),
    ("6809", "metformin", "metformin 500 mg oral tablet, twice daily"),
    ("83367", "atorvastatin", "atorvastatin 20 mg oral tablet, once daily"),
    ("17767", "amlodipine", "amlodipine 5 mg oral tablet, once daily"),
    ("10582", "levothyroxine", "levothyroxine 50 mcg oral tablet, once daily"),
    ("7646", "omeprazole", "omeprazole 20 mg oral capsule, once daily"),
    ("435", "albuterol", "albuterol 90 mcg inhaler, as needed"),
    ("4603", "furosemide", "furosemide 20 mg oral tablet, once daily"),
    ("11289", "warfarin", "warfarin 5 mg oral tablet, once daily"),
    ("274783", "insulin glargine", "insulin glargine 10 units subcutaneous, at bedtime"),
)

# (CPT, name) of procedures.
PROCEDURES: tuple[tuple[str, str], ...] = (
    ("45378", "Colonoscopy, diagnostic"),
    ("93000", "Electrocardiogram, complete"),
    ("71046", "Chest X-ray, 2 views"),
    ("93306", "Echocardiography, transthoracic, complete"),
    ("73560", "X-ray of knee, 1 or 2 views"),
    ("82947", "Glucose, quantitative, blood"),
)

GIVEN_FEMALE: tuple[str, ...] = (
    "Abigail", "Alice", "Amara", "Beatriz", "Carmen", "Chloe", "Dana", "Delia", "Elena", "Esther",
    "Fatima", "Fiona", "Grace", "Hana", "Helen", "Imani", "Iris", "Joan", "Julia", "Keiko", "Laura",
    "Leila", "Lucia", "Mara", "Mei", "Miriam", "Nadia", "Nora", "Olga", "Paula", "Priya", "Rosa",
    "Ruth", "Sana", "Sofia", "Tamar", "Teresa", "Una", "Vera", "Wanda", "Yara", "Zoe",
)
GIVEN_MALE: tuple[str, ...] = (
    "Aaron", "Ahmed", "Andre", "Arjun", "Bruno", "Calvin", "Carlos", "Daniel", "Dmitri", "Elias",
    "Emeka", "Felix", "Frank", "George", "Hassan", "Henry", "Ivan", "Jamal", "Jonas", "Kenji",
    "Leon", "Luis", "Marcus", "Mateo", "Nikhil", "Omar", "Oscar", "Pablo", "Pedro", "Quentin",
    "Rafael", "Samuel", "Tariq", "Thomas", "Victor", "Walter", "Xavier", "Yusuf", "Zane",
)
FAMILY: tuple[str, ...] = (
    "Abbott", "Adeyemi", "Alvarez", "Andersen", "Bauer", "Becker", "Bianchi", "Brennan", "Castillo",
    "Chen", "Costa", "Dalton", "Delgado", "Dubois", "Eriksen", "Farouk", "Fischer", "Garcia", "Gupta",
    "Hale", "Haddad", "Ishikawa", "Ivanova", "Jensen", "Kaur", "Keller", "Kowalski", "Larsen", "Lopez",
    "Mbeki", "Moreau", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Petrov", "Quinn",
    "Ramos", "Reyes", "Rossi", "Sato", "Schmidt", "Silva", "Tanaka", "Torres", "Ueda", "Varga",
    "Vogel", "Walsh", "Weber", "Xu", "Yilmaz", "Young", "Zhang", "Zimmerman",
)
CITIES: tuple[tuple[str, str, str], ...] = (
    ("Springfield", "IL", "62701"), ("Madison", "WI", "53703"), ("Columbus", "OH", "43215"),
    ("Albany", "NY", "12207"), ("Salem", "OR", "97301"), ("Austin", "TX", "78701"),
    ("Denver", "CO", "80202"), ("Raleigh", "NC", "27601"),
)
STREETS: tuple[str, ...] = ("Maple St", "Oak Ave", "Pine Rd", "Cedar Ln", "Elm St", "Birch Way", "Lake Dr")

# Situation-background-assessment-recommendation notes for orthopedic referrals (our own text).
REFERRAL_NOTES: tuple[str, ...] = (
    (
        "Situation: acute right knee pain after a fall. Background: swelling and locking since the injury. "
        "Assessment: suspected meniscal tear. Recommendation: orthopedic evaluation and management advice."
    ),
    (
        "Situation: left wrist pain after a fall on an outstretched hand. Background: X-ray shows a distal "
        "radius fracture. Assessment: displaced fracture. Recommendation: orthopedic review for reduction."
    ),
    (
        "Situation: chronic right hip pain limiting walking. Background: imaging shows severe joint space "
        "narrowing. Assessment: advanced osteoarthritis. Recommendation: orthopedic evaluation for surgery."
    ),
    (
        "Situation: recurrent left shoulder dislocation. Background: third episode this year. Assessment: "
        "shoulder instability. Recommendation: orthopedic consultation on stabilization options."
    ),
    (
        "Situation: low back pain radiating to the left leg. Background: MRI shows a disc herniation at L4-L5. "
        "Assessment: lumbar radiculopathy. Recommendation: orthopedic spine evaluation."
    ),
    (
        "Situation: right ankle injury playing football. Background: unable to bear weight. Assessment: "
        "possible ligament rupture. Recommendation: orthopedic assessment and imaging plan."
    ),
    (
        "Situation: swelling of the left knee after a twisting injury. Background: MRI shows a torn anterior "
        "cruciate ligament. Assessment: ACL tear. Recommendation: orthopedic review of treatment options."
    ),
    (
        "Situation: numbness of the right hand at night. Background: nerve conduction study is abnormal. "
        "Assessment: carpal tunnel syndrome. Recommendation: orthopedic hand surgery consultation."
    ),
)
