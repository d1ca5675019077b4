-- Time partitioning (doc/partitioning.md).  The big append-mostly tables
-- are partitioned by month:
--
--   audit_log  by logged_at (UTC months)     job_run  by started_at (UTC months)
--
-- Each has a DEFAULT partition, created here, so that no insert ever fails
-- for want of a partition; the monthly partitions are made by the job
-- maintain_partitions (the current month and cobranca.partition_months_ahead
-- months after it), never by CREATE EXTENSION, so that a dump restores them
-- as ordinary tables and the extension's own objects do not depend on the
-- day it was installed.  Rows that landed in the default partition before
-- their month existed are moved into it when the month is made.
-- cobranca.detach_partition() takes a past month out for archiving.
--
-- A partition is a part of its table: it takes the table's class (its rows
-- are reached through the parent, whose policies apply); by itself it has
-- row-level security enabled and forced and no privilege for any role.

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

  IF parent = 'cobranca.contact'::regclass THEN
    -- a contact still to be sent (or in a sender's hands) stays
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s k WHERE k.status = ''scheduled''', part)
      INTO bad;
    IF bad > 0 THEN
      RAISE EXCEPTION 'partition % holds % scheduled contacts', part, bad
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = pg_catalog.format('partition %s: a contact still scheduled (claimed or not) may yet be sent or reported on.', part),
              HINT = 'Wait until its contacts are sent, reported or cancelled; nothing was detached.';
    END IF;
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
  ELSIF parent = 'cobranca.contact'::regclass THEN
    -- the senders' reports on its contacts go with it, into
    -- cobranca_archive.<partition>_event (contact_event refers to contacts)
    EXECUTE pg_catalog.format('CREATE TABLE cobranca_archive.%I (LIKE cobranca.contact_event INCLUDING DEFAULTS)',
                              b.partition_name || '_event');
    EXECUTE pg_catalog.format(
      'WITH gone AS (DELETE FROM cobranca.contact_event e WHERE e.contact_id IN (SELECT k.id FROM %s k) RETURNING e.*) '
      'INSERT INTO cobranca_archive.%I SELECT * FROM gone', part, b.partition_name || '_event');
  END IF;
  RETURN part;
END
$$;
COMMENT ON FUNCTION cobranca.detach_partition(regclass, date) IS
  'archiving: detaches the partition of a past month from its table into schema cobranca_archive and returns it (dump it, then drop it); refuses a month under an audit hold, for contact a month with scheduled contacts (their events move to cobranca_archive.<partition>_event) and, for audit_log, unsealed rows or rows that are not the oldest of their chains (their seals move to cobranca_archive.<partition>_seal)';

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
