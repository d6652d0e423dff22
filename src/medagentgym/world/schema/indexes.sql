-- Indexes created after loading (faster than indexing row by row). Not part of the MIMIC-III
-- schema itself: they only keep EHRSQL-style nested subqueries fast on the embedded database.
CREATE INDEX IF NOT EXISTS ix_admissions_subject ON admissions (subject_id);
CREATE INDEX IF NOT EXISTS ix_icustays_hadm ON icustays (hadm_id);
CREATE INDEX IF NOT EXISTS ix_transfers_hadm ON transfers (hadm_id);
CREATE INDEX IF NOT EXISTS ix_diagnoses_hadm ON diagnoses_icd (hadm_id);
CREATE INDEX IF NOT EXISTS ix_diagnoses_code ON diagnoses_icd (icd9_code);
CREATE INDEX IF NOT EXISTS ix_procedures_hadm ON procedures_icd (hadm_id);
CREATE INDEX IF NOT EXISTS ix_procedures_code ON procedures_icd (icd9_code);
CREATE INDEX IF NOT EXISTS ix_d_icd_diagnoses_short ON d_icd_diagnoses (short_title);
CREATE INDEX IF NOT EXISTS ix_d_icd_procedures_short ON d_icd_procedures (short_title);
CREATE INDEX IF NOT EXISTS ix_labevents_hadm_item ON labevents (hadm_id, itemid);
CREATE INDEX IF NOT EXISTS ix_labevents_item ON labevents (itemid);
CREATE INDEX IF NOT EXISTS ix_prescriptions_hadm ON prescriptions (hadm_id);
CREATE INDEX IF NOT EXISTS ix_prescriptions_drug ON prescriptions (drug);
CREATE INDEX IF NOT EXISTS ix_cost_hadm ON cost (hadm_id);
CREATE INDEX IF NOT EXISTS ix_cost_event ON cost (event_type, event_id);
CREATE INDEX IF NOT EXISTS ix_chartevents_stay_item ON chartevents (icustay_id, itemid);
CREATE INDEX IF NOT EXISTS ix_chartevents_item ON chartevents (itemid);
CREATE INDEX IF NOT EXISTS ix_inputevents_stay_item ON inputevents_cv (icustay_id, itemid);
CREATE INDEX IF NOT EXISTS ix_outputevents_stay_item ON outputevents (icustay_id, itemid);
CREATE INDEX IF NOT EXISTS ix_micro_hadm ON microbiologyevents (hadm_id);
