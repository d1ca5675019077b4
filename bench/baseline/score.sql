-- Baseline of figure 2 (bench/run): the scoring model written in PL/pgSQL.
-- The logistic model, the late charges (fine and interest, cents rounded
-- half-even) and the priority are the C functions' rules line by line; the
-- set-based statements (cobranca.score_invoices, cobranca.invoice_charges) are
-- the extension's own, copied from the catalog with the C calls swapped for
-- these, so that both sides read the same features the same way.
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

-- the extension's own statements, with the C functions swapped for these
DO $$
DECLARE
  src text;
BEGIN
  src := pg_get_functiondef('cobranca.invoice_charges(bigint[], date)'::regprocedure);
  src := replace(src, 'cobranca.invoice_charges(', 'bench.invoice_charges(');
  src := replace(src, 'cobranca.late_charges(', 'bench.late_charges(');
  EXECUTE src;
  src := pg_get_functiondef('cobranca.score_invoices(bigint[], date)'::regprocedure);
  src := replace(src, 'cobranca.score_invoices(', 'bench.score_invoices(');
  src := replace(src, 'cobranca.invoice_charges(', 'bench.invoice_charges(');
  src := replace(src, 'cobranca.logistic(', 'bench.logistic(');
  src := replace(src, 'cobranca.priority_value(', 'bench.priority_value(');
  EXECUTE src;
  -- a renamed C function would leave the baseline calling C: refuse
  IF pg_get_functiondef('bench.score_invoices(bigint[], date)'::regprocedure)
       ~ 'cobranca\.(logistic|priority_value|late_charges|invoice_charges)\('
     OR pg_get_functiondef('bench.invoice_charges(bigint[], date)'::regprocedure)
       ~ 'cobranca\.(late_charges|invoice_charges)\(' THEN
    RAISE EXCEPTION 'baseline scoring still calls the C functions';
  END IF;
END $$;

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
