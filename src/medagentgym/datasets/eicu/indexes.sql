-- Indexes created after filling the tables. Not part of the eICU schema: they keep EHRSQL-style
-- nested subqueries (uniquepid -> health-system stays -> unit stays -> events) fast.
CREATE INDEX IF NOT EXISTS ix_patient_uniquepid ON patient (uniquepid);
CREATE INDEX IF NOT EXISTS ix_patient_hss ON patient (patienthealthsystemstayid);
CREATE INDEX IF NOT EXISTS ix_diagnosis_stay ON diagnosis (patientunitstayid);
CREATE INDEX IF NOT EXISTS ix_diagnosis_name ON diagnosis (diagnosisname);
CREATE INDEX IF NOT EXISTS ix_treatment_stay ON treatment (patientunitstayid);
CREATE INDEX IF NOT EXISTS ix_treatment_name ON treatment (treatmentname);
CREATE INDEX IF NOT EXISTS ix_lab_stay_name ON lab (patientunitstayid, labname);
CREATE INDEX IF NOT EXISTS ix_lab_name ON lab (labname);
CREATE INDEX IF NOT EXISTS ix_medication_stay ON medication (patientunitstayid);
CREATE INDEX IF NOT EXISTS ix_medication_drug ON medication (drugname);
CREATE INDEX IF NOT EXISTS ix_cost_hss ON cost (patienthealthsystemstayid);
CREATE INDEX IF NOT EXISTS ix_cost_uniquepid ON cost (uniquepid);
CREATE INDEX IF NOT EXISTS ix_cost_event ON cost (eventtype, eventid);
CREATE INDEX IF NOT EXISTS ix_allergy_stay ON allergy (patientunitstayid);
CREATE INDEX IF NOT EXISTS ix_intakeoutput_stay ON intakeoutput (patientunitstayid);
CREATE INDEX IF NOT EXISTS ix_microlab_stay ON microlab (patientunitstayid);
CREATE INDEX IF NOT EXISTS ix_vitalperiodic_stay ON vitalperiodic (patientunitstayid);
