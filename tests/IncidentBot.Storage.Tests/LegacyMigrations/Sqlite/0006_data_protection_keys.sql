-- ASP.NET Core data-protection keys (SQLite): the keys that encrypt dashboard session and antiforgery cookies, kept
-- in the bot's database so every instance reads the same ones and cookies survive restarts. One row per key, as
-- the key manager wrote it (XML); rows are only ever added (the key manager expires and revokes by adding).
CREATE TABLE data_protection_keys (
    name TEXT PRIMARY KEY,
    xml TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
