-- The contact cadence (régua de cobrança): templates, the shipped rules,
-- contact generation (cadence.c), the outbox for external senders, ANS
-- protocol numbers, and the trigger that stops contacts a payment, dispute
-- or agreement made pointless.

-- ---- templates (template.c holds the forbidden wording, in one place)

CREATE FUNCTION cobranca.check_template(field text, template text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_template'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_template(text, text) IS
  'true for a usable message template; raises 23514 when it mentions health data, threatens or embarrasses, or uses an unknown placeholder';

CREATE FUNCTION cobranca.render_template(template text, vars jsonb) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_render_template'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.render_template(text, jsonb) IS
  'substitutes {{placeholders}} from vars (a line whose placeholders all came out empty is dropped); refuses templates that check_template refuses';

ALTER TABLE cobranca.cadence_rule
  ADD CONSTRAINT cadence_rule_template_allowed
  CHECK (cobranca.check_template('cadence_rule.template', template));
COMMENT ON COLUMN cobranca.cadence_rule.template IS
  'pt-BR message with {{placeholders}} (nome, credor, credor_cnpj, credor_endereco, credor_contato, registro_ans, total, quantidade, titulos, vencimento, pix, protocolo); null: the channel''s default text';

CREATE FUNCTION cobranca.default_template(channel text, overdue boolean) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN $1 = 'email' AND NOT $2 THEN $t$Olá, {{nome}}.
Este é um lembrete de {{credor}}: {{quantidade}} título(s) com vencimento em {{vencimento}}.
{{titulos}}
Total: {{total}}.
{{pix}}
Se o pagamento já foi feito, por favor desconsidere esta mensagem.
{{credor}} · CNPJ {{credor_cnpj}} · {{credor_endereco}}
Atendimento: {{credor_contato}}$t$
      WHEN $1 = 'email' THEN $t$Olá, {{nome}}.
Não identificamos o pagamento de {{quantidade}} título(s) de {{credor}}, com vencimento a partir de {{vencimento}}:
{{titulos}}
Total em aberto: {{total}}.
{{pix}}
Se o pagamento já foi feito, por favor desconsidere esta mensagem.
{{credor}} · CNPJ {{credor_cnpj}} · {{credor_endereco}}
Atendimento: {{credor_contato}}$t$
      WHEN $1 IN ('sms', 'whatsapp') AND NOT $2 THEN $t${{credor}} (CNPJ {{credor_cnpj}}): olá, {{nome}}. Lembrete: {{total}} com vencimento em {{vencimento}}.
{{pix}}
Se já pagou, desconsidere. Atendimento: {{credor_contato}}. {{credor_endereco}}.$t$
      WHEN $1 IN ('sms', 'whatsapp') THEN $t${{credor}} (CNPJ {{credor_cnpj}}): olá, {{nome}}. Não identificamos o pagamento de {{total}}, com vencimento a partir de {{vencimento}}.
{{pix}}
Se já pagou, desconsidere. Atendimento: {{credor_contato}}. {{credor_endereco}}.$t$
      WHEN $1 = 'phone' THEN $t$Roteiro de ligação: {{credor}}, CNPJ {{credor_cnpj}}, {{credor_endereco}}.
Protocolo de atendimento: {{protocolo}}
Falar somente com {{nome}} e confirmar a identidade antes de tratar do débito.
Títulos em aberto:
{{titulos}}
O valor total em aberto é de {{total}}.
{{pix}}
Atendimento: {{credor_contato}}.$t$
      ELSE $t${{credor}}
CNPJ {{credor_cnpj}}
{{credor_endereco}}

Prezado(a) {{nome}},

Não identificamos, até esta data, o pagamento do(s) título(s) abaixo:
{{titulos}}

Valor total em aberto: {{total}}.
{{pix}}
Caso o pagamento já tenha sido feito, por favor desconsidere este aviso. Para negociar ou esclarecer dúvidas: {{credor_contato}}.

Atenciosamente,
{{credor}}$t$
    END
  $$;
COMMENT ON FUNCTION cobranca.default_template(text, boolean) IS
  'the shipped pt-BR text of a channel, as a reminder (overdue false) or for an overdue debt';

-- ---- the shipped cadence (creditor_id null: every creditor without rules of its own)

-- (created_at is the release's, so that a restored database is identical)
INSERT INTO cobranca.cadence_rule (name, offset_days, channel, created_at)
SELECT name, offset_days, channel, timestamptz '2026-11-28 00:00:00+00' FROM (VALUES
  ('D-3 lembrete por e-mail', -3, 'email'),
  ('D-1 lembrete por WhatsApp', -1, 'whatsapp'),
  ('D-1 lembrete por SMS', -1, 'sms'),
  ('D+3 WhatsApp', 3, 'whatsapp'),
  ('D+10 ligação', 10, 'phone'),
  ('D+30 ligação', 30, 'phone'),
  ('D+31 carta', 31, 'letter'),
  ('D+45 ligação', 45, 'phone')) AS r(name, offset_days, channel);

-- ---- daily capacity of a channel (a dialer's seats, a messaging quota)

CREATE TABLE cobranca.channel_capacity (
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor ON DELETE CASCADE,
  channel     text NOT NULL
    CHECK (cobranca.check_member('channel_capacity.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  daily_limit integer NOT NULL CHECK (cobranca.check_range('channel_capacity.daily_limit', daily_limit, 0, 1000000)),
  PRIMARY KEY (creditor_id, channel)
);
COMMENT ON TABLE cobranca.channel_capacity IS
  'Most contacts a creditor can make on a channel in one day; generate_contacts fills it highest priority first';
COMMENT ON COLUMN cobranca.channel_capacity.daily_limit IS 'contacts per local day, cancelled ones not counted';

-- ---- what senders report back

CREATE TABLE cobranca.contact_event (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  contact_id  bigint NOT NULL,
  outcome     text NOT NULL,
  at          timestamptz NOT NULL
    CHECK (cobranca.check_timestamp('contact_event.at', at)),
  details     jsonb NOT NULL DEFAULT '{}'
    CHECK (cobranca.check_rule(octet_length(details::text) <= 65536, 'contact_event.details is too large',
                               'contact_event.details has ' || octet_length(details::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.')),
  recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX contact_event_contact_idx ON cobranca.contact_event (contact_id);
COMMENT ON TABLE cobranca.contact_event IS
  'Every result a sender or analyst reported for a contact (delivery, read, reply, call outcome), in arrival order';
COMMENT ON COLUMN cobranca.contact_event.at IS 'when it happened, as the sender saw it';
COMMENT ON COLUMN cobranca.contact_event.details IS 'the sender''s own data (message id, call recording reference ...)';
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

-- ---- ANS protocol numbers (RN 395/2016)

CREATE TABLE cobranca.protocol_counter (
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor ON DELETE CASCADE,
  day         date NOT NULL,
  last_seq    integer NOT NULL CHECK (last_seq BETWEEN 1 AND 999999),
  PRIMARY KEY (creditor_id, day)
);
COMMENT ON TABLE cobranca.protocol_counter IS
  'Last protocol sequence handed out per creditor and day; updated in the caller''s transaction, so numbers are gap-free';

CREATE FUNCTION cobranca.next_protocol(creditor_id bigint) RETURNS text
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  reg text;
  zone text;
  d date;
  seq integer;
BEGIN
  SELECT c.ans_registry, c.timezone INTO reg, zone
    FROM cobranca.creditor c WHERE c.id = next_protocol.creditor_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'creditor % does not exist', next_protocol.creditor_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF reg IS NULL THEN
    RAISE EXCEPTION 'creditor % has no ANS registry', next_protocol.creditor_id
      USING ERRCODE = 'check_violation',
            DETAIL = 'creditor.ans_registry is null; ANS protocol numbers (RN 395/2016) are given by health-plan operators.',
            HINT = 'Set creditor.ans_registry (6 digits).';
  END IF;
  d := (pg_catalog.now() AT TIME ZONE zone)::date;
  INSERT INTO cobranca.protocol_counter AS p (creditor_id, day, last_seq)
    VALUES (next_protocol.creditor_id, d, 1)
    ON CONFLICT ON CONSTRAINT protocol_counter_pkey
    DO UPDATE SET last_seq = p.last_seq + 1 WHERE p.last_seq < 999999
    RETURNING p.last_seq INTO seq;
  IF seq IS NULL THEN
    RAISE EXCEPTION 'protocol numbers of creditor % exhausted for %', next_protocol.creditor_id, d
      USING ERRCODE = 'program_limit_exceeded',
            DETAIL = 'The daily sequence has 6 digits: at most 999999 protocols a day.';
  END IF;
  RETURN reg || pg_catalog.to_char(d, 'YYYYMMDD') || pg_catalog.lpad(seq::text, 6, '0');
END
$$;
COMMENT ON FUNCTION cobranca.next_protocol(bigint) IS
  'next ANS protocol number of a creditor (RN 395/2016): registry (6) + yyyymmdd (creditor''s time zone) + daily sequence (6); unique and gap-free, the counter row being updated in the caller''s transaction';

-- ---- rendering a contact

CREATE FUNCTION cobranca.format_brl(amount numeric) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
    SELECT 'R$ ' || pg_catalog.translate(pg_catalog.to_char($1, 'FM999,999,999,990.00'), ',.', '.,')
  $$;
COMMENT ON FUNCTION cobranca.format_brl(numeric) IS 'an amount in pt-BR: R$ 1.234,56';

CREATE FUNCTION cobranca.format_cnpj(document text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
    SELECT CASE WHEN length($1) = 14
      THEN substr($1, 1, 2) || '.' || substr($1, 3, 3) || '.' || substr($1, 6, 3) || '/'
           || substr($1, 9, 4) || '-' || substr($1, 13, 2)
      ELSE $1 END
  $$;
COMMENT ON FUNCTION cobranca.format_cnpj(text) IS 'a normalized CNPJ with its punctuation: 11.222.333/0001-81';

-- PIX: the place where the copy-and-paste code of a contact comes from.
-- It uses cobranca.invoice_pix(invoice_id) when that function is installed
-- and the contact covers exactly one invoice; otherwise there is none and
-- the {{pix}} line is left out of the message.
CREATE FUNCTION cobranca.contact_pix(contact_id bigint) RETURNS text
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  ids bigint[];
  code text;
BEGIN
  IF pg_catalog.to_regprocedure('cobranca.invoice_pix(bigint)') IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT k.invoice_ids INTO ids FROM cobranca.contact k WHERE k.id = contact_pix.contact_id;
  IF pg_catalog.cardinality(ids) IS DISTINCT FROM 1 THEN
    RETURN NULL;
  END IF;
  EXECUTE 'SELECT cobranca.invoice_pix($1)' INTO code USING ids[1];
  RETURN code;
END
$$;
COMMENT ON FUNCTION cobranca.contact_pix(bigint) IS
  'PIX copy-and-paste code for a contact: cobranca.invoice_pix of its invoice when it covers one invoice and that function exists; otherwise null';

CREATE FUNCTION cobranca.contact_vars(contact_id bigint) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'nome', p.name,
      'credor', c.name,
      'credor_cnpj', cobranca.format_cnpj(c.document),
      'credor_endereco', pg_catalog.concat_ws(', ', c.address, c.city || coalesce('/' || c.uf, '')),
      'credor_contato', pg_catalog.concat_ws(' · ', c.service_phone, c.service_email, c.service_site),
      'registro_ans', c.ans_registry,
      'total', cobranca.format_brl(inv.total),
      'quantidade', inv.n,
      'titulos', inv.lines,
      'vencimento', pg_catalog.to_char(inv.first_due, 'DD/MM/YYYY'),
      'pix', 'PIX copia e cola: ' || cobranca.contact_pix(k.id),
      'protocolo', k.protocol)
    FROM cobranca.contact k
    JOIN cobranca.payer p ON p.id = k.payer_id
    JOIN cobranca.creditor c ON c.id = k.creditor_id
    CROSS JOIN LATERAL (
      SELECT count(*) AS n, sum(i.balance) AS total, min(i.due_on) AS first_due,
             pg_catalog.string_agg(
               '• ' || CASE i.kind WHEN 'premium' THEN 'Mensalidade'
                                   WHEN 'copay' THEN 'Coparticipação'
                                   WHEN 'private' THEN 'Atendimento particular'
                                   WHEN 'disallowance' THEN 'Valor não coberto'
                                   ELSE 'Parcela de acordo' END
               || coalesce(' ' || pg_catalog.to_char(i.competence, 'MM/YYYY'), '')
               || ', vencimento ' || pg_catalog.to_char(i.due_on, 'DD/MM/YYYY')
               || ': ' || cobranca.format_brl(i.balance),
               E'\n' ORDER BY i.due_on, i.id) AS lines
        FROM cobranca.invoice i
       WHERE i.id = ANY (k.invoice_ids) AND i.status = 'open') inv
    WHERE k.id = $1
  $$;
COMMENT ON FUNCTION cobranca.contact_vars(bigint) IS
  'the values a contact''s message may show: creditor name, address and CNPJ (CDC art. 42-A), amounts, competences, due dates, PIX, protocol; never health data';

CREATE FUNCTION cobranca.contact_template(contact_id bigint) RETURNS text
  LANGUAGE sql STABLE
  AS $$
    SELECT coalesce(r.template,
                    cobranca.default_template(k.channel,
                                              coalesce(r.offset_days, 0) >= 0))
      FROM cobranca.contact k
      LEFT JOIN cobranca.cadence_rule r ON r.id = k.rule_id
     WHERE k.id = $1
  $$;
COMMENT ON FUNCTION cobranca.contact_template(bigint) IS
  'the template of a contact: its rule''s own, or the channel''s default';

CREATE FUNCTION cobranca.contact_message(contact_id bigint) RETURNS text
  LANGUAGE sql STABLE
  AS $$
    SELECT cobranca.render_template(cobranca.contact_template($1), cobranca.contact_vars($1))
  $$;
COMMENT ON FUNCTION cobranca.contact_message(bigint) IS
  'the pt-BR text of a contact, rendered from its template; only the invoices still open are listed';

-- ---- generation

CREATE FUNCTION cobranca.generate_contacts(as_of timestamptz) RETURNS integer
  AS 'MODULE_PATHNAME', 'cobranca_generate_contacts'
  LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION cobranca.generate_contacts(timestamptz) IS
  'creates the contacts due on the payers'' local day of as_of: one per payer, channel and day covering all due invoices, at the next lawful slot, at most cobranca.max_contacts_per_day per payer; returns how many were created or extended (0 when run again); NOTIFY cobranca_contact';

CREATE FUNCTION cobranca.generate_contacts_job(as_of timestamptz) RETURNS bigint
  LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT cobranca.generate_contacts($1)::bigint $$;
COMMENT ON FUNCTION cobranca.generate_contacts_job(timestamptz) IS
  'job wrapper of generate_contacts for cobranca.run_jobs()';

INSERT INTO cobranca.job (name, position, function, description) VALUES
  ('generate_contacts', 30, 'cobranca.generate_contacts_job(timestamptz)'::regprocedure,
   'contacts due today by the cadence rules, at lawful hours, one per payer, channel and day');

-- ---- a payment, dispute or agreement stops the contacts it made pointless

CREATE FUNCTION cobranca.invoice_stop_contacts() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  -- a contact still covering another open invoice loses this one; one left
  -- with nothing to collect is cancelled (its invoice_ids kept as history)
  UPDATE cobranca.contact k
     SET status = CASE WHEN o.other_open THEN k.status ELSE 'cancelled' END,
         invoice_ids = CASE WHEN o.other_open THEN pg_catalog.array_remove(k.invoice_ids, NEW.id)
                            ELSE k.invoice_ids END,
         updated_at = pg_catalog.now()
    FROM (SELECT k2.id,
                 EXISTS (SELECT 1 FROM cobranca.invoice i
                          WHERE i.id = ANY (k2.invoice_ids) AND i.id <> NEW.id
                            AND i.status = 'open') AS other_open
            FROM cobranca.contact k2
           WHERE k2.payer_id = NEW.payer_id AND k2.status = 'scheduled'
             AND k2.invoice_ids @> ARRAY[NEW.id]) o
   WHERE k.id = o.id;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.invoice_stop_contacts() IS
  'trigger: when an invoice stops being open (paid, disputed, in agreement, cancelled, written off), its scheduled contacts drop it or are cancelled, in the same transaction; runs as the owner (it touches only the contacts of the updated invoice), whoever wrote the payment or dispute';
REVOKE ALL ON FUNCTION cobranca.invoice_stop_contacts() FROM PUBLIC;
CREATE TRIGGER invoice_stop_contacts
  AFTER UPDATE ON cobranca.invoice
  FOR EACH ROW WHEN (OLD.status = 'open' AND NEW.status <> 'open')
  EXECUTE FUNCTION cobranca.invoice_stop_contacts();

-- ---- the outbox

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

SELECT pg_catalog.pg_extension_config_dump('cobranca.channel_capacity', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_event', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.protocol_counter', '');
