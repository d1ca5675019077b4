-- The BI read replica (doc/scaling.md): a second cluster that receives the
-- reporting tables by logical replication, where BI tools read the KPI and
-- report views without loading the primary.
--
--   on the primary   SELECT * FROM cobranca.create_bi_publication('cobranca_bi', 'bi_replicator');
--   on the replica   CREATE EXTENSION cobranca;
--                    SELECT cobranca.prepare_bi_replica();
--                    CREATE SUBSCRIPTION cobranca_bi CONNECTION '...' PUBLICATION cobranca_bi;
--
-- What goes: every table the views read, health data included (the claims
-- ratio needs the claims, cancellation_eligible the open hospitalizations),
-- under the same row-level security as on the primary.  What stays: the
-- audit trail (evidence lives where it was sealed; its retention purge
-- deletes rows that the replica's append-only triggers would refuse), the key
-- ring and the encrypted and digested documents (the replica needs no master
-- key and should hold nothing it would need one for), and the jobs' own
-- tables (the replica runs no jobs).
--
-- A database that subscribes to tables of this schema is a replica:
-- cobranca.run_jobs() refuses to run there and the background worker skips
-- its cycles (src/worker.c asks the same question of pg_subscription_rel).

CREATE FUNCTION cobranca.is_bi_replica() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_subscription_rel sr
                   JOIN pg_catalog.pg_class c ON c.oid = sr.srrelid
                  WHERE c.relnamespace = 'cobranca'::pg_catalog.regnamespace)
$$;
COMMENT ON FUNCTION cobranca.is_bi_replica() IS
  'whether this database is a BI replica: it subscribes (logical replication, any state, enabled or not) to tables of schema cobranca; there run_jobs() refuses and the background worker stays idle';

CREATE FUNCTION cobranca.bi_replica_excluded()
  RETURNS TABLE (table_name name, reason text)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT t.table_name::name, t.reason FROM (VALUES
    ('audit_log',        'audit trail: the evidence stays on the primary, where it is chained and sealed; its retention purge deletes rows that the replica''s append-only trigger refuses'),
    ('audit_seal',       'audit chains: sealed on the primary only'),
    ('audit_seal_state', 'the primary''s sealing position'),
    ('audit_hold',       'legal holds act on the primary''s audit trail'),
    ('key_ring',         'wrapped data keys: the replica has no master key and needs none'),
    ('job',              'job registry: the replica runs no jobs'),
    ('job_run',          'history of the primary''s collection cycles'),
    ('table_class',      'shipped with the extension: the same on both sides')
  ) AS t(table_name, reason)
$$;
COMMENT ON FUNCTION cobranca.bi_replica_excluded() IS
  'tables of schema cobranca that the BI publication leaves out, and why (besides every table of security class audit, hold or ops)';

CREATE FUNCTION cobranca.bi_replica_tables()
  RETURNS TABLE (table_name name, columns text[])
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT c.relname,
         CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                              AND a.attname IN ('document_cipher', 'document_digest', 'document_key'))
              THEN ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                            AND a.attname NOT IN ('document_cipher', 'document_digest', 'document_key')
                          ORDER BY a.attnum)
         END
    FROM pg_catalog.pg_class c
    LEFT JOIN cobranca.table_class k ON k.table_name = c.relname
   WHERE c.relnamespace = 'cobranca'::pg_catalog.regnamespace
     AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     AND c.relpersistence = 'p'
     AND COALESCE(k.class, '') NOT IN ('audit', 'hold', 'ops')
     AND c.relname NOT IN (SELECT x.table_name FROM cobranca.bi_replica_excluded() x)
   ORDER BY c.relname
$$;
COMMENT ON FUNCTION cobranca.bi_replica_tables() IS
  'the tables the BI publication carries, with their column list (null: every column; payer without its encrypted and digested document)';

CREATE FUNCTION cobranca.create_bi_publication(name text DEFAULT 'cobranca_bi',
                                               replicator name DEFAULT NULL)
  RETURNS TABLE (table_name name, columns text[])
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  tables text;
  pt record;
  who record;
BEGIN
  IF create_bi_publication.name IS NULL OR create_bi_publication.name = '' THEN
    RAISE EXCEPTION 'the publication needs a name'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'create_bi_publication.name is null or empty.',
            HINT = 'Call cobranca.create_bi_publication() for the default name cobranca_bi.';
  END IF;
  SELECT pg_catalog.string_agg(pg_catalog.format('cobranca.%I', t.table_name)
           || COALESCE(' (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(col), ', ')
                                  FROM pg_catalog.unnest(t.columns) AS col) || ')', ''),
           ', ' ORDER BY t.table_name)
    INTO tables
    FROM cobranca.bi_replica_tables() t;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.pubname = create_bi_publication.name) THEN
    -- again after an upgrade: new tables join, the column lists follow
    EXECUTE pg_catalog.format('ALTER PUBLICATION %I SET TABLE %s', create_bi_publication.name, tables);
    EXECUTE pg_catalog.format('ALTER PUBLICATION %I SET (publish = %L, publish_via_partition_root = true)',
                              create_bi_publication.name, 'insert, update, delete, truncate');
  ELSE
    -- partitioned tables publish through their root, so that the replica's
    -- partitions need not match the primary's
    EXECUTE pg_catalog.format('CREATE PUBLICATION %I FOR TABLE %s WITH (publish_via_partition_root = true)',
                              create_bi_publication.name, tables);
  END IF;
  -- the login the replica connects as reads what is published, and no
  -- more: column by column where the publication has a column list
  IF create_bi_publication.replicator IS NOT NULL THEN
    SELECT r.rolname, r.rolreplication, r.rolbypassrls, r.rolsuper INTO who
      FROM pg_catalog.pg_roles r WHERE r.rolname = create_bi_publication.replicator;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'role "%" does not exist', create_bi_publication.replicator
        USING ERRCODE = 'undefined_object',
              DETAIL = 'create_bi_publication.replicator names the login the replica connects as.',
              HINT = 'CREATE ROLE ... LOGIN REPLICATION BYPASSRLS first.';
    END IF;
    IF NOT who.rolsuper AND NOT (who.rolreplication AND who.rolbypassrls) THEN
      RAISE EXCEPTION 'role "%" cannot copy the published tables', who.rolname
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = pg_catalog.format('replication: %s, bypass row-level security: %s.',
                                         who.rolreplication, who.rolbypassrls),
              HINT = pg_catalog.format('ALTER ROLE %I REPLICATION BYPASSRLS (row-level security is forced on every table).',
                                       who.rolname);
    END IF;
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA cobranca TO %I', who.rolname);
    FOR pt IN SELECT b.table_name, b.columns FROM cobranca.bi_replica_tables() b LOOP
      EXECUTE pg_catalog.format('GRANT SELECT %s ON cobranca.%I TO %I',
                                COALESCE('(' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(col), ', ')
                                                   FROM pg_catalog.unnest(pt.columns) AS col) || ')', ''),
                                pt.table_name, who.rolname);
    END LOOP;
  END IF;
  RETURN QUERY SELECT b.table_name, b.columns FROM cobranca.bi_replica_tables() b;
END
$fn$;
COMMENT ON FUNCTION cobranca.create_bi_publication(text, name) IS
  'On the primary (DBA): creates the logical-replication publication of the BI read replica, or brings an existing one up to date after an upgrade (ALTER PUBLICATION ... SET TABLE); given the replica''s login (REPLICATION BYPASSRLS), grants it SELECT on what is published, column by column where there is a column list; returns the tables and column lists. See doc/scaling.md';
REVOKE ALL ON FUNCTION cobranca.create_bi_publication(text, name) FROM PUBLIC;

CREATE FUNCTION cobranca.prepare_bi_replica() RETURNS bigint
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  t record;
  n bigint;
  total bigint := 0;
  role_was text := pg_catalog.current_setting('session_replication_role');
BEGIN
  IF cobranca.is_bi_replica() THEN
    RAISE EXCEPTION 'this database already subscribes to cobranca tables'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('database %s has a subscription to tables of schema cobranca.',
                                       pg_catalog.current_database()),
            HINT = 'To start again: DROP SUBSCRIPTION, DROP EXTENSION cobranca CASCADE, CREATE EXTENSION cobranca.';
  END IF;
  IF EXISTS (SELECT 1 FROM cobranca.creditor) THEN
    RAISE EXCEPTION 'this database holds collection data of its own'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('cobranca.creditor has %s rows.', (SELECT pg_catalog.count(*) FROM cobranca.creditor)),
            HINT = 'A BI replica starts from a fresh CREATE EXTENSION cobranca in an empty database.';
  END IF;
  -- only the rows CREATE EXTENSION shipped are here; without triggers, so
  -- that nothing is audited or checked on the way out
  PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
  FOR t IN SELECT r.table_name FROM cobranca.bi_replica_tables() r LOOP
    EXECUTE pg_catalog.format('DELETE FROM cobranca.%I', t.table_name);
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
  END LOOP;
  PERFORM pg_catalog.set_config('session_replication_role', role_was, true);
  RETURN total;
END
$fn$;
COMMENT ON FUNCTION cobranca.prepare_bi_replica() IS
  'On a new BI replica (superuser), before CREATE SUBSCRIPTION: empties the replicated tables of the rows CREATE EXTENSION shipped, so that the subscription''s initial copy brings the primary''s rows without key conflicts; refuses in a database with data; returns the rows removed';
REVOKE ALL ON FUNCTION cobranca.prepare_bi_replica() FROM PUBLIC;
