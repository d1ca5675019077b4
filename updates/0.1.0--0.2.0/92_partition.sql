-- Time partitioning (src/sql/92_partition.sql): audit_log and job_run become
-- tables partitioned by month.  Each is rebuilt with its rows: the 0.1.0
-- table is renamed away, the partitioned one created with its default
-- partition, and everything the old table had (comments, privileges,
-- row-level security and policies, triggers, the identity's position) is
-- carried over before the rows are copied into the default partition and
-- the old table dropped.  The first run of the job maintain_partitions moves
-- the current month's rows into their own partition; older months stay in
-- the default partition until cobranca.create_partition() is called for
-- them (doc/partitioning.md).

-- carries over everything but columns, constraints and indexes from
-- cobranca.<tbl>_0_1 to the new cobranca.<tbl> and copies the rows
CREATE FUNCTION cobranca.upgrade_0_2_rebuild(tbl name) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  old regclass := pg_catalog.format('cobranca.%I', tbl || '_0_1')::regclass;
  new regclass := pg_catalog.format('cobranca.%I', tbl)::regclass;
  r record;
  oldseq regclass;
  newseq regclass;
  last bigint;
  called boolean;
BEGIN
  EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', new, pg_catalog.obj_description(old, 'pg_class'));
  FOR r IN SELECT a.attname, pg_catalog.col_description(old, a.attnum) AS d
             FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = old AND a.attnum > 0 AND NOT a.attisdropped
              AND pg_catalog.col_description(old, a.attnum) IS NOT NULL
            ORDER BY a.attnum
  LOOP
    EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', new, r.attname, r.d);
  END LOOP;

  IF (SELECT c.relrowsecurity FROM pg_catalog.pg_class c WHERE c.oid = old) THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', new);
  END IF;
  IF (SELECT c.relforcerowsecurity FROM pg_catalog.pg_class c WHERE c.oid = old) THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', new);
  END IF;
  EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', new);
  FOR r IN SELECT x.privilege_type, x.grantee
             FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) x
            WHERE c.oid = old AND x.grantee <> c.relowner
  LOOP
    EXECUTE pg_catalog.format('GRANT %s ON %s TO %s', r.privilege_type, new,
                              CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.grantee::regrole::text) END);
  END LOOP;
  FOR r IN SELECT a.attname, x.privilege_type, x.grantee
             FROM pg_catalog.pg_attribute a, pg_catalog.aclexplode(a.attacl) x
            WHERE a.attrelid = old AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
  LOOP
    EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', r.privilege_type, r.attname, new,
                              CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.grantee::regrole::text) END);
  END LOOP;
  FOR r IN SELECT p.polname, p.polpermissive,
                  CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
                  (SELECT pg_catalog.string_agg(CASE WHEN o = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(o::regrole::text) END, ', ')
                     FROM pg_catalog.unnest(p.polroles) o) AS roles,
                  pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS q,
                  pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS w
             FROM pg_catalog.pg_policy p
            WHERE p.polrelid = old
            ORDER BY p.oid
  LOOP
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', r.polname, new,
                              CASE WHEN r.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, r.cmd, r.roles,
                              CASE WHEN r.q IS NULL THEN '' ELSE ' USING (' || r.q || ')' END,
                              CASE WHEN r.w IS NULL THEN '' ELSE ' WITH CHECK (' || r.w || ')' END);
  END LOOP;

  -- the rows, before the triggers: copying is no change of any row
  EXECUTE pg_catalog.format('INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM %s', new, old);
  oldseq := pg_catalog.pg_get_serial_sequence(old::text, 'id')::regclass;
  newseq := pg_catalog.pg_get_serial_sequence(new::text, 'id')::regclass;
  IF oldseq IS NOT NULL AND newseq IS NOT NULL THEN
    EXECUTE pg_catalog.format('SELECT last_value, is_called FROM %s', oldseq) INTO last, called;
    PERFORM pg_catalog.setval(newseq, last, called);
  END IF;

  FOR r IN SELECT t.tgname, t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid) AS def
             FROM pg_catalog.pg_trigger t
            WHERE t.tgrelid = old AND NOT t.tgisinternal AND t.tgparentid = 0
            ORDER BY t.tgname
  LOOP
    EXECUTE pg_catalog.replace(r.def, ' ON ' || old::text || ' ', ' ON ' || new::text || ' ');
    IF r.tgenabled = 'A' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', new, r.tgname);
    ELSIF r.tgenabled = 'R' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE REPLICA TRIGGER %I', new, r.tgname);
    ELSIF r.tgenabled = 'D' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', new, r.tgname);
    END IF;
  END LOOP;
END
$$;

-- ---- the functions and the job (as in src/sql/92_partition.sql)

CREATE FUNCTION cobranca.partition_months_ahead() RETURNS integer
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$ SELECT COALESCE(NULLIF(pg_catalog.current_setting('cobranca.partition_months_ahead', true), ''), '3')::integer $$;
COMMENT ON FUNCTION cobranca.partition_months_ahead() IS
  'the GUC cobranca.partition_months_ahead (default 3, 0 to 36): how many months after the current one maintain_partitions makes ahead';

-- The partition key of a partitioned table of the schema: one column of
-- type date or timestamptz, by range.  Errors for any other table.
CREATE FUNCTION cobranca.partition_key(parent regclass, OUT key_column name, OUT key_type regtype,
                                       OUT default_partition regclass)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
  SELECT a.attname, a.atttypid::regtype, NULLIF(pt.partdefid, 0)::regclass
    INTO key_column, key_type, default_partition
    FROM pg_catalog.pg_partitioned_table pt
    JOIN pg_catalog.pg_class c ON c.oid = pt.partrelid
    JOIN pg_catalog.pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
   WHERE pt.partrelid = parent AND c.relnamespace = 'cobranca'::regnamespace
     AND pt.partstrat = 'r' AND pt.partnatts = 1
     AND a.atttypid IN ('date'::regtype, 'timestamptz'::regtype);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table % is not partitioned by month', parent
      USING ERRCODE = 'wrong_object_type',
            DETAIL = pg_catalog.format('parent is %s.', parent),
            HINT = 'The tables partitioned by month are listed in doc/partitioning.md.';
  END IF;
END
$$;
COMMENT ON FUNCTION cobranca.partition_key(regclass) IS
  'the partition key column and type and the default partition of a table of the schema partitioned by month; errors (42809) for any other table';

-- name and bounds of one month's partition
CREATE FUNCTION cobranca.partition_bounds(parent regclass, month date,
                                          OUT partition_name name, OUT lower_bound text, OUT upper_bound text)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  k record;
  m date := pg_catalog.date_trunc('month', month)::date;
  n date := (pg_catalog.date_trunc('month', month) + interval '1 month')::date;
BEGIN
  k := cobranca.partition_key(parent);
  SELECT c.relname || '_y' || pg_catalog.to_char(m, 'YYYY') || 'm' || pg_catalog.to_char(m, 'MM')
    INTO partition_name FROM pg_catalog.pg_class c WHERE c.oid = parent;
  IF k.key_type = 'date'::regtype THEN
    lower_bound := pg_catalog.quote_literal(m::text);
    upper_bound := pg_catalog.quote_literal(n::text);
  ELSE
    -- months of timestamptz keys are UTC months, whatever the session's zone
    lower_bound := pg_catalog.quote_literal(pg_catalog.to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00');
    upper_bound := pg_catalog.quote_literal(pg_catalog.to_char(n, 'YYYY-MM-DD') || ' 00:00:00+00');
  END IF;
END
$$;
COMMENT ON FUNCTION cobranca.partition_bounds(regclass, date) IS
  'the name (table_yYYYYmMM) and the range bounds, as SQL literals, of the partition of a month; UTC months for timestamptz keys';

-- What a partition gets besides what PostgreSQL clones from its parent
-- (columns, constraints, row triggers): the keys and indexes of the
-- default partition, the model (the table itself has none: see
-- 30_audit.sql), row-level security, and the parent's statement-level
-- TRUNCATE triggers, which are not cloned, so that a TRUNCATE of the
-- partition itself is refused or audited as one of the table.
CREATE FUNCTION cobranca.partition_prepare(parent regclass, part regclass) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  t record;
  model regclass := (cobranca.partition_key(parent)).default_partition;
  model_name name;
  part_name name;
BEGIN
  SELECT c.relname INTO model_name FROM pg_catalog.pg_class c WHERE c.oid = model;
  SELECT c.relname INTO part_name FROM pg_catalog.pg_class c WHERE c.oid = part;
  IF model IS NOT NULL AND model <> part THEN
    FOR t IN SELECT ic.relname, i.indisunique, pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
                    k.conname, k.contype, pg_catalog.pg_get_constraintdef(k.oid) AS cdef
               FROM pg_catalog.pg_index i
               JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
               LEFT JOIN pg_catalog.pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = model
              WHERE i.indrelid = model
              ORDER BY ic.relname
    LOOP
      IF t.conname IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', part,
                                  pg_catalog.replace(t.conname, model_name, part_name), t.cdef);
      ELSE
        EXECUTE pg_catalog.format('CREATE %sINDEX %I ON %s%s', CASE WHEN t.indisunique THEN 'UNIQUE ' ELSE '' END,
                                  pg_catalog.replace(t.relname, model_name, part_name), part,
                                  pg_catalog.substring(t.def, ' USING .*$'));
      END IF;
    END LOOP;
  END IF;
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', part);
  EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', part);
  EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', part);
  FOR t IN SELECT tg.tgname, tg.tgenabled, pg_catalog.pg_get_triggerdef(tg.oid) AS def
             FROM pg_catalog.pg_trigger tg
            WHERE tg.tgrelid = parent AND NOT tg.tgisinternal
              AND (tg.tgtype & 1) = 0 AND (tg.tgtype & 32) <> 0
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger o
                               WHERE o.tgrelid = part AND o.tgname = tg.tgname)
            ORDER BY tg.tgname
  LOOP
    EXECUTE pg_catalog.replace(t.def, ' ON ' || parent::text || ' ', ' ON ' || part::text || ' ');
    IF t.tgenabled = 'A' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', part, t.tgname);
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION cobranca.partition_prepare(regclass, regclass) IS
  'gives a new partition the keys and indexes of its table''s default partition, forced row-level security, no privileges, and its table''s statement-level TRUNCATE triggers (not cloned by PostgreSQL)';

CREATE FUNCTION cobranca.create_partition(parent regclass, month date) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  k record;
  b record;
  part regclass;
  has_rows boolean := false;
  srr text;
  t record;
  always_triggers name[] := '{}';
BEGIN
  IF month IS NULL THEN
    RAISE EXCEPTION 'month must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  k := cobranca.partition_key(parent);
  b := cobranca.partition_bounds(parent, month);
  IF pg_catalog.to_regclass(pg_catalog.format('cobranca.%I', b.partition_name)) IS NOT NULL THEN
    RETURN false;	-- made already (or detached and kept under that name)
  END IF;
  -- a month that another partition covers already (a range attached by
  -- hand) is left alone
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = parent AND c.oid IS DISTINCT FROM k.default_partition
                AND cobranca.partition_overlaps(c.oid, b.lower_bound, b.upper_bound, k.key_type)) THEN
    RETURN false;
  END IF;

  EXECUTE pg_catalog.format('CREATE TABLE cobranca.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                            b.partition_name, parent);
  part := pg_catalog.format('cobranca.%I', b.partition_name)::regclass;

  -- rows of the month that went to the default partition move into it; not
  -- a change of any row, so no trigger fires (nor the audit capture)
  IF k.default_partition IS NOT NULL THEN
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= %s AND %I < %s)',
                              k.default_partition, k.key_column, b.lower_bound, k.key_column, b.upper_bound)
      INTO has_rows;
  END IF;
  IF has_rows THEN
    srr := pg_catalog.current_setting('session_replication_role');
    PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
    FOR t IN SELECT tg.tgname FROM pg_catalog.pg_trigger tg
              WHERE tg.tgrelid = k.default_partition AND NOT tg.tgisinternal
                AND tg.tgenabled = 'A' AND (tg.tgtype & 1) = 1
    LOOP
      always_triggers := always_triggers || t.tgname;
      EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', k.default_partition, t.tgname);
    END LOOP;
    EXECUTE pg_catalog.format('WITH moved AS (DELETE FROM %s WHERE %I >= %s AND %I < %s RETURNING *) '
                              'INSERT INTO %s SELECT * FROM moved',
                              k.default_partition, k.key_column, b.lower_bound, k.key_column, b.upper_bound, part);
    FOR i IN 1 .. pg_catalog.cardinality(always_triggers) LOOP
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', k.default_partition, always_triggers[i]);
    END LOOP;
    PERFORM pg_catalog.set_config('session_replication_role', srr, true);
  END IF;

  EXECUTE pg_catalog.format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                            parent, part, b.lower_bound, b.upper_bound);
  PERFORM cobranca.partition_prepare(parent, part);
  RETURN true;
END
$$;
COMMENT ON FUNCTION cobranca.create_partition(regclass, date) IS
  'makes the partition of the month containing the given date of a table partitioned by month, moving into it the rows of that month found in the default partition; false when it exists already';

-- whether an attached partition's range meets [lower, upper)
CREATE FUNCTION cobranca.partition_overlaps(part oid, lower_bound text, upper_bound text, key_type regtype)
  RETURNS boolean
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  expr text;
  lo text;
  hi text;
  r boolean;
BEGIN
  SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) INTO expr FROM pg_catalog.pg_class c WHERE c.oid = part;
  -- FOR VALUES FROM (x) TO (y), x and y literals or MINVALUE/MAXVALUE
  lo := pg_catalog.substring(expr, '^FOR VALUES FROM \((.*)\) TO \(');
  hi := pg_catalog.substring(expr, '\) TO \((.*)\)$');
  IF lo IS NULL OR hi IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE pg_catalog.format('SELECT (%s)::%s < (%s)::%s AND (%s)::%s < (%s)::%s',
                            CASE WHEN lo = 'MINVALUE' THEN '''-infinity''' ELSE lo END, key_type,
                            upper_bound, key_type,
                            lower_bound, key_type,
                            CASE WHEN hi = 'MAXVALUE' THEN '''infinity''' ELSE hi END, key_type)
    INTO r;
  RETURN r;
END
$$;
COMMENT ON FUNCTION cobranca.partition_overlaps(oid, text, text, regtype) IS
  'whether the range of an attached partition meets the range [lower_bound, upper_bound) (SQL literals of the key type)';

CREATE FUNCTION cobranca.maintain_partitions(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  ahead integer := cobranca.partition_months_ahead();
  p regclass;
  m date;
  n bigint := 0;
BEGIN
  FOR p IN SELECT pt.partrelid::regclass
             FROM pg_catalog.pg_partitioned_table pt
             JOIN pg_catalog.pg_class c ON c.oid = pt.partrelid
            WHERE c.relnamespace = 'cobranca'::regnamespace AND NOT c.relispartition
            ORDER BY c.relname
  LOOP
    -- the months of as_of and of the clock: rows keyed by the clock
    -- (audit, job history) arrive in the current month whatever as_of is
    FOR m IN SELECT DISTINCT g::date
               FROM (VALUES (maintain_partitions.as_of), (pg_catalog.now())) AS t(x),
                    pg_catalog.generate_series(pg_catalog.date_trunc('month', t.x AT TIME ZONE 'UTC'),
                                               pg_catalog.date_trunc('month', t.x AT TIME ZONE 'UTC')
                                                 + pg_catalog.make_interval(months => ahead),
                                               interval '1 month') AS g
              ORDER BY 1
    LOOP
      IF cobranca.create_partition(p, m) THEN
        n := n + 1;
      END IF;
    END LOOP;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.maintain_partitions(timestamptz) IS
  'job maintain_partitions: makes the monthly partitions of the month of as_of and of the current month and of cobranca.partition_months_ahead months after each, for every table partitioned by month; returns how many it made';

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('maintain_partitions', 5, 'cobranca.maintain_partitions(timestamptz)',
        'make the monthly partitions of the current month and the next cobranca.partition_months_ahead months');

CREATE FUNCTION cobranca.detach_partition(parent regclass, month date) RETURNS regclass
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  k record;
  b record;
  part regclass;
  upper_ts timestamptz;
  bad bigint;
  held boolean;
  has_creditor boolean;
BEGIN
  IF month IS NULL THEN
    RAISE EXCEPTION 'month must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  k := cobranca.partition_key(parent);
  b := cobranca.partition_bounds(parent, month);
  part := pg_catalog.to_regclass(pg_catalog.format('cobranca.%I', b.partition_name));
  IF part IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i
                                  WHERE i.inhrelid = part AND i.inhparent = parent) THEN
    RAISE EXCEPTION 'table % has no partition for month %', parent, pg_catalog.to_char(month, 'YYYY-MM')
      USING ERRCODE = 'undefined_table',
            DETAIL = pg_catalog.format('partition cobranca.%I is not attached to %s.', b.partition_name, parent);
  END IF;
  EXECUTE pg_catalog.format('SELECT (%s)::timestamptz', b.upper_bound) INTO upper_ts;
  IF upper_ts > pg_catalog.now() THEN
    RAISE EXCEPTION 'the month % of % has not ended', pg_catalog.to_char(month, 'YYYY-MM'), parent
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('partition %s ends at %s.', part, b.upper_bound),
            HINT = 'Only a past month can be detached for archiving.';
  END IF;

  -- detach first: the lock waits for every transaction still writing into it
  EXECUTE pg_catalog.format('ALTER TABLE %s DETACH PARTITION %s', parent, part);

  has_creditor := EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = part AND a.attname = 'creditor_id' AND NOT a.attisdropped);
  IF has_creditor THEN
    EXECUTE pg_catalog.format(
      'SELECT EXISTS (SELECT 1 FROM cobranca.audit_hold h WHERE (h.until IS NULL OR h.until >= CURRENT_DATE) '
      '  AND (h.creditor_id IS NULL OR h.creditor_id IN (SELECT p.creditor_id FROM %s p)))', part) INTO held;
  ELSE
    held := EXISTS (SELECT 1 FROM cobranca.audit_hold h
                     WHERE (h.until IS NULL OR h.until >= CURRENT_DATE) AND h.creditor_id IS NULL);
  END IF;
  IF held THEN
    RAISE EXCEPTION 'partition % is under an audit hold', part
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'A legal hold in force (cobranca.audit_hold) covers a creditor with rows in it.',
            HINT = 'Wait for the hold to end; nothing was detached.';
  END IF;

  IF parent = 'cobranca.audit_log'::regclass THEN
    EXECUTE pg_catalog.format(
      'SELECT pg_catalog.count(*) FROM %s a WHERE NOT EXISTS (SELECT 1 FROM cobranca.audit_seal s WHERE s.audit_id = a.id)',
      part) INTO bad;
    IF bad > 0 THEN
      RAISE EXCEPTION 'partition % holds % unsealed audit rows', part, bad
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = pg_catalog.format('partition %s: every row must be sealed (cobranca.audit_seal) before it leaves the log.', part),
              HINT = 'Run cobranca.audit_seal() (job seal_audit) first; nothing was detached.';
    END IF;
    -- the chains must still verify: the rows leaving are a prefix of each
    -- chain, never its newest row (it anchors the next seal)
    EXECUTE pg_catalog.format(
      'SELECT pg_catalog.count(*) FROM (SELECT s.chain_id, pg_catalog.max(s.seq) AS top FROM cobranca.audit_seal s '
      '  JOIN %s a ON a.id = s.audit_id GROUP BY s.chain_id) d '
      ' WHERE EXISTS (SELECT 1 FROM cobranca.audit_seal s JOIN cobranca.audit_log l ON l.id = s.audit_id '
      '                WHERE s.chain_id = d.chain_id AND s.seq < d.top) '
      '    OR NOT EXISTS (SELECT 1 FROM cobranca.audit_seal s WHERE s.chain_id = d.chain_id AND s.seq > d.top)',
      part) INTO bad;
    IF bad > 0 THEN
      RAISE EXCEPTION 'partition % is not the oldest part of the audit chains', part
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = pg_catalog.format('%s chains would be cut in the middle or lose their newest row.', bad),
              HINT = 'Detach the older months first; a month holding a chain''s newest row stays.';
    END IF;
  END IF;

  -- out of the schema: the archive schema holds what awaits dump and drop
  IF pg_catalog.to_regnamespace('cobranca_archive') IS NULL THEN
    CREATE SCHEMA cobranca_archive;
    REVOKE ALL ON SCHEMA cobranca_archive FROM PUBLIC;
    COMMENT ON SCHEMA cobranca_archive IS
      'partitions detached by cobranca.detach_partition(), with the seals of audit rows: dump them, then drop them';
  END IF;
  EXECUTE pg_catalog.format('ALTER TABLE %s SET SCHEMA cobranca_archive', part);
  IF parent = 'cobranca.audit_log'::regclass THEN
    -- its seals go with it, into cobranca_archive.<partition>_seal
    PERFORM cobranca.audit_archive_seals(part);
    -- the archive stays append-only
    EXECUTE pg_catalog.format('CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION cobranca.audit_refuse()', part);
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_log_append_only', part);
  END IF;
  RETURN part;
END
$$;
COMMENT ON FUNCTION cobranca.detach_partition(regclass, date) IS
  'archiving: detaches the partition of a past month from its table into schema cobranca_archive and returns it (dump it, then drop it); refuses a month under an audit hold and, for audit_log, unsealed rows or rows that are not the oldest of their chains (their seals move to cobranca_archive.<partition>_seal)';

CREATE FUNCTION cobranca.audit_archive_seals(part regclass) RETURNS bigint
  AS 'MODULE_PATHNAME', 'cobranca_audit_archive_seals'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION cobranca.audit_archive_seals(regclass) IS
  'moves the seals of the rows of a detached audit_log partition from cobranca.audit_seal into a new table <partition>_seal next to it; called by detach_partition only';

REVOKE ALL ON FUNCTION cobranca.partition_months_ahead(), cobranca.partition_key(regclass),
  cobranca.partition_bounds(regclass, date), cobranca.partition_prepare(regclass, regclass),
  cobranca.create_partition(regclass, date), cobranca.partition_overlaps(oid, text, text, regtype),
  cobranca.maintain_partitions(timestamptz), cobranca.detach_partition(regclass, date),
  cobranca.audit_archive_seals(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.detach_partition(regclass, date) TO cobranca_admin;

-- ---- audit_log
ALTER TABLE cobranca.audit_log RENAME TO audit_log_0_1;
ALTER TABLE cobranca.audit_log_0_1 RENAME CONSTRAINT audit_log_pkey TO audit_log_0_1_pkey;
ALTER INDEX cobranca.audit_log_txid_idx RENAME TO audit_log_0_1_txid_idx;
ALTER INDEX cobranca.audit_log_logged_at_idx RENAME TO audit_log_0_1_logged_at_idx;
ALTER SEQUENCE cobranca.audit_log_id_seq RENAME TO audit_log_0_1_id_seq;
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
SELECT cobranca.upgrade_0_2_rebuild('audit_log');
ALTER EXTENSION cobranca DROP SEQUENCE cobranca.audit_log_0_1_id_seq;
ALTER EXTENSION cobranca DROP TABLE cobranca.audit_log_0_1;
DROP TABLE cobranca.audit_log_0_1;
SELECT cobranca.partition_prepare('cobranca.audit_log', 'cobranca.audit_log_default');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_id_seq', '');

-- ---- job_run (and the view that reads it)
DROP VIEW cobranca.job_status;
ALTER TABLE cobranca.job_run RENAME TO job_run_0_1;
ALTER TABLE cobranca.job_run_0_1 RENAME CONSTRAINT job_run_pkey TO job_run_0_1_pkey;
ALTER TABLE cobranca.job_run_0_1 RENAME CONSTRAINT job_run_finished_after_start TO job_run_0_1_finished_after_start;
ALTER TABLE cobranca.job_run_0_1 RENAME CONSTRAINT job_run_rows_or_error TO job_run_0_1_rows_or_error;
ALTER INDEX cobranca.job_run_started_at_idx RENAME TO job_run_0_1_started_at_idx;
ALTER INDEX cobranca.job_run_job_started_at_idx RENAME TO job_run_0_1_job_started_at_idx;
ALTER SEQUENCE cobranca.job_run_id_seq RENAME TO job_run_0_1_id_seq;
CREATE TABLE cobranca.job_run (
  id          bigint GENERATED ALWAYS AS IDENTITY,
  cycle       bigint NOT NULL,
  job         text NOT NULL,
  as_of       timestamptz NOT NULL,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  rows        bigint,
  error       text,
  sqlstate    text,
  pid         integer NOT NULL,
  CONSTRAINT job_run_finished_after_start CHECK (finished_at >= started_at),
  CONSTRAINT job_run_rows_or_error CHECK (error IS NULL OR rows IS NULL)
) PARTITION BY RANGE (started_at);
-- Partitioned by month of started_at (92_partition.sql); the keys and
-- indexes are the partitions', modelled on the default partition's.
CREATE TABLE cobranca.job_run_default PARTITION OF cobranca.job_run DEFAULT;
ALTER TABLE cobranca.job_run_default ADD CONSTRAINT job_run_default_pkey PRIMARY KEY (id);
CREATE INDEX job_run_default_started_at_idx ON cobranca.job_run_default (started_at);
CREATE INDEX job_run_default_job_started_at_idx ON cobranca.job_run_default (job, started_at);
SELECT cobranca.upgrade_0_2_rebuild('job_run');
ALTER EXTENSION cobranca DROP SEQUENCE cobranca.job_run_0_1_id_seq;
ALTER EXTENSION cobranca DROP TABLE cobranca.job_run_0_1;
DROP TABLE cobranca.job_run_0_1;
SELECT cobranca.partition_prepare('cobranca.job_run', 'cobranca.job_run_default');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_id_seq', '');

CREATE VIEW cobranca.job_status AS
SELECT j.name        AS job,
       j.position,
       j.enabled,
       last.cycle    AS last_cycle,
       last.started_at AS last_started_at,
       last.finished_at AS last_finished_at,
       last.rows     AS last_rows,
       last.error    AS last_error,
       (SELECT pg_catalog.max(ok.finished_at)
          FROM cobranca.job_run ok
         WHERE ok.job = j.name AND ok.error IS NULL) AS last_success_at
  FROM cobranca.job j
  LEFT JOIN LATERAL (
        SELECT r.cycle, r.started_at, r.finished_at, r.rows, r.error
          FROM cobranca.job_run r
         WHERE r.job = j.name
         ORDER BY r.started_at DESC
         LIMIT 1) last ON true;
COMMENT ON VIEW cobranca.job_status IS
  'One row per registered job with its last run: for watching the collection cycle';
COMMENT ON COLUMN cobranca.job_status.job IS 'name of the job';
COMMENT ON COLUMN cobranca.job_status.position IS 'order in the cycle';
COMMENT ON COLUMN cobranca.job_status.enabled IS 'whether the cycle runs it';
COMMENT ON COLUMN cobranca.job_status.last_cycle IS 'cycle number of its last run';
COMMENT ON COLUMN cobranca.job_status.last_started_at IS 'start of its last run';
COMMENT ON COLUMN cobranca.job_status.last_finished_at IS 'end of its last run';
COMMENT ON COLUMN cobranca.job_status.last_rows IS 'rows its last run created or changed; null if it failed';
COMMENT ON COLUMN cobranca.job_status.last_error IS 'error of its last run; null if it succeeded';
COMMENT ON COLUMN cobranca.job_status.last_success_at IS 'end of its last successful run within the retained history';

REVOKE ALL ON cobranca.job_run, cobranca.job_status FROM PUBLIC;
GRANT SELECT ON cobranca.job_run, cobranca.job_status TO cobranca_admin;
ALTER VIEW cobranca.job_status SET (security_barrier = true);

-- The default partitions (made with their tables): members of the
-- extension, their rows dumped.
COMMENT ON TABLE cobranca.audit_log_default IS
  'rows of cobranca.audit_log whose month has no partition yet (job maintain_partitions moves them out)';
COMMENT ON TABLE cobranca.job_run_default IS
  'rows of cobranca.job_run whose month has no partition yet (job maintain_partitions moves them out)';
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_default', '');

-- as CREATE EXTENSION leaves them (97_security.sql): no role reads a sequence
REVOKE ALL ON SEQUENCE cobranca.audit_log_id_seq, cobranca.job_run_id_seq
  FROM PUBLIC, cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_legal, cobranca_admin;

CREATE OR REPLACE FUNCTION cobranca.unclassified_tables() RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT pg_catalog.string_agg(c.relname, ', ' ORDER BY c.relname)
    FROM pg_catalog.pg_class c
   WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind IN ('r', 'p')
     AND NOT c.relispartition	-- a partition takes its table's class
     AND NOT EXISTS (SELECT 1 FROM cobranca.table_class k WHERE k.table_name = c.relname)
$$;

DROP FUNCTION cobranca.upgrade_0_2_rebuild(name);
