-- ANS RN 593/2023 (as amended by RN 617/2024) default notices and the
-- cancellation guard of Lei 9.656/98 art. 13.  See doc/rn593.md.
--
-- Facts flow one way: invoices, payments, disputes and hospitalizations are
-- written by ERPs; the jobs draft notices from them; staff confirm receipt
-- with proof; triggers keep each notice's deadline and state right; the
-- trigger on cobranca.contract refuses a suspension or cancellation the law
-- does not allow.  Every refusal of the guard uses SQLSTATE P0593.

-- ---------------------------------------------------------------------------
-- Who is subject, and the default facts

CREATE FUNCTION cobranca.rn593_subject(plan_type text, paid_by_person boolean)
  RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN plan_type IN ('individual', 'family') OR coalesce(paid_by_person, false);
COMMENT ON FUNCTION cobranca.rn593_subject(text, boolean) IS
  'true when RN 593 applies: a natural person pays the operator directly (individual or family plan, or a collective one with paid_by_person)';

-- The facts as of a local date: either one date for every payer (as_of_day)
-- or the payer's own date at an instant (as_of_instant in payer.timezone).
CREATE FUNCTION cobranca.default_facts_local(as_of_day date, as_of_instant timestamptz)
  RETURNS TABLE (contract_id bigint, creditor_id bigint, portfolio_id bigint, payer_id bigint,
                 as_of date, subject boolean, unpaid_invoice_ids bigint[], unpaid_premiums integer,
                 default_since date, days_in_default integer, amount_due numeric)
  LANGUAGE sql STABLE
AS $$
  SELECT c.id, c.creditor_id, c.portfolio_id, c.payer_id, d.day,
         cobranca.rn593_subject(c.plan_type, c.paid_by_person),
         pg_catalog.array_agg(i.id ORDER BY i.due_on, i.id),
         pg_catalog.count(*)::integer,
         pg_catalog.min(i.due_on),
         d.day - pg_catalog.min(i.due_on),
         pg_catalog.sum(i.amount - i.paid_total)
    FROM cobranca.contract c
    JOIN cobranca.payer p ON p.id = c.payer_id
   CROSS JOIN LATERAL (SELECT coalesce(as_of_day, (as_of_instant AT TIME ZONE p.timezone)::date) AS day) d
    JOIN cobranca.invoice i ON i.contract_id = c.id
   WHERE i.kind = 'premium'
     AND i.status = 'open'
     AND i.open_disputes = 0
     AND i.agreement_id IS NULL
     AND i.due_on < d.day
     AND i.due_on >= (d.day - '12 months'::interval)::date
   -- the whole key of contract, also where it is (id, creditor_id) (doc/scaling.md)
   GROUP BY c.id, c.creditor_id, d.day
$$;
COMMENT ON FUNCTION cobranca.default_facts_local(date, timestamptz) IS
  'default_facts as of one date for all payers (as_of_day), or as of each payer''s local date at an instant (as_of_day null)';

CREATE FUNCTION cobranca.default_facts(as_of date)
  RETURNS TABLE (contract_id bigint, creditor_id bigint, portfolio_id bigint, payer_id bigint,
                 subject boolean, unpaid_invoice_ids bigint[], unpaid_premiums integer,
                 default_since date, days_in_default integer, amount_due numeric)
  LANGUAGE sql STABLE
AS $$
  SELECT f.contract_id, f.creditor_id, f.portfolio_id, f.payer_id, f.subject, f.unpaid_invoice_ids,
         f.unpaid_premiums, f.default_since, f.days_in_default, f.amount_due
    FROM cobranca.default_facts_local(as_of, NULL) f
$$;
COMMENT ON FUNCTION cobranca.default_facts(date) IS
  'RN 593 default facts per contract with an unpaid premium as of a date (the payer''s local date): premiums unpaid within the last 12 months (paid, disputed or in-agreement ones do not count), oldest due date, days of default (as_of − oldest due date), amount';

-- ---------------------------------------------------------------------------
-- Rendering (pt-BR)

CREATE FUNCTION cobranca.notice_brl(value numeric) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN 'R$ ' || pg_catalog.translate(pg_catalog.to_char(value, 'FM999,999,999,990.00'), ',.', '.,');
COMMENT ON FUNCTION cobranca.notice_brl(numeric) IS 'an amount written the Brazilian way: R$ 1.234,56';

CREATE FUNCTION cobranca.notice_cnpj(document text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN CASE WHEN pg_catalog.length(document) = 14
              THEN pg_catalog.substr(document, 1, 2) || '.' || pg_catalog.substr(document, 3, 3) || '.'
                || pg_catalog.substr(document, 6, 3) || '/' || pg_catalog.substr(document, 9, 4) || '-'
                || pg_catalog.substr(document, 13, 2)
              ELSE document END;
COMMENT ON FUNCTION cobranca.notice_cnpj(text) IS 'a normalized CNPJ with its punctuation: 11.222.333/0001-81';

CREATE FUNCTION cobranca.notice_late_charges(balance numeric, due_on date, as_of date,
                                             fine_pct numeric, interest_month_pct numeric)
  RETURNS numeric
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pg_catalog.round(balance * fine_pct / 100
         + balance * interest_month_pct / 100 * GREATEST(as_of - due_on, 0) / 30.0, 2);
COMMENT ON FUNCTION cobranca.notice_late_charges(numeric, date, date, numeric, numeric) IS
  'fine plus interest pro rata die on an overdue balance, within the creditor''s rates (CDC art. 52 §1º)';

CREATE FUNCTION cobranca.notice_body(contract_id bigint, invoice_ids bigint[], as_of date)
  RETURNS text
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k   record;
  i   record;
  lines text := '';
  original numeric := 0;
  updated  numeric := 0;
  channels text[] := '{}';
  since    date;
BEGIN
  SELECT c.number, c.plan_name, c.plan_ans_registry, p.name AS payer_name,
         cr.name, cr.document, cr.ans_registry, cr.address, cr.city, cr.uf, cr.pix_key,
         cr.fine_pct, cr.interest_month_pct, cr.service_phone, cr.service_email, cr.service_site
    INTO k
    FROM cobranca.contract c
    JOIN cobranca.payer p ON p.id = c.payer_id
    JOIN cobranca.creditor cr ON cr.id = c.creditor_id
   WHERE c.id = notice_body.contract_id;

  FOR i IN SELECT v.competence, v.due_on, v.amount - v.paid_total AS balance
             FROM cobranca.invoice v
            WHERE v.id = ANY (notice_body.invoice_ids)
            ORDER BY v.due_on, v.id
  LOOP
    lines := lines || format(E'  - competência %s, vencimento em %s: %s\n',
                             to_char(i.competence, 'MM/YYYY'), to_char(i.due_on, 'DD/MM/YYYY'),
                             cobranca.notice_brl(i.balance));
    original := original + i.balance;
    since := least(since, i.due_on);
    updated := updated + i.balance
               + cobranca.notice_late_charges(i.balance, i.due_on, as_of, k.fine_pct, k.interest_month_pct);
  END LOOP;

  IF k.service_phone IS NOT NULL THEN channels := channels || ('telefone ' || k.service_phone); END IF;
  IF k.service_email IS NOT NULL THEN channels := channels || ('e-mail ' || k.service_email); END IF;
  IF k.service_site IS NOT NULL THEN channels := channels || ('site ' || k.service_site); END IF;
  IF cardinality(channels) = 0 THEN channels := '{"os canais indicados no seu contrato"}'; END IF;

  RETURN format(
    E'NOTIFICAÇÃO DE INADIMPLÊNCIA (RN ANS nº 593/2023)\n\n'
    'Operadora: %s, CNPJ %s, registro ANS nº %s\n'
    'Endereço: %s\n\n'
    'Beneficiário titular: %s (e dependentes vinculados ao contrato)\n'
    'Plano: %s, registro do produto na ANS nº %s\n'
    'Contrato nº %s\n\n'
    'Prezado(a) %s,\n\n'
    'Até %s não identificamos o pagamento das seguintes mensalidades do seu plano de saúde:\n%s'
    'Período de inadimplência: desde %s (%s dias).\n'
    'Valor original em aberto: %s\n'
    'Valor total atualizado em %s, com multa de %s%% e juros de mora de %s%% ao mês pro rata die: %s\n\n'
    'Prazo para pagamento: 10 (dez) dias corridos contados do recebimento desta notificação. '
    'Se houver contestação de algum valor dentro desse prazo, o prazo de 10 (dez) dias recomeça '
    'a contar da nossa resposta.\n'
    'Como pagar: PIX (chave %s) ou boleto bancário, cuja segunda via com o valor atualizado pode ser '
    'pedida pelos nossos canais de atendimento.\n'
    'Canais de atendimento: %s.\n\n'
    'Consequência: se o débito não for pago no prazo, o contrato poderá ser suspenso ou cancelado '
    'por inadimplência (Lei nº 9.656/1998, art. 13, parágrafo único, II; RN ANS nº 593/2023). '
    'O contrato não será suspenso nem cancelado durante a internação do titular.\n'
    'Mensalidades em contestação ou incluídas em acordo não constam desta notificação. '
    'Se o pagamento já foi feito, por favor desconsidere esta mensagem e, se possível, envie-nos o comprovante.\n',
    k.name, cobranca.notice_cnpj(k.document), coalesce(k.ans_registry, 'não informado'),
    concat_ws(', ', k.address, nullif(concat_ws('/', k.city, k.uf), '')),
    k.payer_name,
    k.plan_name, coalesce(k.plan_ans_registry, 'não informado'),
    k.number,
    k.payer_name,
    to_char(as_of, 'DD/MM/YYYY'), lines,
    to_char(since, 'DD/MM/YYYY'), as_of - since,
    cobranca.notice_brl(original),
    to_char(as_of, 'DD/MM/YYYY'), translate(k.fine_pct::text, '.', ','),
    translate(k.interest_month_pct::text, '.', ','), cobranca.notice_brl(updated),
    coalesce(k.pix_key, 'informada pelos canais de atendimento'),
    array_to_string(channels, '; '));
END
$$;
COMMENT ON FUNCTION cobranca.notice_body(bigint, bigint[], date) IS
  'the pt-BR text of a default notice: operator, beneficiary, plan, each listed premium, updated total, deadline rule, payment means, service channels, consequence; reads no health data';

-- ---------------------------------------------------------------------------
-- Drafting

CREATE FUNCTION cobranca.notices_draft(as_of_day date, as_of_instant timestamptz) RETURNS integer
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  -- the premiums a notice would list are locked first, in id order: a
  -- payment or dispute in flight on one of them is waited for, and the
  -- INSERT below (a new snapshot) sees it; one arriving later waits for the
  -- notice to commit and then cures it (notice_invoice_status)
  PERFORM FROM cobranca.invoice i
   WHERE i.id IN (SELECT pg_catalog.unnest(f.unpaid_invoice_ids)
                    FROM cobranca.default_facts_local(as_of_day, as_of_instant) f
                   WHERE f.subject AND f.unpaid_premiums >= 2
                     AND NOT EXISTS (SELECT 1 FROM cobranca.default_notice n
                                      WHERE n.contract_id = f.contract_id
                                        AND n.status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired')))
   ORDER BY i.id
     FOR SHARE OF i;
  INSERT INTO cobranca.default_notice
         (creditor_id, portfolio_id, contract_id, invoice_ids, amount_due, default_since, drafted_on, body)
  SELECT f.creditor_id, f.portfolio_id, f.contract_id, f.unpaid_invoice_ids, f.amount_due,
         f.default_since, f.as_of, cobranca.notice_body(f.contract_id, f.unpaid_invoice_ids, f.as_of)
    FROM cobranca.default_facts_local(as_of_day, as_of_instant) f
    JOIN cobranca.contract c ON c.id = f.contract_id
    JOIN cobranca.creditor cr ON cr.id = c.creditor_id
   WHERE f.subject
     AND f.as_of >= date '2024-12-01'      -- RN 593 in force (see doc/rn593.md)
     AND c.status = 'active'
     AND f.unpaid_premiums >= 2
     AND f.days_in_default >= cr.notice_day
     AND NOT EXISTS (SELECT 1 FROM cobranca.default_notice n
                      WHERE n.contract_id = f.contract_id
                        AND n.status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired'))
   ORDER BY f.contract_id
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.notices_draft(date, timestamptz) IS
  'drafts the notices due as of one local date for every payer (as_of_day), or as of each payer''s local date at an instant, after locking the premiums they would list (FOR SHARE) so that a payment in flight is seen; see generate_notices';

CREATE FUNCTION cobranca.generate_notices(as_of date) RETURNS integer
  LANGUAGE sql
  RETURN cobranca.notices_draft(as_of, NULL);
COMMENT ON FUNCTION cobranca.generate_notices(date) IS
  'drafts one notice per RN 593 contract in default (at least two premiums unpaid within 12 months) that reached its creditor''s notice_day of default and has no live notice; idempotent and safe to run concurrently; returns how many were drafted';

CREATE FUNCTION cobranca.draft_notices(as_of timestamptz) RETURNS bigint
  LANGUAGE sql
  RETURN cobranca.notices_draft(NULL, as_of);
COMMENT ON FUNCTION cobranca.draft_notices(timestamptz) IS
  'job draft_notices: generate_notices at each payer''s local date of the instant; returns how many were drafted';

-- ---------------------------------------------------------------------------
-- Proof of receipt and failed attempts (RN 593 art. 8)

CREATE FUNCTION cobranca.notice_jsonb_present(value jsonb) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE pg_catalog.jsonb_typeof(value)
           WHEN 'string' THEN pg_catalog.btrim(value #>> '{}') <> ''
           WHEN 'object' THEN value <> '{}'::jsonb
           WHEN 'array' THEN pg_catalog.jsonb_array_length(value) > 0
           WHEN 'boolean' THEN value = 'true'::jsonb
           WHEN 'number' THEN true
           ELSE false END;
COMMENT ON FUNCTION cobranca.notice_jsonb_present(jsonb) IS
  'true when a proof value is given: a non-blank string, a non-empty object or array, true, or a number';

CREATE FUNCTION cobranca.notice_proof_valid(channel text, proof jsonb) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  missing text;
BEGIN
  IF channel IS NULL OR channel NOT IN ('email', 'sms', 'whatsapp', 'phone', 'ivr', 'letter', 'agent') THEN
    RAISE EXCEPTION 'invalid notice channel: "%"', coalesce(cobranca.show_value(channel), 'null')
      USING ERRCODE = '22023',
            DETAIL = 'default_notice.channel must be one of email, sms, whatsapp, phone, ivr, letter, agent (RN 593 art. 8).';
  END IF;
  IF proof IS NULL OR jsonb_typeof(proof) <> 'object' THEN
    missing := 'the keys of a JSON object';
  ELSIF channel = 'email' THEN
    IF NOT (cobranca.notice_jsonb_present(proof -> 'read_receipt')
            OR cobranca.notice_jsonb_present(proof -> 'certificate')) THEN
      missing := 'read_receipt or certificate';
    END IF;
  ELSIF channel IN ('sms', 'whatsapp') THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'reply') THEN
      missing := 'reply (the beneficiary''s answer confirming awareness)';
    END IF;
  ELSIF channel IN ('phone', 'ivr') THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'recording') THEN
      missing := 'recording';
    ELSIF (proof -> 'data_confirmed') IS DISTINCT FROM 'true'::jsonb THEN
      missing := 'data_confirmed = true (the beneficiary confirmed their data in the call)';
    END IF;
  ELSIF channel = 'letter' THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'ar') THEN
      missing := 'ar (the signed postal receipt)';
    END IF;
  ELSIF channel = 'agent' THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'signed_receipt') THEN
      missing := 'signed_receipt (signed by the beneficiary)';
    END IF;
  END IF;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'confirmation by % lacks its proof of receipt', channel
      USING ERRCODE = '23514',
            DETAIL = format('default_notice.proof = %s has no %s.', coalesce(cobranca.show_value(proof::text), 'null'), missing),
            HINT = 'RN 593 art. 8: email needs read_receipt or certificate; sms/whatsapp a reply; phone/ivr a recording and data_confirmed = true; letter an ar; agent a signed_receipt.';
  END IF;
  RETURN true;
END
$$;
COMMENT ON FUNCTION cobranca.notice_proof_valid(text, jsonb) IS
  'true when proof holds what RN 593 art. 8 requires for the channel; otherwise raises 22023 (unknown channel) or 23514 naming the missing key';

-- The payer's registered channels, each with the attempt channels that
-- exhaust it.
CREATE FUNCTION cobranca.notice_attempts_last(payer_id bigint, attempts jsonb) RETURNS timestamptz
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
  p    record;
  a    jsonb;
  ts   timestamptz;
  last_ts timestamptz;
  tried text[] := '{}';
  need record;
BEGIN
  IF attempts IS NULL OR jsonb_typeof(attempts) <> 'array' OR jsonb_array_length(attempts) = 0 THEN
    RAISE EXCEPTION 'unreachable notice needs its failed attempts'
      USING ERRCODE = '23514',
            DETAIL = format('default_notice.attempts = %s is not a non-empty array.', coalesce(cobranca.show_value(attempts::text), 'null')),
            HINT = 'Pass [{"channel": "email", "at": "2026-03-02T10:00:00-03:00", "result": "bounced"}, ...], one failed attempt at least per registered channel.';
  END IF;
  FOR a IN SELECT e FROM jsonb_array_elements(attempts) e LOOP
    IF jsonb_typeof(a) <> 'object'
       OR NOT coalesce(a ->> 'channel' IN ('email', 'sms', 'whatsapp', 'phone', 'ivr', 'letter', 'agent'), false)
       OR NOT cobranca.notice_jsonb_present(a -> 'result')
       OR jsonb_typeof(a -> 'at') IS DISTINCT FROM 'string' THEN
      RAISE EXCEPTION 'malformed notice attempt'
        USING ERRCODE = '22023',
              DETAIL = format('attempt %s needs channel (email, sms, whatsapp, phone, ivr, letter, agent), at (timestamp) and result.', cobranca.show_value(a::text)),
              HINT = 'Example: {"channel": "letter", "at": "2026-03-02T10:00:00-03:00", "result": "AR returned: addressee unknown"}.';
    END IF;
    ts := (a ->> 'at')::timestamptz;
    IF ts > now() THEN
      RAISE EXCEPTION 'notice attempt in the future'
        USING ERRCODE = '22023', DETAIL = format('attempt %s is dated after now (%s).', cobranca.show_value(a::text), now());
    END IF;
    tried := tried || (a ->> 'channel');
    last_ts := greatest(last_ts, ts);
  END LOOP;

  SELECT * INTO p FROM cobranca.payer WHERE id = notice_attempts_last.payer_id;
  FOR need IN SELECT * FROM (VALUES
      ('email',    p.email IS NOT NULL,    '{email}'::text[]),
      ('phone',    p.phone IS NOT NULL,    '{phone,ivr,sms}'::text[]),
      ('whatsapp', p.whatsapp IS NOT NULL, '{whatsapp}'::text[]),
      ('letter',   p.address IS NOT NULL,  '{letter,agent}'::text[])) AS t(channel, registered, covers)
  LOOP
    IF need.registered AND NOT (tried && need.covers) THEN
      RAISE EXCEPTION 'registered channel % of payer % was not tried', need.channel, p.id
        USING ERRCODE = '23514',
              DETAIL = format('attempts cover %s; the payer has %s registered, which needs a failed attempt by one of %s.',
                              array_to_string(tried, ', '), need.channel, array_to_string(need.covers, ', ')),
              HINT = 'A notice may be closed as unreachable only when every registered channel failed (RN 593 art. 8).';
    END IF;
  END LOOP;
  RETURN last_ts;
END
$$;
COMMENT ON FUNCTION cobranca.notice_attempts_last(bigint, jsonb) IS
  'validates failed attempts against the payer''s registered channels (email; phone, by phone, ivr or sms; whatsapp; address, by letter or agent) and returns the last attempt; raises 22023 or 23514';

-- ---------------------------------------------------------------------------
-- The notice's own trigger: states, evidence and the computed deadline

CREATE FUNCTION cobranca.default_notice_before() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
  tz        text;
  start_on  date;
  deadline  date;
  d         record;
  allowed   text[];
  fresh     boolean;
BEGIN
  SELECT p.timezone INTO tz
    FROM cobranca.contract c JOIN cobranca.payer p ON p.id = c.payer_id
   WHERE c.id = NEW.contract_id;

  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'draft' OR NEW.confirmed_at IS NOT NULL OR NEW.attempts IS NOT NULL THEN
      -- a superuser loading notices as recorded (pg_restore, a migration):
      -- their evidence and deadline were checked when they were recorded
      IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user) THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'a default notice starts as a draft'
        USING ERRCODE = '55000',
              DETAIL = format('default_notice.status = %s on insert.', NEW.status),
              HINT = 'Confirm it afterwards with cobranca.confirm_notice() or cobranca.notice_unreachable().';
    END IF;
  ELSE
    IF NEW.status IS DISTINCT FROM OLD.status THEN
      allowed := CASE OLD.status
                   WHEN 'draft'       THEN '{sent,confirmed,unreachable,cured,void}'
                   WHEN 'sent'        THEN '{confirmed,unreachable,cured,void}'
                   WHEN 'confirmed'   THEN '{expired,cured,void}'
                   WHEN 'unreachable' THEN '{expired,cured,void}'
                   WHEN 'expired'     THEN '{cured,void}'
                   ELSE '{}' END;
      IF NOT NEW.status = ANY (allowed) THEN
        RAISE EXCEPTION 'default notice % cannot go from % to %', OLD.id, OLD.status, NEW.status
          USING ERRCODE = '55000',
                DETAIL = format('from %s a notice may become: %s.', OLD.status,
                                coalesce(nullif(array_to_string(allowed, ', '), ''), 'nothing (final)'));
      END IF;
      IF NEW.status IN ('cured', 'expired', 'void') THEN
        NEW.closed_at := now();
      END IF;
    ELSIF OLD.status IN ('cured', 'void') THEN
      RAISE EXCEPTION 'default notice % is %, a final state', OLD.id, OLD.status USING ERRCODE = '55000';
    END IF;
    IF OLD.status <> 'draft'
       AND (NEW.invoice_ids IS DISTINCT FROM OLD.invoice_ids OR NEW.amount_due IS DISTINCT FROM OLD.amount_due
            OR NEW.body IS DISTINCT FROM OLD.body OR NEW.default_since IS DISTINCT FROM OLD.default_since
            OR NEW.contract_id IS DISTINCT FROM OLD.contract_id OR NEW.drafted_on IS DISTINCT FROM OLD.drafted_on) THEN
      RAISE EXCEPTION 'default notice % was already %: its content is evidence and cannot change', OLD.id, OLD.status
        USING ERRCODE = '55000';
    END IF;
    IF OLD.status IN ('confirmed', 'unreachable', 'expired')
       AND (NEW.channel IS DISTINCT FROM OLD.channel OR NEW.confirmed_at IS DISTINCT FROM OLD.confirmed_at
            OR NEW.proof IS DISTINCT FROM OLD.proof OR NEW.attempts IS DISTINCT FROM OLD.attempts) THEN
      RAISE EXCEPTION 'default notice % was already %: its evidence cannot change', OLD.id, OLD.status
        USING ERRCODE = '55000';
    END IF;
  END IF;

  -- when the 10 days start; the evidence is checked when it is given
  fresh := TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status;
  IF NEW.status = 'confirmed' OR (NEW.status IN ('expired', 'cured', 'void') AND NEW.confirmed_at IS NOT NULL) THEN
    IF NEW.confirmed_at IS NULL THEN
      RAISE EXCEPTION 'a confirmed notice needs confirmed_at' USING ERRCODE = '23502';
    END IF;
    IF fresh AND NEW.status = 'confirmed' THEN
      PERFORM cobranca.notice_proof_valid(NEW.channel, NEW.proof);
    END IF;
    start_on := (NEW.confirmed_at AT TIME ZONE tz)::date;
  ELSIF NEW.status = 'unreachable' OR (NEW.status IN ('expired', 'cured', 'void') AND NEW.attempts IS NOT NULL) THEN
    IF fresh AND NEW.status = 'unreachable' THEN
      PERFORM cobranca.notice_attempts_last(
                (SELECT c.payer_id FROM cobranca.contract c WHERE c.id = NEW.contract_id), NEW.attempts);
    END IF;
    start_on := (SELECT max(((e ->> 'at')::timestamptz AT TIME ZONE tz)::date)
                   FROM jsonb_array_elements(NEW.attempts) e);
  ELSIF NEW.confirmed_at IS NOT NULL OR NEW.attempts IS NOT NULL OR NEW.channel IS NOT NULL THEN
    RAISE EXCEPTION 'default notice % is %: it has no confirmation', NEW.id, NEW.status
      USING ERRCODE = '55000',
            HINT = 'Use cobranca.confirm_notice() or cobranca.notice_unreachable().';
  END IF;
  IF start_on IS NOT NULL AND start_on < NEW.drafted_on THEN
    RAISE EXCEPTION 'notice % confirmed before it was drafted', NEW.id
      USING ERRCODE = '22023',
            DETAIL = format('confirmation or last attempt on %s (time zone %s); notice drafted on %s.',
                            start_on, tz, NEW.drafted_on);
  END IF;

  -- the deadline: start + 10 days, moved to answer + 10 days by each dispute
  -- on a listed premium that was pending during the term; unknown (null)
  -- while such a dispute is unanswered
  IF start_on IS NOT NULL THEN
    deadline := start_on + 10;
    FOR d IN SELECT x.opened_on, x.answered_on
               FROM cobranca.dispute x
              WHERE x.invoice_id = ANY (NEW.invoice_ids)
                AND (x.answered_on IS NULL OR x.answered_on >= start_on)
              ORDER BY x.opened_on, x.id
    LOOP
      EXIT WHEN d.opened_on > deadline;
      IF d.answered_on IS NULL THEN
        deadline := NULL;
        EXIT;
      END IF;
      deadline := greatest(deadline, d.answered_on + 10);
    END LOOP;
  END IF;

  IF NEW.deadline_on IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.deadline_on END)
     AND NEW.deadline_on IS DISTINCT FROM deadline THEN
    RAISE EXCEPTION 'default_notice.deadline_on is computed, not written'
      USING ERRCODE = '428C9',
            DETAIL = format('deadline_on = %s given; the notice''s facts make it %s.',
                            coalesce(NEW.deadline_on::text, 'null'), coalesce(deadline::text, 'null')),
            HINT = 'The deadline is the confirmation date (or last failed attempt) + 10 days, or a dispute answer + 10 days.';
  END IF;
  NEW.term_start_on := start_on;
  NEW.deadline_on := deadline;
  NEW.confirmed_by_day_50 := CASE WHEN start_on IS NOT NULL THEN start_on <= NEW.default_since + 50 END;
  IF TG_OP = 'UPDATE' AND ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION cobranca.default_notice_before() IS
  'trigger: notice state machine, proof of receipt, frozen evidence, and the computed term start, deadline and day-50 flag';

CREATE TRIGGER default_notice_before
  BEFORE INSERT OR UPDATE ON cobranca.default_notice
  FOR EACH ROW EXECUTE FUNCTION cobranca.default_notice_before();

-- ---------------------------------------------------------------------------
-- Staff API

CREATE FUNCTION cobranca.notice_for_update(notice_id bigint) RETURNS cobranca.default_notice
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n cobranca.default_notice;
BEGIN
  SELECT * INTO n FROM cobranca.default_notice WHERE id = notice_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'default notice % does not exist', coalesce(notice_id::text, 'null')
      USING ERRCODE = 'P0002';
  END IF;
  IF n.status NOT IN ('draft', 'sent') THEN
    RAISE EXCEPTION 'default notice % is already %', notice_id, n.status
      USING ERRCODE = '55000',
            DETAIL = format('status = %s; only a draft or sent notice can be confirmed or closed as unreachable.', n.status),
            HINT = 'An old notice never serves a new default: the jobs draft a new one.';
  END IF;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.notice_for_update(bigint) IS
  'locks a draft or sent notice for confirmation; raises P0002 or 55000 otherwise';

CREATE FUNCTION cobranca.confirm_notice(notice_id bigint, channel text, confirmed_at timestamptz, proof jsonb)
  RETURNS date
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  deadline date;
BEGIN
  PERFORM cobranca.notice_for_update(notice_id);
  IF confirmed_at IS NULL OR confirmed_at > now() THEN
    RAISE EXCEPTION 'invalid confirmation time for notice %', notice_id
      USING ERRCODE = '22023',
            DETAIL = format('confirmed_at = %s must be given and not in the future.', coalesce(confirmed_at::text, 'null'));
  END IF;
  PERFORM cobranca.notice_proof_valid(channel, proof);
  UPDATE cobranca.default_notice n
     SET status = 'confirmed', channel = confirm_notice.channel,
         confirmed_at = confirm_notice.confirmed_at, proof = confirm_notice.proof
   WHERE n.id = notice_id
  RETURNING n.deadline_on INTO deadline;
  RETURN deadline;
END
$$;
COMMENT ON FUNCTION cobranca.confirm_notice(bigint, text, timestamptz, jsonb) IS
  'records receipt of a notice with its proof (RN 593 art. 8) and returns the deadline: confirmation date in the payer''s time zone + 10 days';

CREATE FUNCTION cobranca.notice_unreachable(notice_id bigint, attempts jsonb) RETURNS date
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  deadline date;
BEGIN
  PERFORM cobranca.notice_for_update(notice_id);
  UPDATE cobranca.default_notice n
     SET status = 'unreachable', attempts = notice_unreachable.attempts
   WHERE n.id = notice_id
  RETURNING n.deadline_on INTO deadline;
  RETURN deadline;
END
$$;
COMMENT ON FUNCTION cobranca.notice_unreachable(bigint, jsonb) IS
  'closes a notice as unreachable when every registered channel of the payer has a failed attempt; returns the deadline: last attempt''s local date + 10 days';

-- ---------------------------------------------------------------------------
-- Facts that change a running notice

-- A premium leaving the open debt: paid, cancelled or written off cures the
-- notice once fewer than two listed premiums remain unpaid; covered by an
-- agreement voids it.
CREATE FUNCTION cobranca.notice_invoice_status() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NEW.status = 'in_agreement' THEN
    UPDATE cobranca.default_notice n SET status = 'void'
     WHERE n.invoice_ids @> ARRAY[NEW.id]
       AND n.status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired');
  ELSIF NEW.status IN ('paid', 'cancelled', 'written_off') THEN
    UPDATE cobranca.default_notice n SET status = 'cured'
     WHERE n.invoice_ids @> ARRAY[NEW.id]
       AND n.status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired')
       AND (SELECT count(*) FROM cobranca.invoice i
             WHERE i.id = ANY (n.invoice_ids) AND i.status IN ('open', 'disputed', 'in_agreement')) < 2;
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.notice_invoice_status() IS
  'trigger: a listed premium paid, cancelled or written off cures its notice when fewer than two listed premiums stay unpaid; one entering an agreement voids it';

-- Not UPDATE OF status: the bookkeeping triggers change status without the
-- column being named in the ERP's UPDATE.
CREATE TRIGGER notice_invoice_status
  AFTER UPDATE ON cobranca.invoice
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status
        AND NEW.kind = 'premium'
        AND NEW.status IN ('paid', 'cancelled', 'written_off', 'in_agreement'))
  EXECUTE FUNCTION cobranca.notice_invoice_status();

-- A dispute opened or answered on a listed premium: the notice's trigger
-- recomputes the deadline.
CREATE FUNCTION cobranca.notice_dispute() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE cobranca.default_notice n SET deadline_on = n.deadline_on   -- recomputed by its trigger
   WHERE n.invoice_ids @> ARRAY[NEW.invoice_id]
     AND n.status IN ('confirmed', 'unreachable');
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.notice_dispute() IS
  'trigger: a dispute on a listed premium moves the running notice''s deadline (answer + 10 days)';

CREATE TRIGGER notice_dispute
  AFTER INSERT ON cobranca.dispute
  FOR EACH ROW EXECUTE FUNCTION cobranca.notice_dispute();

CREATE TRIGGER notice_dispute_change
  AFTER UPDATE ON cobranca.dispute
  FOR EACH ROW
  WHEN (OLD.opened_on IS DISTINCT FROM NEW.opened_on OR OLD.answered_on IS DISTINCT FROM NEW.answered_on
        OR OLD.invoice_id IS DISTINCT FROM NEW.invoice_id)
  EXECUTE FUNCTION cobranca.notice_dispute();

-- ---------------------------------------------------------------------------
-- Expiry

CREATE FUNCTION cobranca.expire_notices(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  -- every join also on creditor_id (always equal): a distributed cluster
  -- runs the statement on each creditor's node (doc/scaling.md)
  UPDATE cobranca.default_notice dn SET status = 'expired'
    FROM cobranca.contract c, cobranca.payer p
   WHERE dn.contract_id = c.id AND c.creditor_id = dn.creditor_id
     AND p.id = c.payer_id AND p.creditor_id = dn.creditor_id
     AND dn.status IN ('confirmed', 'unreachable')
     AND dn.deadline_on < (expire_notices.as_of AT TIME ZONE p.timezone)::date
     AND (SELECT count(*) FROM cobranca.invoice i
           WHERE i.id = ANY (dn.invoice_ids) AND i.creditor_id = dn.creditor_id
             AND i.status IN ('open', 'disputed')) >= 2;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.expire_notices(timestamptz) IS
  'job expire_notices: notices whose deadline passed (in the payer''s time zone) with the debt unpaid become expired; returns how many';

-- ---------------------------------------------------------------------------
-- The cancellation guard

CREATE FUNCTION cobranca.cancellation_check(contract_id bigint, reason text, as_of date)
  RETURNS TABLE (condition text, message text, detail text, notice_id bigint, notice_status text,
                 deadline_on date, unpaid_invoice_ids bigint[], unpaid_premiums integer,
                 default_since date, days_in_default integer, amount_due numeric)
  LANGUAGE plpgsql STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
  c   record;
  n   record;
  pending record;
  x   record;
BEGIN
  SELECT * INTO c FROM cobranca.contract k WHERE k.id = cancellation_check.contract_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'contract % does not exist', contract_id USING ERRCODE = 'P0002';
  END IF;
  condition := 'ok';

  IF reason = 'default' AND cobranca.rn593_subject(c.plan_type, c.paid_by_person) THEN
    -- 1. a confirmed (or unreachable) notice for this default, deadline passed
    SELECT * INTO n FROM cobranca.default_notice dn
     WHERE dn.contract_id = c.id AND dn.status IN ('confirmed', 'unreachable', 'expired')
     ORDER BY dn.id DESC LIMIT 1;
    IF NOT FOUND THEN
      SELECT dn.id, dn.status INTO pending FROM cobranca.default_notice dn
       WHERE dn.contract_id = c.id AND dn.status IN ('draft', 'sent') ORDER BY dn.id DESC LIMIT 1;
      condition := 'notice';
      message := format('no confirmed default notice for the current default of contract %s', c.id);
      detail := CASE WHEN pending.id IS NOT NULL
                     THEN format('notice %s is %s, not confirmed nor closed as unreachable.', pending.id, pending.status)
                     ELSE 'no live notice: an earlier one was cured or voided, or none was drafted; a new default needs a new notice.' END;
      RETURN NEXT; RETURN;
    END IF;
    notice_id := n.id; notice_status := n.status; deadline_on := n.deadline_on;
    IF n.deadline_on IS NULL THEN
      condition := 'deadline';
      message := format('deadline of notice %s is open: a dispute on a listed premium awaits its answer', n.id);
      detail := format('the term started on %s; the deadline will be the answer date + 10 days.', n.term_start_on);
      RETURN NEXT; RETURN;
    END IF;
    IF n.deadline_on >= as_of THEN
      condition := 'deadline';
      message := format('deadline %s not reached', n.deadline_on);
      detail := format('notice %s, term started on %s; today is %s; suspension or cancellation is possible from %s.',
                       n.id, n.term_start_on, as_of, n.deadline_on + 1);
      RETURN NEXT; RETURN;
    END IF;

    -- 2. still at least two listed premiums unpaid within 12 months, > 60 days
    SELECT array_agg(i.id ORDER BY i.due_on, i.id), count(*)::integer, min(i.due_on),
           sum(i.amount - i.paid_total)
      INTO unpaid_invoice_ids, unpaid_premiums, default_since, amount_due
      FROM cobranca.invoice i
     WHERE i.id = ANY (n.invoice_ids)
       AND i.status IN ('open', 'disputed', 'in_agreement')
       AND i.due_on >= (as_of - '12 months'::interval)::date;
    days_in_default := as_of - default_since;
    IF unpaid_premiums < 2 THEN
      condition := 'default';
      message := format('%s listed premium(s) unpaid within the last 12 months, at least 2 required', unpaid_premiums);
      detail := format('notice %s listed invoices %s; unpaid within 12 months of %s: %s.', n.id, n.invoice_ids, as_of,
                       coalesce(unpaid_invoice_ids::text, '{}'));
      RETURN NEXT; RETURN;
    END IF;
    IF days_in_default <= 60 THEN
      condition := 'default';
      message := format('%s days of default, more than 60 required', days_in_default);
      detail := format('oldest unpaid listed premium due on %s; today is %s.', default_since, as_of);
      RETURN NEXT; RETURN;
    END IF;

    -- 3. no agreement covering them
    SELECT i.id, i.agreement_id INTO x FROM cobranca.invoice i
     WHERE i.id = ANY (unpaid_invoice_ids) AND (i.status = 'in_agreement' OR i.agreement_id IS NOT NULL)
     ORDER BY i.id LIMIT 1;
    IF FOUND THEN
      condition := 'agreement';
      message := format('premium %s is covered by an agreement', x.id);
      detail := format('invoice %s, agreement %s: a renegotiated debt cannot ground a cancellation.', x.id,
                       coalesce(x.agreement_id::text, 'unknown'));
      RETURN NEXT; RETURN;
    END IF;

    -- 4. no open dispute on them
    SELECT i.id, (SELECT min(d.opened_on) FROM cobranca.dispute d
                   WHERE d.invoice_id = i.id AND d.answered_on IS NULL) AS opened_on
      INTO x FROM cobranca.invoice i
     WHERE i.id = ANY (unpaid_invoice_ids)
       AND (i.status = 'disputed' OR i.open_disputes > 0
            OR EXISTS (SELECT 1 FROM cobranca.dispute d WHERE d.invoice_id = i.id AND d.answered_on IS NULL))
     ORDER BY i.id LIMIT 1;
    IF FOUND THEN
      condition := 'dispute';
      message := format('premium %s has an open dispute', x.id);
      detail := format('invoice %s disputed since %s, unanswered.', x.id, coalesce(x.opened_on::text, 'unknown'));
      RETURN NEXT; RETURN;
    END IF;
  END IF;

  -- 5. whatever the reason: never during the holder's hospitalization
  IF EXISTS (SELECT 1 FROM cobranca.hospitalization h
              WHERE h.contract_id = c.id AND h.discharged_on IS NULL AND h.admitted_on <= as_of) THEN
    condition := 'hospitalization';
    message := format('the holder of contract %s is in hospital', c.id);
    detail := 'an open hospitalization forbids suspension or cancellation for any reason (Lei 9.656/98 art. 13 par. único III).';
    RETURN NEXT; RETURN;
  END IF;

  message := 'suspension or cancellation allowed';
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION cobranca.cancellation_check(bigint, text, date) IS
  'evaluates, as of a local date, whether a contract may be suspended or cancelled for a reason; condition is ok or the first failing one (notice, deadline, default, agreement, dispute, hospitalization) with its facts';

CREATE FUNCTION cobranca.contract_guard() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  today date;
  k record;
BEGIN
  -- the contract's invoices are locked before the check reads them: a
  -- payment, dispute or agreement in flight on one of them is waited for
  -- and seen (the next statement takes a new snapshot), and one arriving
  -- during the check waits for this transaction
  IF NEW.status_reason = 'default' THEN
    PERFORM FROM cobranca.invoice i WHERE i.contract_id = NEW.id ORDER BY i.id FOR SHARE;
  END IF;
  SELECT (now() AT TIME ZONE p.timezone)::date INTO today
    FROM cobranca.payer p WHERE p.id = NEW.payer_id;
  SELECT * INTO k FROM cobranca.cancellation_check(NEW.id, NEW.status_reason, coalesce(today, current_date));
  IF k.condition <> 'ok' THEN
    RAISE EXCEPTION 'contract % cannot be % (reason %): %', NEW.id, NEW.status, NEW.status_reason, k.message
      USING ERRCODE = 'P0593',
            DETAIL = format('condition %s failed: %s', k.condition, k.detail),
            HINT = CASE k.condition
                     WHEN 'hospitalization' THEN 'Wait for the discharge.'
                     ELSE 'See cobranca.cancellation_eligible and doc/rn593.md (ANS RN 593/2023, Lei 9.656/98 art. 13).' END;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION cobranca.contract_guard() IS
  'trigger: refuses suspension or cancellation for default unless RN 593 allows it as of today in the payer''s time zone (the contract''s invoices locked FOR SHARE first, so that a payment in flight is seen), and any suspension or cancellation during an open hospitalization; SQLSTATE P0593';

CREATE TRIGGER contract_guard
  BEFORE UPDATE ON cobranca.contract
  FOR EACH ROW
  WHEN (NEW.status IN ('suspended', 'cancelled')
        AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.status_reason IS DISTINCT FROM NEW.status_reason))
  EXECUTE FUNCTION cobranca.contract_guard();

CREATE VIEW cobranca.cancellation_eligible WITH (security_invoker = true) AS
SELECT c.id AS contract_id, c.creditor_id, c.portfolio_id, c.payer_id, c.number, c.status,
       k.notice_id, k.notice_status, n.channel, n.term_start_on, k.deadline_on,
       k.unpaid_invoice_ids, k.unpaid_premiums, k.default_since, k.days_in_default, k.amount_due,
       t.today AS as_of
  FROM cobranca.default_notice n
  JOIN cobranca.contract c ON c.id = n.contract_id
  JOIN cobranca.payer p ON p.id = c.payer_id
 CROSS JOIN LATERAL (SELECT (pg_catalog.now() AT TIME ZONE p.timezone)::date AS today) t
 CROSS JOIN LATERAL cobranca.cancellation_check(c.id, 'default', t.today) k
 WHERE n.status IN ('confirmed', 'unreachable', 'expired')
   AND c.status IN ('active', 'suspended')
   AND cobranca.rn593_subject(c.plan_type, c.paid_by_person)
   AND k.condition = 'ok';
COMMENT ON VIEW cobranca.cancellation_eligible IS
  'contracts that may be suspended or cancelled for default today (payer''s time zone): notice deadline passed, debt unpaid, no agreement, dispute or hospitalization';
COMMENT ON COLUMN cobranca.cancellation_eligible.contract_id IS 'the contract';
COMMENT ON COLUMN cobranca.cancellation_eligible.creditor_id IS 'its creditor';
COMMENT ON COLUMN cobranca.cancellation_eligible.portfolio_id IS 'its portfolio';
COMMENT ON COLUMN cobranca.cancellation_eligible.payer_id IS 'the payer (holder)';
COMMENT ON COLUMN cobranca.cancellation_eligible.number IS 'contract number';
COMMENT ON COLUMN cobranca.cancellation_eligible.status IS 'contract status: active, or suspended (may still be cancelled)';
COMMENT ON COLUMN cobranca.cancellation_eligible.notice_id IS 'the notice whose deadline passed';
COMMENT ON COLUMN cobranca.cancellation_eligible.notice_status IS 'confirmed, unreachable or expired';
COMMENT ON COLUMN cobranca.cancellation_eligible.channel IS 'channel of the confirmation (null when unreachable)';
COMMENT ON COLUMN cobranca.cancellation_eligible.term_start_on IS 'date the 10 days started';
COMMENT ON COLUMN cobranca.cancellation_eligible.deadline_on IS 'last day of the term (passed)';
COMMENT ON COLUMN cobranca.cancellation_eligible.unpaid_invoice_ids IS 'listed premiums still unpaid within 12 months';
COMMENT ON COLUMN cobranca.cancellation_eligible.unpaid_premiums IS 'how many (at least 2)';
COMMENT ON COLUMN cobranca.cancellation_eligible.default_since IS 'due date of the oldest of them';
COMMENT ON COLUMN cobranca.cancellation_eligible.days_in_default IS 'days of default today (more than 60)';
COMMENT ON COLUMN cobranca.cancellation_eligible.amount_due IS 'their unpaid balance, BRL, without fine and interest';
COMMENT ON COLUMN cobranca.cancellation_eligible.as_of IS 'today in the payer''s time zone';

-- ---------------------------------------------------------------------------
-- Jobs and privileges

INSERT INTO cobranca.job (name, position, function, description) VALUES
  ('draft_notices', 10, 'cobranca.draft_notices(timestamptz)',
   'draft RN 593 default notices for contracts that reached the notice day of default'),
  ('expire_notices', 20, 'cobranca.expire_notices(timestamptz)',
   'expire notices whose 10-day term passed unpaid (they show in cancellation_eligible)');

REVOKE ALL ON FUNCTION cobranca.notices_draft(date, timestamptz), cobranca.generate_notices(date),
  cobranca.draft_notices(timestamptz), cobranca.expire_notices(timestamptz),
  cobranca.confirm_notice(bigint, text, timestamptz, jsonb), cobranca.notice_unreachable(bigint, jsonb),
  cobranca.cancellation_check(bigint, text, date), cobranca.notice_for_update(bigint)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.notices_draft(date, timestamptz), cobranca.generate_notices(date),
  cobranca.draft_notices(timestamptz), cobranca.expire_notices(timestamptz) TO cobranca_admin;
GRANT EXECUTE ON FUNCTION cobranca.confirm_notice(bigint, text, timestamptz, jsonb),
  cobranca.notice_unreachable(bigint, jsonb), cobranca.notice_for_update(bigint),
  cobranca.cancellation_check(bigint, text, date)
  TO cobranca_legal, cobranca_supervisor, cobranca_admin;
GRANT SELECT ON cobranca.cancellation_eligible TO cobranca_legal, cobranca_supervisor, cobranca_admin;

COMMENT ON TRIGGER default_notice_before ON cobranca.default_notice IS
  'notice state machine, proof of receipt, frozen evidence, computed deadline';
COMMENT ON TRIGGER notice_invoice_status ON cobranca.invoice IS
  'a listed premium paid, cancelled or written off cures the notice; in agreement voids it';
COMMENT ON TRIGGER notice_dispute ON cobranca.dispute IS
  'a dispute on a listed premium moves the running notice''s deadline';
COMMENT ON TRIGGER notice_dispute_change ON cobranca.dispute IS
  'a dispute''s answer on a listed premium moves the running notice''s deadline';
COMMENT ON TRIGGER contract_guard ON cobranca.contract IS
  'RN 593 / Lei 9.656 art. 13 guard on suspension and cancellation (SQLSTATE P0593)';
