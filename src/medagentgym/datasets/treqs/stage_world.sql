-- Staging for the world view: the facts MIMICSQL takes from MIMIC-III columns that EHRSQL's
-- 17 tables drop, read from the world's extra tables. The user-CSV build fills the same four
-- staging relations from the CSV files instead (csv_source.py), so fill.sql serves both.
-- Values stay lowercase here; fill.sql restores MIMIC-III's letter case.

CREATE TEMP TABLE stage_admission (
    hadm_id INTEGER PRIMARY KEY,
    name TEXT,
    religion TEXT,
    diagnosis TEXT
);
INSERT INTO stage_admission
SELECT a.hadm_id, lower(p.first_name || ' ' || p.last_name), lower(p.religion), lower(a.admit_diagnosis)
FROM world.admission_info AS a
LEFT JOIN world.patient_info AS p ON p.subject_id = a.subject_id;

CREATE TEMP TABLE stage_lab_item (
    itemid INTEGER PRIMARY KEY,
    label TEXT,
    fluid TEXT,
    category TEXT
);
INSERT INTO stage_lab_item
SELECT itemid, lower(label), lower(fluid), lower(category) FROM world.lab_items;

-- MIMIC-III flags a lab value 'abnormal' outside the laboratory's reference range and 'delta'
-- when it moved sharply since the previous measurement; normal values have no flag. The world
-- has the reference ranges, so: outside [ref_low, ref_high] -> 'abnormal'; else a change from
-- the admission's previous value of the same item by more than half the range width -> 'delta'.
CREATE TEMP TABLE stage_lab (
    row_id INTEGER PRIMARY KEY,
    flag TEXT,
    value TEXT
);
INSERT INTO stage_lab
SELECT row_id,
       CASE
           WHEN valuenum IS NULL OR ref_low IS NULL THEN NULL
           WHEN valuenum < ref_low OR valuenum > ref_high THEN 'abnormal'
           WHEN previous IS NOT NULL AND abs(valuenum - previous) > 0.5 * (ref_high - ref_low)
               THEN 'delta'
       END,
       treqs_number_text(valuenum)
FROM (
    SELECT l.row_id, l.valuenum, i.ref_low, i.ref_high,
           lag(l.valuenum) OVER (
               PARTITION BY l.hadm_id, l.itemid ORDER BY l.charttime, l.row_id
           ) AS previous
    FROM world.labevents AS l
    LEFT JOIN world.lab_items AS i ON i.itemid = l.itemid
);

-- MIMIC-III's prescriptions carry the ICU stay the order was written in, the drug type
-- (MAIN / BASE / ADDITIVE) and the formulary code; the world keeps the last two per drug.
CREATE TEMP TABLE stage_rx (
    row_id INTEGER PRIMARY KEY,
    icustay_id INTEGER,
    drug_type TEXT,
    formulary_drug_cd TEXT
);
INSERT INTO stage_rx
SELECT r.row_id,
       (SELECT i.icustay_id FROM world.icustays AS i
        WHERE i.hadm_id = r.hadm_id AND i.intime <= r.startdate
          AND (i.outtime IS NULL OR r.startdate <= i.outtime)
        ORDER BY i.intime LIMIT 1),
       lower(d.drug_type),
       lower(d.formulary_drug_cd)
FROM world.prescriptions AS r
LEFT JOIN world.drug_info AS d ON d.drug = r.drug;
