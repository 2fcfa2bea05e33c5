-- Imports left `running` by a node that stopped are found by the minute's sweep (imports.rs):
-- only running rows are ever looked at, by when they were last stored.
CREATE INDEX contact_imports_running_idx ON contact_imports (updated_at) WHERE state = 'running';
