-- Private incidents (PostgreSQL): seen only inside their war rooms and by Api:PrivateTokens. Never set back to false.
ALTER TABLE incidents ADD COLUMN is_private boolean NOT NULL DEFAULT FALSE;
