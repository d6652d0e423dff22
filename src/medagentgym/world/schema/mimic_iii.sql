-- The MIMIC-III tables as the EHRSQL benchmark uses them (17 tables, lowercase names).
--
-- Column names and types follow the public MIMIC-III documentation, narrowed to the columns
-- EHRSQL keeps, plus EHRSQL's own additions: admissions.age, a charttime on diagnoses_icd and
-- procedures_icd, and the cost table (event_type names the event table, event_id its row_id).
-- Timestamps are TEXT 'YYYY-MM-DD HH:MM:SS' so SQLite's date functions work on them.
-- This file is data: the builder and the CSV importer both create their databases from it.

CREATE TABLE patients (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL UNIQUE,
    gender VARCHAR(5) NOT NULL,
    dob TIMESTAMP NOT NULL,
    dod TIMESTAMP
);

CREATE TABLE admissions (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL UNIQUE,
    admittime TIMESTAMP NOT NULL,
    dischtime TIMESTAMP,
    admission_type VARCHAR(50) NOT NULL,
    admission_location VARCHAR(50) NOT NULL,
    discharge_location VARCHAR(50),
    insurance VARCHAR(255) NOT NULL,
    language VARCHAR(10),
    marital_status VARCHAR(50),
    ethnicity VARCHAR(200) NOT NULL,
    age INTEGER NOT NULL
);

CREATE TABLE d_icd_diagnoses (
    row_id INTEGER NOT NULL PRIMARY KEY,
    icd9_code VARCHAR(10) NOT NULL UNIQUE,
    short_title VARCHAR(50) NOT NULL,
    long_title VARCHAR(255) NOT NULL
);

CREATE TABLE d_icd_procedures (
    row_id INTEGER NOT NULL PRIMARY KEY,
    icd9_code VARCHAR(10) NOT NULL UNIQUE,
    short_title VARCHAR(50) NOT NULL,
    long_title VARCHAR(255) NOT NULL
);

CREATE TABLE d_labitems (
    row_id INTEGER NOT NULL PRIMARY KEY,
    itemid INTEGER NOT NULL UNIQUE,
    label VARCHAR(200) NOT NULL
);

CREATE TABLE d_items (
    row_id INTEGER NOT NULL PRIMARY KEY,
    itemid INTEGER NOT NULL UNIQUE,
    label VARCHAR(200) NOT NULL,
    linksto VARCHAR(50) NOT NULL
);

CREATE TABLE diagnoses_icd (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icd9_code VARCHAR(10) NOT NULL,
    charttime TIMESTAMP NOT NULL
);

CREATE TABLE procedures_icd (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icd9_code VARCHAR(10) NOT NULL,
    charttime TIMESTAMP NOT NULL
);

CREATE TABLE labevents (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    itemid INTEGER NOT NULL,
    charttime TIMESTAMP,
    valuenum DOUBLE PRECISION,
    valueuom VARCHAR(20)
);

CREATE TABLE prescriptions (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    startdate TIMESTAMP NOT NULL,
    enddate TIMESTAMP,
    drug VARCHAR(100) NOT NULL,
    dose_val_rx VARCHAR(120) NOT NULL,
    dose_unit_rx VARCHAR(120) NOT NULL,
    route VARCHAR(120) NOT NULL
);

CREATE TABLE cost (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    event_type VARCHAR(20) NOT NULL,
    event_id INTEGER NOT NULL,
    chargetime TIMESTAMP NOT NULL,
    cost DOUBLE PRECISION NOT NULL
);

CREATE TABLE chartevents (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icustay_id INTEGER NOT NULL,
    itemid INTEGER NOT NULL,
    charttime TIMESTAMP NOT NULL,
    valuenum DOUBLE PRECISION,
    valueuom VARCHAR(50)
);

CREATE TABLE inputevents_cv (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icustay_id INTEGER NOT NULL,
    charttime TIMESTAMP NOT NULL,
    itemid INTEGER NOT NULL,
    amount DOUBLE PRECISION
);

CREATE TABLE outputevents (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icustay_id INTEGER NOT NULL,
    charttime TIMESTAMP NOT NULL,
    itemid INTEGER NOT NULL,
    value DOUBLE PRECISION
);

CREATE TABLE microbiologyevents (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    charttime TIMESTAMP NOT NULL,
    spec_type_desc VARCHAR(100),
    org_name VARCHAR(100)
);

CREATE TABLE icustays (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icustay_id INTEGER NOT NULL,
    first_careunit VARCHAR(20) NOT NULL,
    last_careunit VARCHAR(20) NOT NULL,
    first_wardid SMALLINT NOT NULL,
    last_wardid SMALLINT NOT NULL,
    intime TIMESTAMP NOT NULL,
    outtime TIMESTAMP
);

CREATE TABLE transfers (
    row_id INTEGER NOT NULL PRIMARY KEY,
    subject_id INTEGER NOT NULL,
    hadm_id INTEGER NOT NULL,
    icustay_id INTEGER,
    eventtype VARCHAR(20) NOT NULL,
    careunit VARCHAR(20),
    wardid SMALLINT,
    intime TIMESTAMP NOT NULL,
    outtime TIMESTAMP
);
