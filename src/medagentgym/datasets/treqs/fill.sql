-- Fill the five MIMICSQL tables from the EHRSQL-shaped tables in schema `world` (the world, or
-- a database loaded from the user's MIMIC-III CSVs) and the four staging relations.
--
-- MIMICSQL derives its tables from MIMIC-III like this, and so does this file:
-- * demographic: one row per admission (ADMISSIONS joined with PATIENTS); days_stay = whole
--   days from admittime to dischtime; expire_flag = 1 when the patient has a date of death;
--   dob_year, dod_year, admityear = the years of dob, dod, admittime;
-- * diagnoses / procedures: one row per coded diagnosis / procedure with its ICD-9 titles;
-- * prescriptions: one row per order; drug_dose = dose value followed by its unit ('40mg');
-- * lab: one row per lab event with its item's label, fluid and category, the flag, and
--   value_unit = value followed by its unit.
-- Letter case is MIMIC-III's: categorical demographics, routes, drug types and formulary codes
-- upper case; ICD-9 titles in sentence case; lab dictionary words and drug names capitalised.
-- Events without an admission (outpatient labs in MIMIC-III) are left out: MIMICSQL joins every
-- table to demographic by hadm_id. The treqs_* functions are registered by build.py.

INSERT INTO demographic
SELECT a.subject_id,
       a.hadm_id,
       treqs_capitalize_words(s.name),
       upper(a.marital_status),
       a.age,
       p.dob,
       upper(p.gender),
       upper(a.language),
       upper(s.religion),
       upper(a.admission_type),
       CAST(julianday(a.dischtime) - julianday(a.admittime) AS INTEGER),
       treqs_capitalize_words(a.insurance),
       upper(a.ethnicity),
       CASE WHEN p.dod IS NULL THEN 0 ELSE 1 END,
       upper(a.admission_location),
       upper(a.discharge_location),
       upper(s.diagnosis),
       p.dod,
       CAST(strftime('%Y', p.dob) AS INTEGER),
       CAST(strftime('%Y', p.dod) AS INTEGER),
       a.admittime,
       a.dischtime,
       CAST(strftime('%Y', a.admittime) AS INTEGER)
FROM world.admissions AS a
JOIN world.patients AS p ON p.subject_id = a.subject_id
LEFT JOIN stage_admission AS s ON s.hadm_id = a.hadm_id
ORDER BY a.hadm_id;

INSERT INTO diagnoses
SELECT d.subject_id, d.hadm_id, upper(d.icd9_code),
       treqs_icd_title(t.short_title), treqs_sentence(t.long_title)
FROM world.diagnoses_icd AS d
LEFT JOIN world.d_icd_diagnoses AS t ON t.icd9_code = d.icd9_code
WHERE d.hadm_id IS NOT NULL
ORDER BY d.row_id;

INSERT INTO procedures
SELECT d.subject_id, d.hadm_id, upper(d.icd9_code),
       treqs_icd_title(t.short_title), treqs_sentence(t.long_title)
FROM world.procedures_icd AS d
LEFT JOIN world.d_icd_procedures AS t ON t.icd9_code = d.icd9_code
WHERE d.hadm_id IS NOT NULL
ORDER BY d.row_id;

INSERT INTO prescriptions
SELECT r.subject_id, r.hadm_id, x.icustay_id, upper(x.drug_type), treqs_drug_name(r.drug),
       upper(x.formulary_drug_cd), upper(r.route),
       CASE WHEN r.dose_val_rx IS NULL THEN NULL
            ELSE r.dose_val_rx || coalesce(r.dose_unit_rx, '') END
FROM world.prescriptions AS r
LEFT JOIN stage_rx AS x ON x.row_id = r.row_id
WHERE r.hadm_id IS NOT NULL
ORDER BY r.row_id;

-- Lab dictionary words are cased once per item, not once per event.
CREATE TEMP TABLE lab_item_cased (
    itemid INTEGER PRIMARY KEY,
    label TEXT,
    fluid TEXT,
    category TEXT
);
INSERT INTO lab_item_cased
SELECT k.itemid,
       treqs_capitalize_words(coalesce(i.label, d.label)),
       treqs_capitalize_words(i.fluid),
       treqs_capitalize_words(i.category)
FROM (SELECT itemid FROM world.d_labitems UNION SELECT itemid FROM stage_lab_item) AS k
LEFT JOIN stage_lab_item AS i ON i.itemid = k.itemid
LEFT JOIN world.d_labitems AS d ON d.itemid = k.itemid;

INSERT INTO lab
SELECT l.subject_id, l.hadm_id, l.itemid, l.charttime, s.flag,
       CASE WHEN s.value IS NULL THEN NULL ELSE s.value || coalesce(l.valueuom, '') END,
       c.label, c.fluid, c.category
FROM world.labevents AS l
LEFT JOIN stage_lab AS s ON s.row_id = l.row_id
LEFT JOIN temp.lab_item_cased AS c ON c.itemid = l.itemid
WHERE l.hadm_id IS NOT NULL
ORDER BY l.row_id;

DROP TABLE temp.lab_item_cased;
