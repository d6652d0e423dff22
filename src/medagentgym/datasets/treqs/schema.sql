-- The five MIMICSQL tables (TREQS) as the official gold SQL queries them.
--
-- MIMICSQL is one flat table per topic, denormalised from MIMIC-III: `demographic` has one row
-- per hospital admission, the other four one row per event with their dictionary titles joined
-- in. Column names follow the official gold SQL, which quotes them (`demographic.'age'`).
--
-- Two typing rules make the lowercase, all-quoted gold SQL mean what MIMICSQL intends:
-- * text columns are COLLATE NOCASE, so `gender = 'm'` finds the stored 'M' and
--   `short_title = 'late ef-hemplga side nos'` finds 'Late ef-hemplga side NOS';
-- * number-like columns are INTEGER, so a quoted literal compares as a number through SQLite's
--   type affinity (`age < '50'` is 8 < 50, not the text comparison '8' > '50';
--   `dod_year <= '2115.0'` is 2115 <= 2115).
-- This file is data: the world view and the user-CSV build both create their databases from it.

CREATE TABLE demographic (
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL UNIQUE,
    name TEXT COLLATE NOCASE,
    marital_status TEXT COLLATE NOCASE,
    age INTEGER,
    dob TEXT COLLATE NOCASE,
    gender TEXT COLLATE NOCASE,
    language TEXT COLLATE NOCASE,
    religion TEXT COLLATE NOCASE,
    admission_type TEXT COLLATE NOCASE,
    days_stay INTEGER,
    insurance TEXT COLLATE NOCASE,
    ethnicity TEXT COLLATE NOCASE,
    expire_flag INTEGER,
    admission_location TEXT COLLATE NOCASE,
    discharge_location TEXT COLLATE NOCASE,
    diagnosis TEXT COLLATE NOCASE,
    dod TEXT COLLATE NOCASE,
    dob_year INTEGER,
    dod_year INTEGER,
    admittime TEXT COLLATE NOCASE,
    dischtime TEXT COLLATE NOCASE,
    admityear INTEGER
);

CREATE TABLE diagnoses (
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icd9_code TEXT COLLATE NOCASE,
    short_title TEXT COLLATE NOCASE,
    long_title TEXT COLLATE NOCASE
);

CREATE TABLE procedures (
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icd9_code TEXT COLLATE NOCASE,
    short_title TEXT COLLATE NOCASE,
    long_title TEXT COLLATE NOCASE
);

CREATE TABLE prescriptions (
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icustay_id INTEGER,
    drug_type TEXT COLLATE NOCASE,
    drug TEXT COLLATE NOCASE,
    formulary_drug_cd TEXT COLLATE NOCASE,
    route TEXT COLLATE NOCASE,
    drug_dose TEXT COLLATE NOCASE
);

CREATE TABLE lab (
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    itemid INTEGER,
    charttime TEXT COLLATE NOCASE,
    flag TEXT COLLATE NOCASE,
    value_unit TEXT COLLATE NOCASE,
    label TEXT COLLATE NOCASE,
    fluid TEXT COLLATE NOCASE,
    category TEXT COLLATE NOCASE
);
