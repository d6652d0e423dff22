-- The eICU Collaborative Research Database as the EHRSQL benchmark uses it: ten tables, lowercase.
--
-- eICU is organised around ICU unit stays: one `patient` row per unit stay (patientunitstayid),
-- grouped into hospital admissions (patienthealthsystemstayid) of one person (uniquepid). Every
-- event table points at a unit stay. EHRSQL replaced eICU's minute offsets with timestamps on a
-- shifted 2100-2105 timeline and added the `cost` table; the columns here are every column the
-- EHRSQL gold queries use plus the tables' identifiers. `age` is TEXT as in eICU ('> 89' for the
-- oldest). Timestamps are TEXT 'YYYY-MM-DD HH:MM:SS'. This file is data: the view builder and the
-- CSV loader both create their databases from it.

CREATE TABLE patient (
    uniquepid TEXT NOT NULL,
    patienthealthsystemstayid INTEGER NOT NULL,
    patientunitstayid INTEGER NOT NULL PRIMARY KEY,
    gender TEXT,
    age TEXT,
    ethnicity TEXT,
    hospitalid INTEGER,
    wardid INTEGER,
    admissionheight REAL,
    admissionweight REAL,
    dischargeweight REAL,
    hospitaladmittime TIMESTAMP,
    hospitaladmitsource TEXT,
    unitadmittime TIMESTAMP,
    unitdischargetime TIMESTAMP,
    hospitaldischargetime TIMESTAMP,
    hospitaldischargestatus TEXT
);

CREATE TABLE diagnosis (
    diagnosisid INTEGER NOT NULL PRIMARY KEY,
    patientunitstayid INTEGER NOT NULL,
    diagnosisname TEXT NOT NULL,
    diagnosistime TIMESTAMP,
    icd9code TEXT
);

CREATE TABLE treatment (
    treatmentid INTEGER NOT NULL PRIMARY KEY,
    patientunitstayid INTEGER NOT NULL,
    treatmentname TEXT NOT NULL,
    treatmenttime TIMESTAMP
);

CREATE TABLE lab (
    labid INTEGER NOT NULL PRIMARY KEY,
    patientunitstayid INTEGER NOT NULL,
    labname TEXT NOT NULL,
    labresult REAL,
    labresulttime TIMESTAMP
);

CREATE TABLE medication (
    medicationid INTEGER NOT NULL PRIMARY KEY,
    patientunitstayid INTEGER NOT NULL,
    drugname TEXT NOT NULL,
    dosage TEXT,
    routeadmin TEXT,
    drugstarttime TIMESTAMP,
    drugstoptime TIMESTAMP
);

CREATE TABLE cost (
    costid INTEGER NOT NULL PRIMARY KEY,
    uniquepid TEXT NOT NULL,
    patienthealthsystemstayid INTEGER NOT NULL,
    eventtype TEXT NOT NULL,
    eventid INTEGER NOT NULL,
    chargetime TIMESTAMP,
    cost REAL
);

CREATE TABLE allergy (
    allergyid INTEGER NOT NULL PRIMARY KEY,
    patientunitstayid INTEGER NOT NULL,
    drugname TEXT,
    allergyname TEXT,
    allergytime TIMESTAMP
);

CREATE TABLE intakeoutput (
    intakeoutputid INTEGER NOT NULL PRIMARY KEY,
    patientunitstayid INTEGER NOT NULL,
    cellpath TEXT NOT NULL,
    celllabel TEXT NOT NULL,
    cellvaluenumeric REAL,
    intakeoutputtime TIMESTAMP
);

CREATE TABLE microlab (
    microlabid INTEGER NOT NULL PRIMARY KEY,
    patientunitstayid INTEGER NOT NULL,
    culturesite TEXT NOT NULL,
    organism TEXT,
    culturetakentime TIMESTAMP
);

CREATE TABLE vitalperiodic (
    vitalperiodicid INTEGER NOT NULL PRIMARY KEY,
    patientunitstayid INTEGER NOT NULL,
    temperature REAL,
    sao2 REAL,
    heartrate REAL,
    respiration REAL,
    systemicsystolic REAL,
    systemicdiastolic REAL,
    systemicmean REAL,
    observationtime TIMESTAMP
);
