#!/bin/bash
# Creates stakewatch's read-only role in the slashing-protection database (docs/configuration.md,
# `slashing_db`). Run by the postgres image once, when the data directory is initialised. The
# password is taken from the same secret stakewatch connects with (stakewatch_db_dsn), so it
# exists in one place. Web3Signer's tables are created later by Flyway as user web3signer, hence
# the default privileges.
set -euo pipefail
dsn="$(cat /run/secrets/stakewatch_db_dsn)"
password="$(printf '%s' "$dsn" | sed -n 's/.*password=\([^ ]*\).*/\1/p')"
if [ -z "$password" ]; then
  echo "10-stakewatch-role.sh: no password= in the stakewatch_db_dsn secret" >&2
  exit 1
fi
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=pw="$password" <<'SQL'
CREATE ROLE stakewatch LOGIN PASSWORD :'pw';
GRANT pg_monitor TO stakewatch;
GRANT CONNECT ON DATABASE web3signer TO stakewatch;
GRANT USAGE ON SCHEMA public TO stakewatch;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO stakewatch;
ALTER DEFAULT PRIVILEGES FOR ROLE web3signer IN SCHEMA public GRANT SELECT ON TABLES TO stakewatch;
SQL
