-- Money (money.c) and scoring (score.c): updated amounts, installment
-- schedules, payment codes, the payment-probability model and priority.

------------------------------------------------------------------ money

CREATE FUNCTION cobranca.late_charges(
    balance numeric, due_on date, as_of date, fine_pct numeric,
    interest_month_pct numeric, disputed_days integer DEFAULT 0,
    disputed boolean DEFAULT false,
    OUT principal numeric, OUT fine numeric, OUT interest numeric, OUT total numeric)
  AS 'MODULE_PATHNAME', 'cobranca_late_charges'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.late_charges(numeric, date, date, numeric, numeric, integer, boolean) IS
  'late charges on a balance: fine once (capped at 2%, none while disputed), simple interest pro rata die (capped at 1% a month, 30-day month) over the days after due_on up to as_of minus disputed_days; each rounded to the cent half-even';

-- Fine and interest of invoices as of a day: the one definition used by
-- updated_amount, the scores and the agreements.  Days on which a dispute
-- was open earn no interest, and no fine is due while one is open (a
-- disputed invoice's days do not count towards default, SPEC §2.1).
CREATE FUNCTION cobranca.invoice_charges(invoice_ids bigint[], as_of date)
  RETURNS TABLE (invoice_id bigint, principal numeric, fine numeric,
                 interest numeric, total numeric)
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT i.id, c.principal, c.fine, c.interest, c.total
    FROM cobranca.invoice i
    JOIN cobranca.creditor cr ON cr.id = i.creditor_id
    CROSS JOIN LATERAL (
      SELECT (SELECT coalesce(sum(upper(r) - lower(r)), 0)
                FROM pg_catalog.unnest(a.spans) r)::integer AS days,
             a.open_now
        FROM (SELECT pg_catalog.range_agg(
                       pg_catalog.daterange(d.opened_on, greatest(d.opened_on, coalesce(d.answered_on, as_of + 1)))
                       * pg_catalog.daterange(i.due_on + 1, greatest(i.due_on, as_of) + 1)) AS spans,
                     coalesce(bool_or(d.opened_on <= as_of
                                      AND (d.answered_on IS NULL OR d.answered_on > as_of)),
                              false) AS open_now
                FROM cobranca.dispute d
               WHERE d.invoice_id = i.id) a
    ) dd
    CROSS JOIN LATERAL cobranca.late_charges(
        CASE WHEN i.status = 'cancelled' THEN 0 ELSE i.balance END,
        i.due_on, as_of, cr.fine_pct, cr.interest_month_pct,
        dd.days, dd.open_now) c
   WHERE i.id = ANY (invoice_ids)
$$;
COMMENT ON FUNCTION cobranca.invoice_charges(bigint[], date) IS
  'principal (balance; 0 if cancelled), fine, interest and total of the given invoices as of a day, with the creditor''s rates within the legal caps and no charges for disputed days';

CREATE FUNCTION cobranca.updated_amount_breakdown(invoice_id bigint, as_of date DEFAULT CURRENT_DATE,
    OUT principal numeric, OUT fine numeric, OUT interest numeric, OUT total numeric)
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT c.principal, c.fine, c.interest, c.total
    FROM cobranca.invoice_charges(ARRAY[invoice_id], as_of) c
$$;
COMMENT ON FUNCTION cobranca.updated_amount_breakdown(bigint, date) IS
  'the updated amount of an invoice in parts: principal (balance), fine, interest and total; no row for an unknown invoice';

CREATE FUNCTION cobranca.updated_amount(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS numeric
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT c.total FROM cobranca.invoice_charges(ARRAY[invoice_id], as_of) c
$$;
COMMENT ON FUNCTION cobranca.updated_amount(bigint, date) IS
  'valor total atualizado: balance + fine + interest as of a day (SPEC §2.2); what the payer is told';

CREATE FUNCTION cobranca.split_amount(total numeric, installments integer) RETURNS numeric[]
  AS 'MODULE_PATHNAME', 'cobranca_split_amount'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.split_amount(numeric, integer) IS
  'total split in equal installments to the cent, the rounding remainder on the first; they sum to the total exactly';

CREATE FUNCTION cobranca.installment_schedule(total numeric, installments integer, first_due date)
  RETURNS TABLE (n integer, due_on date, amount numeric)
  AS 'MODULE_PATHNAME', 'cobranca_installment_schedule'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 12;
COMMENT ON FUNCTION cobranca.installment_schedule(numeric, integer, date) IS
  'monthly installments from first_due (same day of month, clamped to its end), each due date moved to the next bank business day (no weekend, national holiday, Good Friday or Corpus Christi); amounts as split_amount';

CREATE FUNCTION cobranca.crc16_ccitt(data text) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_crc16_ccitt'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.crc16_ccitt(text) IS
  'CRC16-CCITT-FALSE (poly 0x1021, init 0xFFFF) of the text''s bytes, 4 upper-case hex digits: the PIX BR Code checksum';

CREATE FUNCTION cobranca.pix_payload(key text, merchant_name text, city text,
                                     amount numeric DEFAULT NULL, txid text DEFAULT NULL)
  RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_pix_payload'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.pix_payload(text, text, text, numeric, text) IS
  'static PIX BR Code ("copia e cola"): EMV fields 00, 26 (br.gov.bcb.pix + key), 52, 53 (986), 54 (amount, if any), 58, 59 (name, 25 chars, no accents), 60 (city, 15), 62/05 (txid or ***), 63 CRC16';

CREATE FUNCTION cobranca.invoice_pix(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS text
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  amount numeric;
BEGIN
  SELECT i.id, i.status, cr.name, cr.city, cr.pix_key, cr.id AS creditor_id
    INTO r
    FROM cobranca.invoice i JOIN cobranca.creditor cr ON cr.id = i.creditor_id
   WHERE i.id = invoice_pix.invoice_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invoice % does not exist', invoice_pix.invoice_id
      USING ERRCODE = 'no_data_found';
  END IF;
  IF r.pix_key IS NULL OR r.city IS NULL THEN
    RAISE EXCEPTION 'creditor % has no PIX key or no city', r.creditor_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('creditor.pix_key is %s, creditor.city is %s.',
                                       coalesce(r.pix_key, 'null'), coalesce(r.city, 'null')),
            HINT = 'Set cobranca.creditor.pix_key and city.';
  END IF;
  IF r.status NOT IN ('open', 'disputed') THEN
    RAISE EXCEPTION 'invoice % is %: nothing to pay by PIX', r.id, r.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  amount := cobranca.updated_amount(r.id, as_of);
  IF amount <= 0 THEN
    RAISE EXCEPTION 'invoice % has no balance', r.id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN cobranca.pix_payload(r.pix_key, r.name, r.city, amount, 'COB' || r.id::text);
END
$$;
COMMENT ON FUNCTION cobranca.invoice_pix(bigint, date) IS
  'PIX copia-e-cola of an open invoice: the creditor''s key, name and city, the updated amount as of the day, txid COB<invoice id>';

CREATE FUNCTION cobranca.boleto_line_valid(line text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_boleto_line_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.boleto_line_valid(text) IS
  'true when a boleto''s linha digitável (47 digits; dots and blanks allowed) has valid mod-10 digits in fields 1-3 and a valid mod-11 general digit';

CREATE FUNCTION cobranca.boleto_due_date(line text, reference date DEFAULT CURRENT_DATE) RETURNS date
  AS 'MODULE_PATHNAME', 'cobranca_boleto_due_date'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.boleto_due_date(text, date) IS
  'due date read from a boleto''s due factor (days since 1997-10-07, restarted at 1000 on 2025-02-22: the reading nearer the reference date wins); NULL for factor 0000; error for an invalid line';

---------------------------------------------------------------- scoring

CREATE FUNCTION cobranca.logistic(coefficients float8[], x float8[]) RETURNS float8
  AS 'MODULE_PATHNAME', 'cobranca_logistic'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.logistic(float8[], float8[]) IS
  'logistic model: 1 / (1 + exp(-(coefficients[1] + sum coefficients[j+1] * x[j]))), the intercept first';

CREATE FUNCTION cobranca.logistic_fit_trans(internal, float8[], boolean, float8) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_logistic_fit_trans'
  LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.logistic_fit_trans(internal, float8[], boolean, float8) IS
  'transition function of cobranca.logistic_fit';
CREATE FUNCTION cobranca.logistic_fit_final(internal) RETURNS float8[]
  AS 'MODULE_PATHNAME', 'cobranca_logistic_fit_final'
  LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.logistic_fit_final(internal) IS
  'final function of cobranca.logistic_fit: runs the Newton iterations';
CREATE AGGREGATE cobranca.logistic_fit(x float8[], y boolean, lambda float8) (
  SFUNC = cobranca.logistic_fit_trans, STYPE = internal,
  FINALFUNC = cobranca.logistic_fit_final);
COMMENT ON AGGREGATE cobranca.logistic_fit(float8[], boolean, float8) IS
  'fits a logistic regression by Newton''s method (IRLS) with L2 penalty lambda on all but the intercept; returns the coefficients, intercept first';

CREATE FUNCTION cobranca.auc_trans(internal, float8, boolean) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_auc_trans'
  LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.auc_trans(internal, float8, boolean) IS
  'transition function of cobranca.auc';
CREATE FUNCTION cobranca.auc_final(internal) RETURNS float8
  AS 'MODULE_PATHNAME', 'cobranca_auc_final'
  LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.auc_final(internal) IS
  'final function of cobranca.auc';
CREATE AGGREGATE cobranca.auc(score float8, label boolean) (
  SFUNC = cobranca.auc_trans, STYPE = internal, FINALFUNC = cobranca.auc_final);
COMMENT ON AGGREGATE cobranca.auc(float8, boolean) IS
  'area under the ROC curve: chance that a random positive scores above a random negative (ties one half); NULL if a class is missing';

CREATE FUNCTION cobranca.priority_value(probability float8, updated_amount numeric, due_on date,
                                        limitation_on date, as_of date, rn593 boolean,
                                        notice_day integer) RETURNS numeric
  AS 'MODULE_PATHNAME', 'cobranca_priority_value'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.priority_value(float8, numeric, date, date, date, boolean, integer) IS
  'probability x updated amount, raised up to +100% in the last year before limitation_on (0 after it) and up to +50% from 15 days before the RN 593 notice day to day 50 of default; in BRL cents';

-- The features of the model.  This pair of functions is the ONE place
-- where they are defined: names here, values in score_features below, in
-- the same order.  Health data (claims, hospitalizations, procedures,
-- diagnoses) is never a feature: LGPD art. 11 §5 forbids operators to use
-- it to select risks (test/pgtap/score_features.sql checks it).
CREATE FUNCTION cobranca.score_feature_names() RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ARRAY[
    'days_overdue_log',            -- ln(1 + days past due)
    'amount_log',                  -- ln(1 + amount billed)
    'kind_copay',                  -- invoice kind (premium is the base)
    'kind_private',
    'kind_disallowance',
    'kind_installment',
    'late_invoices_12m',           -- payer's other invoices due in the last 12 months paid late or unpaid
    'mean_months_late_12m',        -- their mean delay, in 30-day months
    'open_disputes',               -- payer's disputes open on the day
    'plan_family',                 -- contract type (individual is the base)
    'plan_collective_membership',
    'plan_collective_business',
    'no_contract',                 -- clinic or hospital bill without a plan contract
    'contacts_made'                -- contacts of the cadence already made for this invoice
  ]::text[];
COMMENT ON FUNCTION cobranca.score_feature_names() IS
  'names of the payment-probability features, in the order of cobranca.score_features; never health data (LGPD art. 11 §5)';

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

CREATE TABLE cobranca.score_model (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  features       text[] NOT NULL
    CHECK (cobranca.check_members('score_model.features', features, cobranca.score_feature_names())),
  coefficients   float8[] NOT NULL
    CHECK (cobranca.check_finite('score_model.coefficients', coefficients)),
  lambda         float8,
  trained_as_of  date,
  training_size  bigint,
  holdout_size   bigint,
  holdout_auc    float8,
  previous_auc   float8,
  active         boolean NOT NULL DEFAULT false,
  shipped        boolean NOT NULL DEFAULT false,
  created_by     name NOT NULL DEFAULT session_user,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT score_model_sizes
    CHECK (cobranca.check_rule(cardinality(coefficients) = cardinality(features) + 1,
                               'score_model.coefficients does not match score_model.features',
                               'score_model has ' || cardinality(features) || ' features and ' || cardinality(coefficients)
                               || ' coefficients; it needs one coefficient per feature plus the intercept first.'))
);
CREATE UNIQUE INDEX score_model_one_active ON cobranca.score_model ((true)) WHERE active;
COMMENT ON TABLE cobranca.score_model IS
  'Versions (id) of the payment-probability model; exactly one is active.  The shipped default is row shipped = true';
COMMENT ON COLUMN cobranca.score_model.features IS 'feature names, as cobranca.score_feature_names() when the model was made';
COMMENT ON COLUMN cobranca.score_model.coefficients IS 'intercept first, then one per feature';
COMMENT ON COLUMN cobranca.score_model.lambda IS 'L2 penalty used in training';
COMMENT ON COLUMN cobranca.score_model.trained_as_of IS 'training used invoices settled before this day';
COMMENT ON COLUMN cobranca.score_model.training_size IS 'training examples (invoice snapshots) outside the holdout';
COMMENT ON COLUMN cobranca.score_model.holdout_size IS 'examples in the holdout (one invoice in five, by a hash of its id)';
COMMENT ON COLUMN cobranca.score_model.holdout_auc IS 'this model''s AUC on the holdout';
COMMENT ON COLUMN cobranca.score_model.previous_auc IS 'the AUC, on the same holdout, of the model active when this one was trained';
COMMENT ON COLUMN cobranca.score_model.shipped IS 'the default model shipped with the extension';

-- The shipped default: hand-set coefficients with the signs collection
-- teams expect (older, larger, often-late or disputed debts are paid less).
-- Its row is made by CREATE EXTENSION, never dumped, so it carries a fixed
-- date: a restored database has the same row.
INSERT INTO cobranca.score_model (features, coefficients, active, shipped, created_by, created_at)
VALUES (cobranca.score_feature_names(),
        ARRAY[2.0,                        -- intercept
              -0.45,                      -- days_overdue_log
              -0.15,                      -- amount_log
              0.20, -0.10, -0.40, 0.30,   -- copay, private, disallowance, installment
              -0.25, -0.30,               -- late_invoices_12m, mean_months_late_12m
              -0.60,                      -- open_disputes
              0.00, -0.10, 0.15, -0.10,   -- family, collective_membership, collective_business, no_contract
              0.05]::float8[],            -- contacts_made
        true, true, 'cobranca', '2026-11-01 00:00:00+00');
SELECT pg_catalog.pg_extension_config_dump('cobranca.score_model', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('cobranca.score_model_id_seq', '');

-- Scores of invoices on a day: the path used by the jobs and the worklist
-- (the single-invoice functions below share its computation).  C
-- (score_batch.c): the features of
-- cobranca.score_features gathered for all the invoices in one pass (a few
-- set-based statements merged payer by payer, never a subquery per
-- invoice), the active model, cobranca.invoice_charges and
-- cobranca.priority_value, with the same results as those SQL definitions
-- (test/pgtap/score_batch.sql compares them).
CREATE FUNCTION cobranca.score_invoices(invoice_ids bigint[], as_of date)
  RETURNS TABLE (invoice_id bigint, model_id bigint, probability float8,
                 updated_amount numeric, priority numeric)
  AS 'MODULE_PATHNAME', 'cobranca_score_invoices'
  LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION cobranca.score_invoices(bigint[], date) IS
  'payment probability (active model), updated amount and priority of the given invoices on a day; priority is 0 unless the invoice is open';

-- One invoice's scores: C (score_one.c), what score_invoices gives for it.
-- Without row security to apply they come from index probes of the
-- payer's rows, all the payer's invoices scored at once and kept while the
-- caller sees the same data (same transaction, subtransaction and command,
-- no other transaction finished since): a payment, dispute or new invoice
-- changes the next answer.  Under row security, through score_invoices.
CREATE FUNCTION cobranca.payment_probability(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS float8
  AS 'MODULE_PATHNAME', 'cobranca_payment_probability'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.payment_probability(bigint, date) IS
  'probability, by the active cobranca.score_model, that the invoice is paid within the next 30 days; NULL for an unknown invoice';

CREATE FUNCTION cobranca.priority(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS numeric
  AS 'MODULE_PATHNAME', 'cobranca_priority'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.priority(bigint, date) IS
  'expected recovery (probability x updated amount, BRL) raised as the 5-year limitation period and the RN 593 notice day near; 0 for invoices not open';

-- Training.
CREATE FUNCTION cobranca.train_score_model(as_of date, lambda float8 DEFAULT 1.0)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  -- the generic estimates of the set-based statements are huge: compiling
  -- them would cost more than running them
  SET jit = off
AS $$
DECLARE
  coef float8[];
  n_train bigint;
  n_hold bigint;
  new_auc float8;
  old_auc float8;
  cur record;
  new_id bigint;
  better boolean;
BEGIN
  IF NOT (pg_catalog.pg_has_role(session_user, 'cobranca_supervisor', 'member')
          OR pg_catalog.pg_has_role(session_user, 'cobranca_admin', 'member')) THEN
    RAISE EXCEPTION 'only supervisors and administrators train the score model'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- Examples: snapshots of invoices taken 1, 15, 30, 60, 90 and 180 days
  -- after the due date while still unpaid, whose next 30 days ended before
  -- as_of; label: paid within those 30 days.  Settled invoices (paid or
  -- written off) give the history; invoices still unpaid give the windows
  -- in which they were not paid, without which the model would learn only
  -- from debts that were eventually paid.  Disputed and cancelled ones and
  -- agreement installments stay out.
  IF pg_catalog.to_regclass('pg_temp.cobranca_training') IS NOT NULL THEN
    DROP TABLE pg_temp.cobranca_training;
  END IF;
  CREATE TEMP TABLE cobranca_training ON COMMIT DROP AS
    WITH ex AS MATERIALIZED (
      SELECT i.id AS invoice_id, i.due_on + k AS at,
             (i.paid_on IS NOT NULL AND i.paid_on <= i.due_on + k + 30) AS y,
             (pg_catalog.hashint8(i.id)::bigint % 5 = 0) AS holdout
        FROM cobranca.invoice i
        CROSS JOIN unnest(ARRAY[1, 15, 30, 60, 90, 180]) AS k
       WHERE (i.status = 'paid' AND i.paid_on < as_of OR i.status IN ('written_off', 'open', 'in_agreement'))
         AND i.kind <> 'installment'
         AND i.due_on + k + 30 <= as_of
         AND (i.paid_on IS NULL OR i.paid_on > i.due_on + k)
    ), arr AS (
      SELECT array_agg(invoice_id) AS ids, array_agg(at) AS ats FROM ex
    )
    SELECT ex.invoice_id, ex.at, ex.y, ex.holdout, f.x
      FROM arr
      CROSS JOIN LATERAL cobranca.score_features(arr.ids, arr.ats) f
      JOIN ex ON ex.invoice_id = f.invoice_id AND ex.at = f.at;

  SELECT cobranca.logistic_fit(t.x, t.y, lambda) FILTER (WHERE NOT t.holdout),
         count(*) FILTER (WHERE NOT t.holdout), count(*) FILTER (WHERE t.holdout)
    INTO coef, n_train, n_hold
    FROM pg_temp.cobranca_training t;
  IF n_train < 50 OR n_hold < 10 OR coef IS NULL
     OR NOT EXISTS (SELECT 1 FROM pg_temp.cobranca_training WHERE y)
     OR NOT EXISTS (SELECT 1 FROM pg_temp.cobranca_training WHERE NOT y) THEN
    RAISE EXCEPTION 'not enough settled history to train the score model'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('%s training and %s holdout examples before %s; at least 50 and 10 with both outcomes are needed.',
                                       n_train, n_hold, as_of),
            HINT = 'Train later, or keep the shipped default model.';
  END IF;

  SELECT id, features, coefficients INTO cur FROM cobranca.score_model WHERE active;
  SELECT cobranca.auc(cobranca.logistic(coef, t.x), t.y) INTO new_auc
    FROM pg_temp.cobranca_training t WHERE t.holdout;
  IF cur.id IS NOT NULL AND cur.features = cobranca.score_feature_names() THEN
    SELECT cobranca.auc(cobranca.logistic(cur.coefficients, t.x), t.y) INTO old_auc
      FROM pg_temp.cobranca_training t WHERE t.holdout;
  END IF;
  better := cur.id IS NULL OR old_auc IS NULL OR new_auc > old_auc;

  INSERT INTO cobranca.score_model (features, coefficients, lambda, trained_as_of,
                                    training_size, holdout_size, holdout_auc, previous_auc)
  VALUES (cobranca.score_feature_names(), coef, lambda, as_of, n_train, n_hold, new_auc, old_auc)
  RETURNING id INTO new_id;
  IF better THEN
    UPDATE cobranca.score_model SET active = false WHERE active;
    UPDATE cobranca.score_model SET active = true WHERE id = new_id;
  END IF;
  DROP TABLE pg_temp.cobranca_training;
  RAISE NOTICE 'score model %: holdout AUC % against % for model %; %',
    new_id, round(new_auc::numeric, 4), coalesce(round(old_auc::numeric, 4)::text, 'n/a'),
    coalesce(cur.id::text, 'none'), CASE WHEN better THEN 'activated' ELSE 'kept inactive' END;
  RETURN new_id;
END
$$;
COMMENT ON FUNCTION cobranca.train_score_model(date, float8) IS
  'fits the payment-probability model (C, Newton/IRLS with L2 penalty lambda) on 30-day windows of overdue invoices whose outcome was known before as_of, one invoice in five held out; activates it only if its holdout AUC beats the active model''s on the same holdout; returns the new model id';
REVOKE ALL ON FUNCTION cobranca.train_score_model(date, float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.train_score_model(date, float8) TO cobranca_supervisor, cobranca_admin;

-- Scores kept for the worklist and the cadence's score bands, refreshed by
-- the jobs.
CREATE TABLE cobranca.invoice_score (
  invoice_id     bigint PRIMARY KEY REFERENCES cobranca.invoice ON DELETE CASCADE,
  creditor_id    bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id   bigint NOT NULL REFERENCES cobranca.portfolio,
  as_of          date NOT NULL,
  model_id       bigint NOT NULL REFERENCES cobranca.score_model,
  balance        numeric(14,2) NOT NULL,
  probability    float8 NOT NULL,
  updated_amount numeric(14,2) NOT NULL,
  priority       numeric(14,2) NOT NULL,
  computed_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX invoice_score_portfolio_idx ON cobranca.invoice_score (portfolio_id, priority DESC);
COMMENT ON TABLE cobranca.invoice_score IS
  'Payment probability, updated amount and priority of the open overdue invoices, kept by the refresh_scores job (derived: a score is redone when the day, the active model or the balance changes)';
COMMENT ON COLUMN cobranca.invoice_score.balance IS 'the invoice''s balance when scored';
COMMENT ON COLUMN cobranca.invoice_score.as_of IS 'day (payer''s time zone) the score is for';
COMMENT ON COLUMN cobranca.invoice_score.probability IS 'payment probability within 30 days (cobranca.payment_probability)';
COMMENT ON COLUMN cobranca.invoice_score.updated_amount IS 'balance + fine + interest on as_of (cobranca.updated_amount)';
COMMENT ON COLUMN cobranca.invoice_score.priority IS 'cobranca.priority on as_of';

CREATE FUNCTION cobranca.refresh_scores(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  -- the generic estimates of the set-based statements are huge: compiling
  -- them would cost more than running them
  SET jit = off
AS $$
DECLARE
  n bigint := 0;
  d date;
  ids bigint[];
  model bigint := (SELECT m.id FROM cobranca.score_model m WHERE m.active);
BEGIN
  -- invoices no longer open and overdue leave the table
  DELETE FROM cobranca.invoice_score s
   USING cobranca.invoice i, cobranca.payer p
   WHERE i.id = s.invoice_id AND p.id = i.payer_id
     AND NOT (i.status = 'open' AND i.due_on < (refresh_scores.as_of AT TIME ZONE p.timezone)::date);
  -- one pass per local day in use (payers live in up to four time zones);
  -- only scores of another day, another model or another balance are redone,
  -- so that a second run on the same day costs little
  FOR d IN SELECT DISTINCT (refresh_scores.as_of AT TIME ZONE p.timezone)::date
             FROM cobranca.payer p LOOP
    SELECT array_agg(i.id) INTO ids
      FROM cobranca.invoice i
      JOIN cobranca.payer p ON p.id = i.payer_id
      LEFT JOIN cobranca.invoice_score s ON s.invoice_id = i.id
     WHERE i.status = 'open' AND i.due_on < d
       AND (refresh_scores.as_of AT TIME ZONE p.timezone)::date = d
       AND (s.invoice_id IS NULL OR s.as_of <> d OR s.model_id <> model OR s.balance <> i.balance);
    CONTINUE WHEN ids IS NULL;
    INSERT INTO cobranca.invoice_score AS t (invoice_id, creditor_id, portfolio_id, as_of, model_id,
                                             balance, probability, updated_amount, priority)
    SELECT s.invoice_id, i.creditor_id, i.portfolio_id, d, s.model_id,
           i.balance, s.probability, s.updated_amount, s.priority
      FROM cobranca.score_invoices(ids, d) s
      JOIN cobranca.invoice i ON i.id = s.invoice_id
    -- the key by name: on a distributed cluster it gains creditor_id (doc/scaling.md)
    ON CONFLICT ON CONSTRAINT invoice_score_pkey DO UPDATE
       SET as_of = EXCLUDED.as_of, model_id = EXCLUDED.model_id, balance = EXCLUDED.balance,
           probability = EXCLUDED.probability, updated_amount = EXCLUDED.updated_amount,
           priority = EXCLUDED.priority, computed_at = pg_catalog.now();
    n := n + cardinality(ids);
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.refresh_scores(timestamptz) IS
  'job: keeps cobranca.invoice_score for every open overdue invoice as of the instant''s day in each payer''s time zone, redoing only scores of another day, model or balance; returns how many invoices were scored';
REVOKE ALL ON FUNCTION cobranca.refresh_scores(timestamptz) FROM PUBLIC;

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('refresh_scores', 40, 'cobranca.refresh_scores(timestamptz)',
        'payment probability, updated amount and priority of open overdue invoices');

-- privileges and row-level security of these tables: 97_security.sql

-- The analyst's worklist: one line per payer with open overdue invoices in
-- a portfolio assigned to the current user (a superuser sees all), highest
-- priority first, with the scores of the last refresh_scores run.  It
-- shows the payer's masked document and never health data.
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
