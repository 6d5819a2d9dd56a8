-- Accounts: a name shown beside each message, and a scrypt hash of the password (never the password).
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username text NOT NULL CHECK (char_length(username) BETWEEN 1 AND 40),
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Names are unique whatever their case: "Ada" cannot sign up beside "ada".
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
