-- Tables of the world beyond the 17 MIMIC-III (EHRSQL) tables: facts other schemas need (eICU,
-- MIMICSQL) and, apart from them, the hidden latent state and outcomes.
--
-- Views copy from the first group. `latent` and `outcomes` are the generator's truth (what drove
-- the record, and labels of later prediction tasks): no view copies them, and no agent-visible
-- database holds them.

CREATE TABLE patient_info (
    subject_id INTEGER NOT NULL PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    religion TEXT,
    uniquepid TEXT NOT NULL UNIQUE,
    height_cm REAL NOT NULL
);

CREATE TABLE admission_info (
    hadm_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hospital_id INTEGER NOT NULL,
    admit_diagnosis TEXT NOT NULL,
    admit_weight_kg REAL NOT NULL,
    discharge_weight_kg REAL,
    hospital_expire_flag INTEGER NOT NULL
);

CREATE TABLE allergies (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    drug TEXT NOT NULL,
    allergy_name TEXT NOT NULL,
    charttime TIMESTAMP NOT NULL
);

CREATE TABLE lab_items (
    itemid INTEGER NOT NULL PRIMARY KEY,
    label TEXT NOT NULL,
    fluid TEXT NOT NULL,
    category TEXT NOT NULL,
    unit TEXT,
    ref_low REAL NOT NULL,
    ref_high REAL NOT NULL
);

CREATE TABLE drug_info (
    drug TEXT NOT NULL PRIMARY KEY,
    drug_type TEXT NOT NULL,
    formulary_drug_cd TEXT NOT NULL
);

-- Hidden: the latent state per patient and per admission.
CREATE TABLE latent (
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL PRIMARY KEY,
    conditions TEXT NOT NULL,
    frailty REAL NOT NULL,
    problem TEXT NOT NULL,
    severity REAL NOT NULL
);

-- Hidden: outcomes per admission, as the record implies them.
CREATE TABLE outcomes (
    hadm_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    died_in_hospital INTEGER NOT NULL,
    los_days REAL,
    long_stay_7d INTEGER,
    readmit_30d INTEGER,
    icu_admission INTEGER NOT NULL,
    icu_transfer INTEGER NOT NULL,
    vasopressor INTEGER NOT NULL,
    ventilation INTEGER NOT NULL
);
