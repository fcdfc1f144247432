-- Adopts: storage 8
-- Retention deletes delivery records by age.
CREATE INDEX ix_teams_deliveries_delivered_at ON teams_deliveries (delivered_at);
