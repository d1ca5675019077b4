-- Baseline of figure 2 (bench/run): the scoring model written in PL/pgSQL.
-- The logistic model, the late charges (fine and interest, cents rounded
-- half-even) and the priority are the C functions' rules line by line; the
-- features come from the extension's SQL definition (score_features) and the
-- updated amounts from its invoice_charges statement with the C late charges
-- swapped for PL/pgSQL: what cobranca.score_invoices (C, one pass) computes.
-- bench/run compares every invoice's probability, updated amount and
-- priority from both before timing them.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;
RESET client_min_messages;

CREATE FUNCTION bench.logistic(coefficients float8[], x float8[]) RETURNS float8
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  z float8 := coefficients[1];
BEGIN
  IF cardinality(coefficients) <> cardinality(x) + 1 THEN
    RAISE EXCEPTION 'model and feature vector do not match';
  END IF;
  FOR j IN 1 .. cardinality(x) LOOP
    z := z + coefficients[j + 1] * x[j];
  END LOOP;
  IF z >= 0 THEN
    RETURN 1 / (1 + exp(-z));
  END IF;
  RETURN exp(z) / (1 + exp(z));
END $$;

-- cents rounded half-even
CREATE FUNCTION bench.round_half_even(v numeric) RETURNS numeric
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  c numeric := v * 100;
  t numeric := trunc(c);
BEGIN
  IF abs(c - t) = 0.5 THEN
    RETURN (CASE WHEN t % 2 = 0 THEN t ELSE t + sign(c) END) / 100;
  END IF;
  RETURN round(c) / 100;
END $$;

CREATE FUNCTION bench.late_charges(balance numeric, due_on date, as_of date, fine_pct numeric,
    interest_month_pct numeric, disputed_days integer DEFAULT 0, disputed boolean DEFAULT false,
    OUT principal numeric, OUT fine numeric, OUT interest numeric, OUT total numeric)
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  days integer;
BEGIN
  principal := round(greatest(balance, 0), 2);
  fine := 0;
  interest := 0;
  IF as_of > due_on THEN
    days := greatest((as_of - due_on) - greatest(disputed_days, 0), 0);
    IF NOT disputed THEN
      fine := bench.round_half_even(principal * least(greatest(fine_pct, 0), 2) / 100);
    END IF;
    interest := bench.round_half_even(principal * least(greatest(interest_month_pct, 0), 1) / 100 * days / 30);
  END IF;
  total := principal + fine + interest;
END $$;

CREATE FUNCTION bench.priority_value(probability float8, updated_amount numeric, due_on date,
    limitation_on date, as_of date, rn593 boolean, notice_day integer) RETURNS numeric
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  urgency float8 := 1;
  left_days integer := limitation_on - as_of;
  overdue integer := as_of - due_on;
  start integer := notice_day - 15;
BEGIN
  IF left_days <= 0 OR updated_amount <= 0 OR NOT probability > 0 THEN
    RETURN 0.00;
  END IF;
  IF left_days < 365 THEN
    urgency := urgency + (365 - left_days) / 365.0;
  END IF;
  IF rn593 AND overdue >= start AND overdue <= 50 THEN
    urgency := urgency + 0.5 * least(1.0, (overdue - start + 1) / 15.0);
  END IF;
  RETURN round((least(probability, 1.0) * (updated_amount * 100)::float8 * urgency)::numeric) / 100;
END $$;

-- the extension's updated-amount statement with the C late charges swapped
-- for the PL/pgSQL ones
DO $$
DECLARE
  src text;
BEGIN
  src := pg_get_functiondef('cobranca.invoice_charges(bigint[], date)'::regprocedure);
  src := replace(src, 'cobranca.invoice_charges(', 'bench.invoice_charges(');
  src := replace(src, 'cobranca.late_charges(', 'bench.late_charges(');
  EXECUTE src;
END $$;

-- The baseline of cobranca.score_invoices (C, one pass): the same model
-- written with SQL and PL/pgSQL only.  The features come from the
-- extension's own SQL definition (cobranca.score_features, set-based, what
-- training uses), the updated amount from invoice_charges above, the
-- logistic and the priority from the PL/pgSQL functions above: the
-- statement the extension itself ran before its scoring moved to C.
CREATE FUNCTION bench.score_invoices(invoice_ids bigint[], as_of date)
  RETURNS TABLE (invoice_id bigint, model_id bigint, probability float8,
                 updated_amount numeric, priority numeric)
  LANGUAGE sql STABLE AS $$
  WITH m AS (
    SELECT id, coefficients FROM cobranca.score_model WHERE active
  ), f AS (
    SELECT * FROM cobranca.score_features(invoice_ids,
                                          array_fill(as_of, ARRAY[cardinality(invoice_ids)]))
  )
  SELECT i.id, m.id, p.probability, ch.total,
         CASE WHEN i.status = 'open'
              THEN bench.priority_value(p.probability, ch.total, i.due_on,
                     (i.due_on + interval '5 years')::date, as_of,
                     i.kind = 'premium' AND coalesce(cobranca.rn593_subject(c.plan_type, c.paid_by_person), false),
                     cr.notice_day)
              ELSE 0 END
    FROM f
    JOIN cobranca.invoice i ON i.id = f.invoice_id
    JOIN cobranca.creditor cr ON cr.id = i.creditor_id
    LEFT JOIN cobranca.contract c ON c.id = i.contract_id
    CROSS JOIN LATERAL bench.invoice_charges(ARRAY[i.id], as_of) ch
    CROSS JOIN m
    CROSS JOIN LATERAL (SELECT bench.logistic(m.coefficients, f.x) AS probability) p
$$;

-- the per-invoice entry points, as cobranca.payment_probability and
-- cobranca.priority are written, over the PL/pgSQL statement
CREATE FUNCTION bench.payment_probability(invoice_id bigint, as_of date)
  RETURNS float8 LANGUAGE plpgsql STABLE
  SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN (SELECT s.probability FROM bench.score_invoices(ARRAY[invoice_id], as_of) s);
END $$;
CREATE FUNCTION bench.priority(invoice_id bigint, as_of date)
  RETURNS numeric LANGUAGE plpgsql STABLE
  SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN (SELECT s.priority FROM bench.score_invoices(ARRAY[invoice_id], as_of) s);
END $$;
