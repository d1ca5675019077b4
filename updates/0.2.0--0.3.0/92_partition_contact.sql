-- cobranca.contact becomes a table partitioned by month of contact_on, the
-- payer's local day (src/sql/10_tables.sql, 92_partition.sql,
-- doc/partitioning.md).  It is rebuilt with its rows, as audit_log and
-- job_run were by the 0.1.0 -> 0.2.0 upgrade: the 0.2.0 table is renamed
-- away, the partitioned one created with its default partition (the model
-- of the monthly ones, with the keys and indexes), and everything the old
-- table had (comments, privileges, row-level security and policies,
-- triggers, the identity's position) is carried over before the rows are
-- copied into the default partition and the old table dropped.  Ids and
-- values are unchanged.  The first run of the job maintain_partitions moves
-- the current month's contacts into their partition; older months stay in
-- the default partition until cobranca.create_partition() is called for
-- them.
--
-- What referred to the old table is made again on the new one: the view
-- worklist, the functions returning its rows (claim_contacts,
-- record_contact_result) or reading it in a SQL-standard body
-- (score_features), the policies of contact_event; contact_event's foreign
-- key to contact becomes the triggers of src/sql/50_cadence.sql.

-- ---- detach_partition knows contact (src/sql/92_partition.sql)
CREATE OR REPLACE FUNCTION cobranca.detach_partition(parent regclass, month date) RETURNS regclass
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

-- ---- what depends on the 0.2.0 table
DROP VIEW cobranca.worklist;
DROP FUNCTION cobranca.claim_contacts(text, integer);
DROP FUNCTION cobranca.record_contact_result(bigint, text, timestamptz, jsonb);
DROP FUNCTION cobranca.score_features(bigint[], date[]);
DROP POLICY analyst ON cobranca.contact_event;
DROP POLICY supervisor ON cobranca.contact_event;
DROP POLICY legal ON cobranca.contact_event;
ALTER TABLE cobranca.contact_event DROP CONSTRAINT contact_event_contact_id_fkey;

-- carries over everything but columns, constraints and indexes from
-- cobranca.<tbl>_0_2 to the new cobranca.<tbl> and copies the rows
CREATE FUNCTION cobranca.upgrade_0_3_rebuild(tbl name) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  old regclass := pg_catalog.format('cobranca.%I', tbl || '_0_2')::regclass;
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

-- ---- contact
ALTER TABLE cobranca.contact RENAME TO contact_0_2;
ALTER SEQUENCE cobranca.contact_id_seq RENAME TO contact_0_2_id_seq;
-- constraint names are chosen among the schema's: the old ones step aside
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT k.conname FROM pg_catalog.pg_constraint k
            WHERE k.conrelid = 'cobranca.contact_0_2'::regclass ORDER BY k.conname
  LOOP
    EXECUTE pg_catalog.format('ALTER TABLE cobranca.contact_0_2 RENAME CONSTRAINT %I TO %I', r.conname,
                              pg_catalog.regexp_replace(r.conname, '^contact_', 'contact_0_2_'));
  END LOOP;
END
$$;
CREATE TABLE cobranca.contact (
  id           bigint GENERATED ALWAYS AS IDENTITY,
  creditor_id  bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id bigint NOT NULL REFERENCES cobranca.portfolio,
  payer_id     bigint NOT NULL REFERENCES cobranca.payer,
  invoice_ids  bigint[] NOT NULL
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'contact.invoice_ids is empty',
                               'A contact covers at least one invoice.')),
  rule_id      bigint REFERENCES cobranca.cadence_rule,
  channel      text NOT NULL
    CHECK (cobranca.check_member('contact.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  contact_on   date NOT NULL
    CHECK (cobranca.check_date('contact.contact_on', contact_on)),
  scheduled_at timestamptz NOT NULL
    CHECK (cobranca.check_timestamp('contact.scheduled_at', scheduled_at)),
  status       text NOT NULL DEFAULT 'scheduled'
    CHECK (cobranca.check_member('contact.status', status,
           '{scheduled,sent,delivered,read,replied,failed,cancelled,done}')),
  outcome      text CHECK (cobranca.check_text('contact.outcome', outcome, 200, false)),
  protocol     text CHECK (cobranca.check_pattern('contact.protocol', protocol, '^[0-9]{20}$', '20 digits: ANS registry (6), date yyyymmdd (8), sequence (6)')),
  attempt      integer NOT NULL DEFAULT 1 CHECK (cobranca.check_range('contact.attempt', attempt, 1, 5)),
  notes        text CHECK (cobranca.check_text('contact.notes', notes, 4000, true)),
  message      text,
  claimed_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
) PARTITION BY RANGE (contact_on);
-- Partitioned by month of contact_on, the payer's local day
-- (92_partition.sql).  As for audit_log, the keys and indexes are the
-- partitions' own, modelled on the default partition's: id is unique since
-- it comes from one identity sequence, and (payer_id, channel, contact_on),
-- which holds the month, is unique across the table.
CREATE TABLE cobranca.contact_default PARTITION OF cobranca.contact DEFAULT;
ALTER TABLE cobranca.contact_default ADD CONSTRAINT contact_default_pkey PRIMARY KEY (id);
ALTER TABLE cobranca.contact_default ADD CONSTRAINT contact_default_one_per_channel_day
  UNIQUE (payer_id, channel, contact_on);
CREATE INDEX contact_default_due_idx ON cobranca.contact_default (channel, scheduled_at)
  WHERE status = 'scheduled' AND claimed_at IS NULL;
CREATE INDEX contact_default_invoices_idx ON cobranca.contact_default USING gin (invoice_ids);
CREATE INDEX contact_default_capacity_idx ON cobranca.contact_default (creditor_id, channel, contact_on)
  WHERE status <> 'cancelled';
-- The table has no key of its own to identify its rows to a logical
-- replica (the BI replica, 93_replica.sql): its published rows carry every
-- column, and the replica finds them by the partitions' primary key.  No
-- cost: a partitioned table stores nothing; its partitions log by their key.
ALTER TABLE cobranca.contact REPLICA IDENTITY FULL;
SELECT cobranca.upgrade_0_3_rebuild('contact');
ALTER EXTENSION cobranca DROP SEQUENCE cobranca.contact_0_2_id_seq;
ALTER EXTENSION cobranca DROP TABLE cobranca.contact_0_2;
DROP TABLE cobranca.contact_0_2;
DROP FUNCTION cobranca.upgrade_0_3_rebuild(name);
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_id_seq', '');
-- as CREATE EXTENSION leaves it (97_security.sql): no role reads a sequence
REVOKE ALL ON SEQUENCE cobranca.contact_id_seq
  FROM PUBLIC, cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_legal, cobranca_admin;

-- ---- contact_event refers to contact through triggers (src/sql/50_cadence.sql)
COMMENT ON COLUMN cobranca.contact_event.contact_id IS
  'the contact reported on: must exist (checked by trigger, as a foreign key would: contact is partitioned); deleting the contact deletes its events';

-- contact_event.contact_id refers to cobranca.contact(id).  contact is
-- partitioned by month and its keys are its partitions' own
-- (doc/partitioning.md), which a foreign key cannot refer to: these
-- triggers do what the foreign key did (ON DELETE CASCADE).  The contact
-- is locked FOR KEY SHARE, so that it cannot go before the event commits.
-- They run as the owner: like a foreign key's check, they see every
-- contact whatever the writer's row-level security.  A restore (row_security
-- off) is not checked, as the audit capture does not log it.
CREATE FUNCTION cobranca.contact_event_check() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.contact_id = OLD.contact_id THEN
    RETURN NULL;
  END IF;
  -- a restore (pg_dump's output sets row_security off, which only a role
  -- that bypasses row-level security may use to write) loads the events
  -- and the contacts in no set order: the dump was consistent
  IF pg_catalog.current_setting('row_security') = 'off' THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM cobranca.contact k WHERE k.id = NEW.contact_id FOR KEY SHARE OF k;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'insert or update on table "contact_event" violates foreign key "contact_event_contact_id_fkey"'
      USING ERRCODE = 'foreign_key_violation', SCHEMA = 'cobranca', TABLE = 'contact_event',
            COLUMN = 'contact_id', CONSTRAINT = 'contact_event_contact_id_fkey',
            DETAIL = pg_catalog.format('Key (contact_id)=(%s) is not present in table "contact".', NEW.contact_id),
            HINT = 'Report results only for contacts that exist (cobranca.record_contact_result checks it).';
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.contact_event_check() IS
  'constraint trigger on contact_event: its contact_id must be a contact (23503 otherwise), locked FOR KEY SHARE; the foreign key contact_event_contact_id_fkey, which a partitioned contact cannot have';
CREATE CONSTRAINT TRIGGER contact_event_contact_id_fkey
  AFTER INSERT OR UPDATE OF contact_id ON cobranca.contact_event
  FOR EACH ROW EXECUTE FUNCTION cobranca.contact_event_check();

CREATE FUNCTION cobranca.contact_event_cascade() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    -- a TRUNCATE of contact (or of one of its months) must not leave
    -- events behind, as with the foreign key (TRUNCATE both together)
    IF EXISTS (SELECT 1 FROM cobranca.contact_event e
                WHERE NOT EXISTS (SELECT 1 FROM cobranca.contact k WHERE k.id = e.contact_id)) THEN
      RAISE EXCEPTION 'cannot truncate a table referenced by "contact_event"'
        USING ERRCODE = 'foreign_key_violation', SCHEMA = 'cobranca', TABLE = 'contact_event',
              CONSTRAINT = 'contact_event_contact_id_fkey',
              DETAIL = pg_catalog.format('Table "contact_event" refers to the rows of %I.', TG_TABLE_NAME),
              HINT = 'Truncate table "contact_event" at the same time.';
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF NEW.id <> OLD.id AND EXISTS (SELECT 1 FROM cobranca.contact_event e WHERE e.contact_id = OLD.id) THEN
      RAISE EXCEPTION 'update on table "contact" violates foreign key "contact_event_contact_id_fkey" on table "contact_event"'
        USING ERRCODE = 'foreign_key_violation', SCHEMA = 'cobranca', TABLE = 'contact_event',
              CONSTRAINT = 'contact_event_contact_id_fkey',
              DETAIL = pg_catalog.format('Key (id)=(%s) is still referenced from table "contact_event".', OLD.id),
              HINT = 'A contact with events keeps its id.';
    END IF;
    RETURN NULL;
  END IF;
  -- an UPDATE moving a contact to another month's partition is a DELETE
  -- and an INSERT for the row triggers: the contact is still there
  IF EXISTS (SELECT 1 FROM cobranca.contact k WHERE k.id = OLD.id) THEN
    RETURN NULL;
  END IF;
  DELETE FROM cobranca.contact_event e WHERE e.contact_id = OLD.id;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.contact_event_cascade() IS
  'trigger on contact: deleting a contact deletes its events (ON DELETE CASCADE of contact_event_contact_id_fkey); changing the id of a contact with events, or truncating contacts that have events without them, is refused (23503)';
CREATE TRIGGER contact_event_cascade
  AFTER UPDATE OF id OR DELETE ON cobranca.contact
  FOR EACH ROW EXECUTE FUNCTION cobranca.contact_event_cascade();
CREATE TRIGGER contact_event_truncate
  AFTER TRUNCATE ON cobranca.contact
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.contact_event_cascade();
REVOKE ALL ON FUNCTION cobranca.contact_event_check(), cobranca.contact_event_cascade() FROM PUBLIC;

-- ---- made again on the new table (src/sql/50_cadence.sql, 70_money_score.sql)
CREATE FUNCTION cobranca.claim_contacts(channel text, n integer) RETURNS SETOF cobranca.contact
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r record;
  proto text;
  open_ids bigint[];
  k cobranca.contact;
BEGIN
  PERFORM cobranca.check_member('channel', claim_contacts.channel, '{email,sms,whatsapp,phone,letter}');
  IF n IS NULL OR n < 1 THEN
    RETURN;
  END IF;
  FOR r IN
    SELECT c.id, c.contact_on, c.creditor_id, c.protocol, c.invoice_ids, cr.ans_registry
      FROM cobranca.contact c
      JOIN cobranca.creditor cr ON cr.id = c.creditor_id
     WHERE c.status = 'scheduled' AND c.claimed_at IS NULL
       AND c.channel = claim_contacts.channel
       AND c.scheduled_at <= pg_catalog.now()
     ORDER BY c.scheduled_at, c.id
     LIMIT n
       FOR UPDATE OF c SKIP LOCKED
  LOOP
    -- checked again under the lock: a payment, dispute or agreement whose
    -- trigger could not see this contact (a REPEATABLE READ writer whose
    -- snapshot predates it) leaves it with invoices that are no longer
    -- open; those are dropped, and a contact left with none is cancelled
    -- instead of being sent
    open_ids := ARRAY(SELECT i.id FROM cobranca.invoice i
                       WHERE i.id = ANY (r.invoice_ids) AND i.status = 'open' ORDER BY i.id);
    IF pg_catalog.cardinality(open_ids) = 0 THEN
      UPDATE cobranca.contact c SET status = 'cancelled', updated_at = pg_catalog.now()
       WHERE c.id = r.id AND c.contact_on = r.contact_on;
      CONTINUE;
    END IF;
    IF pg_catalog.cardinality(open_ids) < pg_catalog.cardinality(r.invoice_ids) THEN
      UPDATE cobranca.contact c SET invoice_ids = open_ids WHERE c.id = r.id AND c.contact_on = r.contact_on;
    END IF;
    proto := r.protocol;
    IF proto IS NULL AND claim_contacts.channel = 'phone' AND r.ans_registry IS NOT NULL THEN
      proto := cobranca.next_protocol(r.creditor_id);
    END IF;
    UPDATE cobranca.contact c
       SET claimed_at = pg_catalog.now(),
           protocol = proto,
           message = cobranca.render_template(cobranca.contact_template(r.id),
                       cobranca.contact_vars(r.id) || pg_catalog.jsonb_build_object('protocolo', proto)),
           updated_at = pg_catalog.now()
     WHERE c.id = r.id AND c.contact_on = r.contact_on
     RETURNING c.* INTO k;
    RETURN NEXT k;
  END LOOP;
END
$$;
COMMENT ON FUNCTION cobranca.claim_contacts(text, integer) IS
  'hands a sender up to n contacts of a channel whose slot has come, each to one sender only (FOR UPDATE SKIP LOCKED), with the rendered message and, for phone calls of an operator, an ANS protocol number; under the lock, invoices no longer open are dropped from a contact and one left with none is cancelled instead of handed out';

CREATE FUNCTION cobranca.record_contact_result(contact_id bigint, outcome text,
                                               at timestamptz DEFAULT pg_catalog.now(),
                                               details jsonb DEFAULT '{}')
  RETURNS cobranca.contact
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  k cobranca.contact;
  st text;
  ranks constant text[] := '{scheduled,sent,failed,delivered,read,replied,done}';
BEGIN
  PERFORM cobranca.check_member('outcome', record_contact_result.outcome,
    '{sent,delivered,read,replied,failed,done,no_answer,busy,wrong_number,promise_to_pay,refused}');
  SELECT * INTO k FROM cobranca.contact c WHERE c.id = record_contact_result.contact_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'contact % does not exist', record_contact_result.contact_id
      USING ERRCODE = 'no_data_found';
  END IF;
  INSERT INTO cobranca.contact_event (creditor_id, contact_id, outcome, at, details)
    VALUES (k.creditor_id, k.id, record_contact_result.outcome,
            coalesce(record_contact_result.at, pg_catalog.now()),
            coalesce(record_contact_result.details, '{}'));
  st := CASE WHEN record_contact_result.outcome IN ('no_answer', 'busy', 'wrong_number') THEN 'failed'
             WHEN record_contact_result.outcome IN ('promise_to_pay', 'refused') THEN 'done'
             ELSE record_contact_result.outcome END;
  -- a status only moves forward (a late "delivered" never undoes a "read");
  -- a cancelled contact stays cancelled
  IF k.status <> 'cancelled'
     AND pg_catalog.array_position(ranks, st) > pg_catalog.array_position(ranks, k.status) THEN
    k.status := st;
  END IF;
  UPDATE cobranca.contact c
     SET status = k.status, outcome = record_contact_result.outcome, updated_at = pg_catalog.now()
   WHERE c.id = k.id AND c.contact_on = k.contact_on
   RETURNING c.* INTO k;
  RETURN k;
END
$$;
COMMENT ON FUNCTION cobranca.record_contact_result(bigint, text, timestamptz, jsonb) IS
  'a sender''s or analyst''s report on a contact: outcome sent, delivered, read, replied, failed, done, or a call''s no_answer, busy, wrong_number (failed), promise_to_pay, refused (done); logged in contact_event';

CREATE FUNCTION cobranca.score_features(invoice_ids bigint[], days date[])
  RETURNS TABLE (invoice_id bigint, at date, x float8[])
  LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  -- one pass over the pairs; each lateral part is an index lookup on the
  -- payer's own rows, so the cost grows linearly with the pairs whatever
  -- the planner guesses about their number
  WITH t AS MATERIALIZED (
    SELECT u.invoice_id, u.at, i.payer_id, i.kind, i.due_on, i.amount, c.plan_type
      FROM unnest(score_features.invoice_ids, score_features.days) AS u(invoice_id, at)
      JOIN cobranca.invoice i ON i.id = u.invoice_id
      LEFT JOIN cobranca.contract c ON c.id = i.contract_id
  )
  SELECT t.invoice_id, t.at, ARRAY[
           ln(1 + GREATEST(t.at - t.due_on, 0)),
           ln(1 + t.amount::float8),
           (t.kind = 'copay')::integer,
           (t.kind = 'private')::integer,
           (t.kind = 'disallowance')::integer,
           (t.kind = 'installment')::integer,
           hist.late_n,
           CASE WHEN hist.late_n > 0 THEN hist.late_sum::float8 / hist.late_n / 30 ELSE 0 END,
           disp.n,
           (t.plan_type IS NOT DISTINCT FROM 'family')::integer,
           (t.plan_type IS NOT DISTINCT FROM 'collective_membership')::integer,
           (t.plan_type IS NOT DISTINCT FROM 'collective_business')::integer,
           (t.plan_type IS NULL)::integer,
           ctc.n
         ]::float8[]
    FROM t
    -- the payer's other invoices due in the 12 months before the day, late
    -- if paid after their due date or still unpaid on the day
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE l.late_days > 0) AS late_n,
             COALESCE(sum(l.late_days) FILTER (WHERE l.late_days > 0), 0) AS late_sum
        FROM cobranca.invoice h
        CROSS JOIN LATERAL (SELECT LEAST(COALESCE(h.paid_on, t.at), t.at) - h.due_on AS late_days) l
       WHERE h.payer_id = t.payer_id AND h.id <> t.invoice_id AND h.status <> 'cancelled'
         AND h.due_on >= t.at - 365 AND h.due_on < t.at
    ) hist
    -- the payer's disputes open on the day
    -- (a subquery per invoice: an index probe on dispute, never a scan of it)
    CROSS JOIN LATERAL (
      SELECT COALESCE(sum((SELECT count(*) FROM cobranca.dispute d
                            WHERE d.invoice_id = di.id AND d.opened_on <= t.at
                              AND (d.answered_on IS NULL OR d.answered_on > t.at))), 0) AS n
        FROM cobranca.invoice di
       WHERE di.payer_id = t.payer_id
    ) disp
    -- contacts about this invoice made before the day
    CROSS JOIN LATERAL (
      SELECT count(*) AS n
        FROM cobranca.contact c
       WHERE c.payer_id = t.payer_id AND t.invoice_id = ANY (c.invoice_ids)
         AND c.status NOT IN ('scheduled', 'cancelled') AND c.contact_on < t.at
    ) ctc;
END;
COMMENT ON FUNCTION cobranca.score_features(bigint[], date[]) IS
  'feature vectors (see cobranca.score_feature_names) of invoices as seen on given days, pairwise; built set-based from invoices, contracts, disputes and contacts only, never from health data';

CREATE VIEW cobranca.worklist WITH (security_barrier) AS
WITH items AS (
  SELECT i.id, i.payer_id, i.creditor_id, i.portfolio_id, i.due_on, i.balance,
         (pg_catalog.now() AT TIME ZONE p.timezone)::date AS local_day,
         s.as_of, s.probability, s.updated_amount, s.priority
    FROM cobranca.invoice i
    JOIN cobranca.payer p ON p.id = i.payer_id
    LEFT JOIN cobranca.invoice_score s ON s.invoice_id = i.id
   WHERE i.status = 'open'
     AND i.due_on < (pg_catalog.now() AT TIME ZONE p.timezone)::date
     AND ((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
          OR EXISTS (SELECT 1 FROM cobranca.assignment a
                      WHERE a.login = current_user AND a.portfolio_id = i.portfolio_id))
), per_payer AS (
  SELECT it.payer_id,
         count(*) AS invoices,
         array_agg(it.id ORDER BY it.priority DESC NULLS LAST, it.due_on) AS invoice_ids,
         min(it.due_on) AS oldest_due_on,
         max(it.local_day - it.due_on) AS max_days_overdue,
         sum(it.balance) AS balance,
         sum(it.updated_amount) AS updated_amount,
         sum(it.probability * it.updated_amount) / NULLIF(sum(it.updated_amount), 0) AS probability,
         sum(it.priority) AS priority,
         min(it.as_of) AS scored_on
    FROM items it
   GROUP BY it.payer_id
)
SELECT pp.payer_id, p.name AS payer_name, p.document, p.creditor_id, p.portfolio_id,
       pp.invoices, pp.invoice_ids, pp.oldest_due_on, pp.max_days_overdue, pp.balance,
       pp.updated_amount, round(pp.probability::numeric, 4) AS probability, pp.priority, pp.scored_on,
       bc.channel AS best_channel,
       lc.channel AS last_contact_channel, lc.at AS last_contact_at, lc.status AS last_contact_status,
       lc.outcome AS last_outcome
  FROM per_payer pp
  JOIN cobranca.payer p ON p.id = pp.payer_id
  -- the reachable channel (data present, not opted out) that worked best
  -- with this payer; phone and WhatsApp first when none worked yet
  LEFT JOIN LATERAL (
    SELECT ch.channel
      FROM (VALUES ('whatsapp', 1, p.whatsapp), ('phone', 2, p.phone), ('sms', 3, p.phone),
                   ('email', 4, p.email), ('letter', 5, p.address)) AS ch(channel, pref, reach)
      LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE k.status IN ('read', 'replied', 'done')) AS good,
               count(*) FILTER (WHERE k.status <> 'cancelled') AS tried
          FROM cobranca.contact k
         WHERE k.payer_id = p.id AND k.channel = ch.channel AND k.status <> 'scheduled') h ON true
     WHERE ch.reach IS NOT NULL AND NOT (ch.channel = ANY (p.opt_out))
     ORDER BY (h.good + 1.0) / (h.tried + 2.0) DESC, ch.pref
     LIMIT 1) bc ON true
  LEFT JOIN LATERAL (
    SELECT k.channel, k.status, k.outcome, GREATEST(k.scheduled_at, k.updated_at) AS at
      FROM cobranca.contact k
     WHERE k.payer_id = p.id AND k.status NOT IN ('scheduled', 'cancelled')
     ORDER BY k.scheduled_at DESC, k.id DESC
     LIMIT 1) lc ON true
 ORDER BY pp.priority DESC NULLS LAST, pp.updated_amount DESC NULLS LAST, pp.payer_id;
COMMENT ON VIEW cobranca.worklist IS
  'The current user''s work: one line per payer with open overdue invoices in an assigned portfolio (superusers see all), highest priority first; scores as of the last refresh_scores job; masked documents, no health data';
COMMENT ON COLUMN cobranca.worklist.payer_id IS 'the payer';
COMMENT ON COLUMN cobranca.worklist.payer_name IS 'the payer''s name';
COMMENT ON COLUMN cobranca.worklist.document IS 'CPF/CNPJ, masked (***.456.789-**)';
COMMENT ON COLUMN cobranca.worklist.creditor_id IS 'the creditor';
COMMENT ON COLUMN cobranca.worklist.portfolio_id IS 'the portfolio';
COMMENT ON COLUMN cobranca.worklist.invoices IS 'open overdue invoices of the payer';
COMMENT ON COLUMN cobranca.worklist.invoice_ids IS 'those invoices, highest priority first';
COMMENT ON COLUMN cobranca.worklist.oldest_due_on IS 'due date of the oldest';
COMMENT ON COLUMN cobranca.worklist.max_days_overdue IS 'days past due of the oldest, in the payer''s time zone';
COMMENT ON COLUMN cobranca.worklist.balance IS 'sum of their balances, BRL';
COMMENT ON COLUMN cobranca.worklist.updated_amount IS 'sum of their updated amounts (balance + fine + interest), BRL, as of scored_on';
COMMENT ON COLUMN cobranca.worklist.probability IS 'payment probability within 30 days, weighted by updated amount';
COMMENT ON COLUMN cobranca.worklist.priority IS 'sum of the invoices'' priorities (expected recovery raised by urgency), BRL';
COMMENT ON COLUMN cobranca.worklist.scored_on IS 'day of the scores shown (last refresh_scores run); NULL for invoices not yet scored';
COMMENT ON COLUMN cobranca.worklist.best_channel IS 'reachable channel (not opted out) with the best record with this payer';
COMMENT ON COLUMN cobranca.worklist.last_contact_channel IS 'channel of the latest contact made';
COMMENT ON COLUMN cobranca.worklist.last_contact_at IS 'when it was scheduled or last updated';
COMMENT ON COLUMN cobranca.worklist.last_contact_status IS 'its status (sent, delivered, read, replied, failed, done)';
COMMENT ON COLUMN cobranca.worklist.last_outcome IS 'its outcome as reported (e.g. promise_to_pay, no_answer)';
GRANT SELECT ON cobranca.worklist TO cobranca_analyst, cobranca_supervisor;
ALTER VIEW cobranca.worklist SET (security_barrier = true);

-- the policies of contact_event (97_security.sql: its parent's policy
-- decides which contacts the role sees)
CREATE POLICY analyst ON cobranca.contact_event FOR ALL TO cobranca_analyst
  USING (contact_id IN (SELECT x.id FROM cobranca.contact x))
  WITH CHECK (contact_id IN (SELECT x.id FROM cobranca.contact x));
CREATE POLICY supervisor ON cobranca.contact_event FOR ALL TO cobranca_supervisor
  USING (contact_id IN (SELECT x.id FROM cobranca.contact x))
  WITH CHECK (contact_id IN (SELECT x.id FROM cobranca.contact x));
CREATE POLICY legal ON cobranca.contact_event FOR ALL TO cobranca_legal
  USING (contact_id IN (SELECT x.id FROM cobranca.contact x))
  WITH CHECK (contact_id IN (SELECT x.id FROM cobranca.contact x));

-- ---- the default partition (src/sql/92_partition_defaults.sql), with the
-- table's statement-level TRUNCATE triggers
SELECT cobranca.partition_prepare('cobranca.contact', 'cobranca.contact_default');
COMMENT ON TABLE cobranca.contact_default IS
  'rows of cobranca.contact whose month has no partition yet (job maintain_partitions moves them out)';
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_default', '');
