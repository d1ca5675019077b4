-- 0.2.0: the distributed layout (src/sql/94_citus.sql), unchanged.

-- The distributed layout (doc/scaling.md): where each table goes on a Citus
-- cluster, and the statements that put it there.  Nothing here needs Citus;
-- test/pgtap/citus_layout.sql checks the rules below against the catalog,
-- so that a new table or key that would break the layout fails the suite.
--
--   distributed  sharded by creditor_id (audit_seal by chain_id, its
--                creditor), all in one co-location group: a creditor's rows
--                of every table live on one node, so the joins and triggers
--                of one creditor never leave it
--   reference    small tables copied to every node: creditors, portfolios,
--                logins, rules, calendars, tiers, models, keys
--   local        the coordinator's own: the job runner and the install's
--                bookkeeping
--
-- Rules (what Citus requires, and what the layout keeps true):
--   - a distributed table has its distribution column, bigint NOT NULL
--     (audit_log alone keeps a nullable creditor_id; see doc/scaling.md)
--   - no foreign key from a reference or local table to a distributed one,
--     none from a distributed table to a local one, none from a reference
--     table to a local one
--   - every unique key of a distributed table either holds the distribution
--     column or holds a column that fixes the creditor (its own id, or a
--     reference to a row that carries a creditor): adding the distribution
--     column, as Citus needs, then changes nothing
-- On one server the identity id stays the primary key (doc/spec.md §3b);
-- cobranca.citus_ddl() widens the keys with the distribution column.

CREATE FUNCTION cobranca.citus_layout()
  RETURNS TABLE (table_name name, placement text, distribution_column name, note text)
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH listed (table_name, placement, distribution_column, note) AS (VALUES
    ('creditor',         'reference', NULL, 'the tenants: few, read by every trigger and job (time zone, fine, interest); every distributed table refers to it'),
    ('portfolio',        'reference', NULL, 'a few per creditor; every row-level security policy and KPI groups by it'),
    ('assignment',       'reference', NULL, 'login to portfolios: read by the row-level security policies on every node'),
    ('erp_login',        'reference', NULL, 'login to creditor: read by the row-level security policies on every node'),
    ('cadence_rule',     'reference', NULL, 'cadence steps (creditor null: every creditor); contact.rule_id refers to it'),
    ('holiday',          'reference', NULL, 'calendar, shared by every creditor'),
    ('contact_window',   'reference', NULL, 'lawful contact hours per state (creditor null: the default)'),
    ('channel_capacity', 'reference', NULL, 'contacts a day per creditor and channel: a few rows'),
    ('channel_cost',     'reference', NULL, 'cost per contact (creditor null: the default)'),
    ('agreement_tier',   'reference', NULL, 'discount tiers; agreement.tier refers to it'),
    ('score_model',      'reference', NULL, 'the scoring models: the active one is read wherever invoices are scored'),
    ('key_ring',         'reference', NULL, 'wrapped data keys: needed wherever the payer trigger encrypts, i.e. on every node'),
    ('audit_hold',       'reference', NULL, 'legal holds (creditor null: every creditor)'),
    ('job',              'local',     NULL, 'the job registry: cobranca.run_jobs() runs on the coordinator'),
    ('job_run',          'local',     NULL, 'history of the coordinator''s cycles'),
    ('audit_seal_state', 'local',     NULL, 'the sealing position: snapshots are per node (see doc/scaling.md)'),
    ('table_class',      'local',     NULL, 'security classes, read while the extension is installed'),
    ('audit_seal',       'distributed', 'chain_id', 'the hash chains: one per creditor, chain_id is the creditor')
  )
  SELECT c.relname,
         COALESCE(l.placement, 'distributed'),
         CASE WHEN COALESCE(l.placement, 'distributed') = 'distributed'
              THEN COALESCE(l.distribution_column, 'creditor_id')::name END,
         COALESCE(l.note, 'tenant data: sharded by creditor_id, co-located with every other distributed table')
    FROM pg_catalog.pg_class c
    LEFT JOIN listed l ON l.table_name = c.relname
   WHERE c.relnamespace = 'cobranca'::pg_catalog.regnamespace
     AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   ORDER BY 2, 1
$$;
COMMENT ON FUNCTION cobranca.citus_layout() IS
  'Where every table of schema cobranca goes on a Citus cluster: reference and local tables are listed, every other table is distributed by creditor_id in one co-location group (see doc/scaling.md)';

CREATE FUNCTION cobranca.citus_ddl()
  RETURNS TABLE (step integer, statement text)
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  r record;
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS citus_ddl_dist (oid oid PRIMARY KEY, relname name, attnum smallint, attname name)
    ON COMMIT DROP;
  TRUNCATE citus_ddl_dist;
  -- a distributed table with its partitions, if it has any: Citus
  -- distributes them with it, so their own keys need the column too
  INSERT INTO citus_ddl_dist
  SELECT c.oid, c.relname, a.attnum, a.attname
    FROM cobranca.citus_layout() l
    JOIN pg_catalog.pg_class root ON root.relname = l.table_name
                                 AND root.relnamespace = 'cobranca'::pg_catalog.regnamespace
    CROSS JOIN LATERAL (SELECT root.oid AS relid
                        UNION SELECT t.relid FROM pg_catalog.pg_partition_tree(root.oid) t) t
    JOIN pg_catalog.pg_class c ON c.oid = t.relid AND c.relkind IN ('r', 'p')
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = l.distribution_column
   WHERE l.placement = 'distributed';

  -- 1a. foreign keys between distributed tables without the distribution
  -- column: dropped first (they lean on the keys widened next)
  FOR r IN
    SELECT con.conrelid::pg_catalog.regclass AS rel, con.conname
      FROM pg_catalog.pg_constraint con
      JOIN citus_ddl_dist d ON d.oid = con.conrelid
      JOIN citus_ddl_dist p ON p.oid = con.confrelid
     WHERE con.contype = 'f' AND NOT (d.attnum = ANY (con.conkey)) AND con.conparentid = 0
     ORDER BY 1, 2
  LOOP
    step := 1;
    statement := pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I;', r.rel, r.conname);
    RETURN NEXT;
  END LOOP;

  -- 1b. primary keys and unique constraints without it: the same name, the
  -- same columns, the distribution column last (lookups by the old leading
  -- columns keep their index)
  FOR r IN
    SELECT con.conrelid::pg_catalog.regclass AS rel, con.conname, con.contype, d.attname AS dist,
           i.indnullsnotdistinct AS nnd,
           (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord)
              FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols
      FROM pg_catalog.pg_constraint con
      JOIN citus_ddl_dist d ON d.oid = con.conrelid
      JOIN pg_catalog.pg_index i ON i.indexrelid = con.conindid
     WHERE con.contype IN ('p', 'u') AND NOT (d.attnum = ANY (con.conkey)) AND con.conparentid = 0
     ORDER BY 1, 2
  LOOP
    step := 1;
    statement := pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s%s (%s, %I);',
                                   r.rel, r.conname, r.conname,
                                   CASE r.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END,
                                   CASE WHEN r.nnd THEN ' NULLS NOT DISTINCT' ELSE '' END,
                                   r.cols, r.dist);
    RETURN NEXT;
  END LOOP;

  -- 1c. unique indexes that back no constraint (partial ones): rebuilt the
  -- same way, predicate kept
  FOR r IN
    SELECT i.indexrelid::pg_catalog.regclass AS idx, ic.relname AS idxname, i.indrelid::pg_catalog.regclass AS rel,
           d.attname AS dist, i.indnullsnotdistinct AS nnd,
           (SELECT pg_catalog.string_agg(pg_catalog.pg_get_indexdef(i.indexrelid, k, true), ', ' ORDER BY k)
              FROM pg_catalog.generate_series(1, i.indnkeyatts) AS k) AS cols,
           pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) AS pred
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      JOIN citus_ddl_dist d ON d.oid = i.indrelid
     WHERE i.indisunique AND NOT (d.attnum = ANY (i.indkey::smallint[]))
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conindid = i.indexrelid)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid)
     ORDER BY 2
  LOOP
    step := 1;
    statement := pg_catalog.format('DROP INDEX %s; CREATE UNIQUE INDEX %I ON %s (%s, %I)%s%s;',
                                   r.idx, r.idxname, r.rel, r.cols, r.dist,
                                   CASE WHEN r.nnd THEN ' NULLS NOT DISTINCT' ELSE '' END,
                                   COALESCE(' WHERE ' || r.pred, ''));
    RETURN NEXT;
  END LOOP;

  -- 1d. the foreign keys of 1a again, with the distribution column on both
  -- sides (they now find the widened keys)
  FOR r IN
    SELECT con.conrelid::pg_catalog.regclass AS rel, con.confrelid::pg_catalog.regclass AS prel, con.conname,
           d.attname AS dist, p.attname AS pdist, con.confdeltype, con.confupdtype,
           con.condeferrable, con.condeferred,
           (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord)
              FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols,
           (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord)
              FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS pcols
      FROM pg_catalog.pg_constraint con
      JOIN citus_ddl_dist d ON d.oid = con.conrelid
      JOIN citus_ddl_dist p ON p.oid = con.confrelid
     WHERE con.contype = 'f' AND NOT (d.attnum = ANY (con.conkey)) AND con.conparentid = 0
     ORDER BY 1, 3
  LOOP
    step := 1;
    statement := pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%s, %I) REFERENCES %s (%s, %I)%s%s%s;',
                                   r.rel, r.conname, r.cols, r.dist, r.prel, r.pcols, r.pdist,
                                   CASE r.confdeltype WHEN 'c' THEN ' ON DELETE CASCADE' WHEN 'r' THEN ' ON DELETE RESTRICT'
                                                      WHEN 'n' THEN ' ON DELETE SET NULL' WHEN 'd' THEN ' ON DELETE SET DEFAULT'
                                                      ELSE '' END,
                                   CASE r.confupdtype WHEN 'c' THEN ' ON UPDATE CASCADE' WHEN 'r' THEN ' ON UPDATE RESTRICT'
                                                      ELSE '' END,
                                   CASE WHEN r.condeferred THEN ' DEFERRABLE INITIALLY DEFERRED'
                                        WHEN r.condeferrable THEN ' DEFERRABLE' ELSE '' END);
    RETURN NEXT;
  END LOOP;

  -- 2. reference tables, 3. distributed tables: each after the tables it
  -- refers to (Citus wants the referenced table placed first)
  FOR r IN
    WITH RECURSIVE lay AS (
      SELECT c.oid, l.placement, l.distribution_column
        FROM cobranca.citus_layout() l
        JOIN pg_catalog.pg_class c ON c.relname = l.table_name AND c.relnamespace = 'cobranca'::pg_catalog.regnamespace
    ), depth (oid, d) AS (
      SELECT lay.oid, 0 FROM lay
      UNION ALL
      SELECT con.conrelid, depth.d + 1
        FROM depth
        JOIN pg_catalog.pg_constraint con ON con.confrelid = depth.oid AND con.contype = 'f'
                                          AND con.conrelid <> con.confrelid
       WHERE depth.d < 32
    )
    SELECT lay.oid::pg_catalog.regclass AS rel, lay.placement, lay.distribution_column,
           pg_catalog.max(depth.d) AS d
      FROM lay JOIN depth USING (oid)
     WHERE lay.placement IN ('reference', 'distributed')
     GROUP BY lay.oid, lay.placement, lay.distribution_column
     ORDER BY lay.placement DESC, lay.oid = 'cobranca.payer'::pg_catalog.regclass DESC,
              pg_catalog.max(depth.d), lay.oid::pg_catalog.regclass::text
  LOOP
    IF r.placement = 'reference' THEN
      step := 2;
      statement := pg_catalog.format('SELECT create_reference_table(%L);', r.rel::text);
    ELSE
      step := 3;
      statement := pg_catalog.format('SELECT create_distributed_table(%L, %L, colocate_with => %L);',
                                     r.rel::text, r.distribution_column,
                                     CASE WHEN r.rel = 'cobranca.payer'::pg_catalog.regclass THEN 'none'
                                          ELSE 'cobranca.payer' END);
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION cobranca.citus_ddl() IS
  'The statements that move this schema onto a Citus cluster, in order: step 1 widens the keys of the distributed tables with their distribution column (runs on plain PostgreSQL too), step 2 the create_reference_table calls, step 3 the create_distributed_table calls (co-located with cobranca.payer); see doc/scaling.md';
REVOKE ALL ON FUNCTION cobranca.citus_ddl() FROM PUBLIC;
