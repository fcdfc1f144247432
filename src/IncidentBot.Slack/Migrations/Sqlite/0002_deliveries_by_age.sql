-- Adopts: storage 8
-- Retention deletes delivery records by age.
CREATE INDEX ix_slack_deliveries_delivered_at ON slack_deliveries (delivered_at);
