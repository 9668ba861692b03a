-- Web3Signer slashing-protection schema as it stands after Web3Signer's 12 PostgreSQL migrations
-- (database_version = 12), written for stakewatch's tests from the description in
-- /work/shared/specs/web3signer-slashing-db/WEB3SIGNER-NOTES.md. It is not a copy of the migration
-- files: it creates the final shape in one go (same table, column, constraint and index shapes;
-- constraint names as Web3Signer's where the notes give them). Web3Signer's upsert_validators()
-- function is left out: a read-only monitor never calls it.

CREATE TABLE validators (
  id         SERIAL  PRIMARY KEY,
  public_key BYTEA   NOT NULL,
  enabled    BOOLEAN NOT NULL DEFAULT true,
  CONSTRAINT validators_public_key_key UNIQUE (public_key)
);

CREATE TABLE signed_blocks (
  id           BIGSERIAL   PRIMARY KEY,
  validator_id INTEGER     NOT NULL REFERENCES validators (id),
  slot         NUMERIC(20) NOT NULL,
  signing_root BYTEA,
  CONSTRAINT unique_signed_block UNIQUE (validator_id, slot)
);
-- Web3Signer keeps this index next to the unique constraint's own (migration 6 predates 8).
CREATE INDEX signed_blocks_validator_id_slot_idx ON signed_blocks (validator_id, slot);

CREATE TABLE signed_attestations (
  id           BIGSERIAL   PRIMARY KEY,
  validator_id INTEGER     REFERENCES validators (id),
  source_epoch NUMERIC(20) NOT NULL,
  target_epoch NUMERIC(20) NOT NULL,
  signing_root BYTEA,
  CONSTRAINT unique_signed_attestation UNIQUE (validator_id, target_epoch)
);
CREATE INDEX signed_attestations_validator_id_target_epoch_idx
  ON signed_attestations (validator_id, target_epoch);

-- The pruning floor per validator: nothing below it may be signed, and rows below it may be gone.
CREATE TABLE low_watermarks (
  validator_id INTEGER     NOT NULL UNIQUE REFERENCES validators (id),
  slot         NUMERIC(20),
  target_epoch NUMERIC(20),
  source_epoch NUMERIC(20),
  CONSTRAINT both_epochs_set_or_null CHECK ((target_epoch IS NULL) = (source_epoch IS NULL))
);

CREATE TABLE metadata (
  id                      INTEGER     PRIMARY KEY,
  genesis_validators_root BYTEA       NOT NULL,
  high_watermark_epoch    NUMERIC(20),
  high_watermark_slot     NUMERIC(20)
);

CREATE TABLE database_version (
  id      INTEGER PRIMARY KEY,
  version INTEGER NOT NULL
);
INSERT INTO database_version (id, version) VALUES (1, 12);

-- The high watermark must stay above every low watermark, and a low watermark may not pass the
-- high watermark (Web3Signer enforces both with BEFORE triggers).
CREATE FUNCTION check_high_watermarks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.high_watermark_slot <= (SELECT max(slot) FROM low_watermarks) THEN
    RAISE EXCEPTION 'high_watermark_slot must be greater than every low watermark slot';
  END IF;
  IF NEW.high_watermark_epoch <=
       (SELECT greatest(max(target_epoch), max(source_epoch)) FROM low_watermarks) THEN
    RAISE EXCEPTION 'high_watermark_epoch must be greater than every low watermark epoch';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER check_before_insert_or_update_high_watermarks
  BEFORE INSERT OR UPDATE ON metadata FOR EACH ROW EXECUTE FUNCTION check_high_watermarks();

CREATE FUNCTION check_low_watermarks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  high_slot  NUMERIC(20) := (SELECT min(high_watermark_slot) FROM metadata);
  high_epoch NUMERIC(20) := (SELECT min(high_watermark_epoch) FROM metadata);
BEGIN
  IF NEW.slot > high_slot OR NEW.source_epoch > high_epoch OR NEW.target_epoch > high_epoch THEN
    RAISE EXCEPTION 'a low watermark may not exceed the high watermark in metadata';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER check_before_insert_or_update_low_watermarks
  BEFORE INSERT OR UPDATE ON low_watermarks FOR EACH ROW EXECUTE FUNCTION check_low_watermarks();

-- Web3Signer writes the metadata row on first start; the tests use mainnet's root.
INSERT INTO metadata (id, genesis_validators_root)
VALUES (1, decode('4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95', 'hex'));
