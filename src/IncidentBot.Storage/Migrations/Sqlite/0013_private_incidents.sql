-- Private incidents (SQLite): seen only inside their war rooms and by Api:PrivateTokens. Never set back to 0.
ALTER TABLE incidents ADD COLUMN is_private INTEGER NOT NULL DEFAULT 0 CHECK (is_private IN (0, 1));
