-- The audit log (audit.c): append-only, captured in the writing transaction,
-- sealed into per-creditor SHA-256 hash chains shortly after commit.
-- The capture trigger is put on every domain table by 97_security.sql.

CREATE TABLE cobranca.audit_log (
  id                bigint GENERATED ALWAYS AS IDENTITY,
  logged_at         timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  txid              bigint NOT NULL DEFAULT pg_catalog.pg_current_xact_id()::text::bigint,
  session_user_name name NOT NULL DEFAULT SESSION_USER,
  current_user_name name NOT NULL DEFAULT CURRENT_USER,
  application_name  text,
  client_addr       inet,
  table_name        name NOT NULL,
  operation         text NOT NULL,
  row_id            bigint,
  creditor_id       bigint,
  old_values        jsonb,
  new_values        jsonb,
  reason            text
) PARTITION BY RANGE (logged_at);
-- Partitioned by month of logged_at (92_partition.sql).  The keys and
-- indexes are the partitions' own, not the table's: a dump restores the
-- partitions the job made after CREATE EXTENSION has made the table, and
-- an index of the table would already be on each partition it attaches.
-- The default partition, made here, is the model of the monthly ones.
-- Few and cheap indexes: every domain write pays for them.  BRIN suits both
-- columns, which grow with the table; the seal scans by txid.
CREATE TABLE cobranca.audit_log_default PARTITION OF cobranca.audit_log DEFAULT;
ALTER TABLE cobranca.audit_log_default ADD CONSTRAINT audit_log_default_pkey PRIMARY KEY (id);
CREATE INDEX audit_log_default_txid_idx ON cobranca.audit_log_default USING brin (txid);
CREATE INDEX audit_log_default_logged_at_idx ON cobranca.audit_log_default USING brin (logged_at);
COMMENT ON TABLE cobranca.audit_log IS
  'Who did what, when: one row per INSERT, UPDATE and DELETE on a domain table and per document reveal, written in the same transaction; append-only, sealed into hash chains by cobranca.audit_seal()';
COMMENT ON COLUMN cobranca.audit_log.id IS 'capture order (not commit order); the chain order is in cobranca.audit_seal';
COMMENT ON COLUMN cobranca.audit_log.logged_at IS 'clock time of the change';
COMMENT ON COLUMN cobranca.audit_log.txid IS 'top-level transaction id (pg_current_xact_id, as a number)';
COMMENT ON COLUMN cobranca.audit_log.session_user_name IS 'the login that connected (session_user)';
COMMENT ON COLUMN cobranca.audit_log.current_user_name IS 'the role in effect (current_user): differs under SET ROLE or inside a SECURITY DEFINER function';
COMMENT ON COLUMN cobranca.audit_log.application_name IS 'application_name of the session';
COMMENT ON COLUMN cobranca.audit_log.client_addr IS 'client IP address; null over a Unix socket';
COMMENT ON COLUMN cobranca.audit_log.table_name IS 'table changed (or read, for REVEAL)';
COMMENT ON COLUMN cobranca.audit_log.operation IS 'INSERT, UPDATE, DELETE, or REVEAL (a document shown by reveal_document)';
COMMENT ON COLUMN cobranca.audit_log.row_id IS 'id of the row';
COMMENT ON COLUMN cobranca.audit_log.creditor_id IS 'tenant of the row: selects the hash chain and who may read the entry';
COMMENT ON COLUMN cobranca.audit_log.old_values IS 'row before (DELETE) or changed columns before (UPDATE); encrypted and digested documents never appear';
COMMENT ON COLUMN cobranca.audit_log.new_values IS 'row after (INSERT) or changed columns after (UPDATE); encrypted and digested documents never appear';
COMMENT ON COLUMN cobranca.audit_log.reason IS 'stated reason of a REVEAL';

CREATE TABLE cobranca.audit_seal (
  audit_id  bigint PRIMARY KEY,
  chain_id  bigint NOT NULL,
  seq       bigint NOT NULL CHECK (seq > 0),
  sealed_at timestamptz NOT NULL,
  prev_hash bytea NOT NULL,
  hash      bytea NOT NULL,
  CONSTRAINT audit_seal_position UNIQUE (chain_id, seq)
);
COMMENT ON TABLE cobranca.audit_seal IS
  'The hash chains over cobranca.audit_log, one per creditor (chain 0: rows without creditor); append-only';
COMMENT ON COLUMN cobranca.audit_seal.audit_id IS 'the audit_log row sealed';
COMMENT ON COLUMN cobranca.audit_seal.chain_id IS 'creditor_id of the row, 0 when it has none';
COMMENT ON COLUMN cobranca.audit_seal.seq IS 'position in the chain, from 1, in seal order';
COMMENT ON COLUMN cobranca.audit_seal.prev_hash IS 'hash of the previous position (32 zero bytes at position 1)';
COMMENT ON COLUMN cobranca.audit_seal.hash IS 'SHA-256 of label, chain, position, prev_hash and the canonical audit_log row';

CREATE TABLE cobranca.audit_seal_state (
  one           boolean PRIMARY KEY DEFAULT true CHECK (one),
  last_snapshot pg_snapshot NOT NULL DEFAULT '1:1:',
  sealed_at     timestamptz,
  last_count    bigint
);
INSERT INTO cobranca.audit_seal_state DEFAULT VALUES;
COMMENT ON TABLE cobranca.audit_seal_state IS
  'One row: the snapshot the last seal started from; rows of transactions not visible in it are sealed next';

CREATE TABLE cobranca.audit_hold (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint REFERENCES cobranca.creditor,
  reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  until       date,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE cobranca.audit_hold IS
  'Legal holds: while one is in force (until null or not past), the retention purge keeps every audit row of the creditor (all creditors when creditor_id is null)';

CREATE FUNCTION cobranca.audit_capture() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_audit_capture'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.audit_capture() IS
  'AFTER ROW trigger: appends the change to cobranca.audit_log (documents redacted, changed columns only on UPDATE)';

CREATE FUNCTION cobranca.audit_refuse() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_audit_refuse'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.audit_refuse() IS
  'refuses UPDATE, DELETE and TRUNCATE on the audit tables, for every role';

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON cobranca.audit_log
  FOR EACH ROW EXECUTE FUNCTION cobranca.audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON cobranca.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.audit_refuse();
CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON cobranca.audit_seal
  FOR EACH ROW EXECUTE FUNCTION cobranca.audit_refuse();
CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON cobranca.audit_seal
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.audit_refuse();
-- ALWAYS: they fire under session_replication_role = replica too
ALTER TABLE cobranca.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE cobranca.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
ALTER TABLE cobranca.audit_seal ENABLE ALWAYS TRIGGER audit_seal_append_only;
ALTER TABLE cobranca.audit_seal ENABLE ALWAYS TRIGGER audit_seal_no_truncate;

CREATE FUNCTION cobranca.audit_note(table_name text, operation text, row_id bigint,
                                    creditor_id bigint, reason text, detail jsonb)
  RETURNS bigint
  AS 'MODULE_PATHNAME', 'cobranca_audit_note'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cobranca.audit_note(text, text, bigint, bigint, text, jsonb) IS
  'appends an audit row for an access that is not a row change (REVEAL); owner only, called by reveal_document()';

CREATE FUNCTION cobranca.audit_seal() RETURNS bigint
  AS 'MODULE_PATHNAME', 'cobranca_audit_seal'
  LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.audit_seal() IS
  'seals the audit rows committed since the last seal into their creditor''s hash chain, in id order, at most 100000 per call; returns how many';

CREATE FUNCTION cobranca.audit_verify(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint)
  AS 'MODULE_PATHNAME', 'cobranca_audit_verify'
  LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.audit_verify() IS
  'recomputes every hash chain; ok is false when a sealed row, a seal or a position was changed or removed, or a committed row escaped the seal; first_bad_id is the smallest audit id where that happens';

CREATE FUNCTION cobranca.audit_purge(before timestamptz) RETURNS bigint
  AS 'MODULE_PATHNAME', 'cobranca_audit_purge'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.audit_purge(timestamptz) IS
  'retention: removes sealed audit rows logged before the given time, per chain a prefix only and never the newest row, never unsealed rows nor rows of a creditor under legal hold; returns how many';

CREATE FUNCTION cobranca.audit_head()
  RETURNS TABLE (chain_id bigint, seq bigint, hash text, sealed_at timestamptz)
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT DISTINCT ON (s.chain_id) s.chain_id, s.seq, pg_catalog.encode(s.hash, 'hex'), s.sealed_at
  FROM cobranca.audit_seal s
  ORDER BY s.chain_id, s.seq DESC
$$;
COMMENT ON FUNCTION cobranca.audit_head() IS
  'the newest position and hash of every chain the caller may read (row-level security applies): publish them outside the database (e.g. to a notary or a write-once store) so that even a rewrite of the whole chain by a superuser shows';

CREATE FUNCTION cobranca.job_seal_audit(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  n bigint;
BEGIN
  n := cobranca.audit_seal();
  IF cobranca.audit_retention_days() > 0 THEN
    PERFORM cobranca.audit_purge(as_of - pg_catalog.make_interval(days => cobranca.audit_retention_days()));
  END IF;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.job_seal_audit(timestamptz) IS
  'job seal_audit: seals pending audit rows (returns how many), then applies cobranca.audit_retention_days';

CREATE FUNCTION cobranca.audit_retention_days() RETURNS integer
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$ SELECT COALESCE(pg_catalog.current_setting('cobranca.audit_retention_days', true), '0')::integer $$;
COMMENT ON FUNCTION cobranca.audit_retention_days() IS
  'the GUC cobranca.audit_retention_days: days after which sealed audit rows may be purged; 0 keeps them forever';

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('seal_audit', 50, 'cobranca.job_seal_audit(timestamptz)',
        'seal the audit rows committed since the last seal into the hash chains; apply audit retention');

REVOKE ALL ON FUNCTION cobranca.audit_capture(), cobranca.audit_refuse(),
  cobranca.audit_note(text, text, bigint, bigint, text, jsonb), cobranca.audit_seal(),
  cobranca.audit_verify(), cobranca.audit_purge(timestamptz), cobranca.audit_head(),
  cobranca.job_seal_audit(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.audit_seal(), cobranca.audit_verify(), cobranca.audit_head()
  TO cobranca_legal, cobranca_admin;

SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_seal', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_hold', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_hold_id_seq', '');
