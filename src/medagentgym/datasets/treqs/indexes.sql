-- Indexes for the joins (`on demographic.hadm_id = <table>.hadm_id`) and lookups the gold SQL
-- makes, and for per-patient reads (subject_id). Text indexes inherit the columns' NOCASE collation, so `=` comparisons can use them.
CREATE INDEX demographic_subject ON demographic (subject_id);
CREATE INDEX demographic_name ON demographic (name);
CREATE INDEX diagnoses_hadm ON diagnoses (hadm_id);
CREATE INDEX diagnoses_subject ON diagnoses (subject_id);
CREATE INDEX diagnoses_code ON diagnoses (icd9_code);
CREATE INDEX diagnoses_short ON diagnoses (short_title);
CREATE INDEX procedures_hadm ON procedures (hadm_id);
CREATE INDEX procedures_subject ON procedures (subject_id);
CREATE INDEX procedures_code ON procedures (icd9_code);
CREATE INDEX procedures_short ON procedures (short_title);
CREATE INDEX prescriptions_hadm ON prescriptions (hadm_id);
CREATE INDEX prescriptions_subject ON prescriptions (subject_id);
CREATE INDEX prescriptions_drug ON prescriptions (drug);
CREATE INDEX prescriptions_code ON prescriptions (formulary_drug_cd);
CREATE INDEX lab_hadm ON lab (hadm_id);
CREATE INDEX lab_subject ON lab (subject_id);
CREATE INDEX lab_itemid ON lab (itemid);
CREATE INDEX lab_label ON lab (label);
