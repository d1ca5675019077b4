-- Run by bench/score.sh inside a throwaway cluster: loads :invoices open
-- overdue invoices and times the C scoring path against PL/pgSQL versions
-- of the same functions in the same statements.
\set ON_ERROR_STOP 1
\pset footer off
CREATE SCHEMA bench;
-- as in refresh_scores: JIT compilation of these statements costs more
-- than running them (their generic row estimates are far too high)
SET jit = off;

-------------------------------------------------------------- the data
\echo == loading :invoices open invoices (and twice as many paid ones)
SET session_replication_role = replica;   -- bulk load: no per-row triggers
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, city, uf, pix_key)
  VALUES ('Operadora Bench', '11222333000181', 'health_plan', '400001', 'São Paulo', 'SP', 'pix@bench.example');
INSERT INTO cobranca.portfolio (creditor_id, name) VALUES (1, 'bench');
INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name, email, phone)
  SELECT 1, 1, 'P' || g, '***.000.000-**', 'Pagador ' || g, 'p' || g || '@bench.example', '1199' || lpad(g::text, 7, '0')
    FROM generate_series(1, greatest(:invoices / 2, 1)) g;
INSERT INTO cobranca.contract (creditor_id, portfolio_id, payer_id, external_id, number, plan_name, plan_type,
                               paid_by_person, starts_on)
  SELECT 1, 1, id, external_id, 'C' || id, 'Plano Bench',
         (ARRAY['individual', 'family', 'collective_membership', 'collective_business'])[1 + id % 4],
         id % 4 < 2, '2024-01-01'
    FROM cobranca.payer;
-- four paid premiums (some late) and two unpaid ones per payer
INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, contract_id, external_id, kind, competence,
                              issued_on, due_on, amount, paid_total, balance, status, paid_on, last_payment_on)
  SELECT 1, 1, c.payer_id, c.id, c.id || '-' || m,
         CASE WHEN m = 6 AND c.id % 3 = 0 THEN 'copay' ELSE 'premium' END,
         date_trunc('month', current_date - (7 - m) * 30)::date,
         current_date - (7 - m) * 30 - 10, current_date - (7 - m) * 30, a.amount,
         CASE WHEN m <= 4 THEN a.amount ELSE 0 END,
         CASE WHEN m <= 4 THEN 0 ELSE a.amount END,
         CASE WHEN m <= 4 THEN 'paid' ELSE 'open' END,
         CASE WHEN m <= 4 THEN current_date - (7 - m) * 30 + ((c.id * m) % 40)::integer - 5 END,
         CASE WHEN m <= 4 THEN current_date - (7 - m) * 30 + ((c.id * m) % 40)::integer - 5 END
    FROM cobranca.contract c, generate_series(1, 6) m,
         LATERAL (SELECT (100 + (c.id * 7919 + m * 104729) % 2900)::numeric(14,2) AS amount) a;
-- a few disputes and contacts, so that those features have data
INSERT INTO cobranca.dispute (creditor_id, invoice_id, opened_on, reason)
  SELECT 1, id, due_on + 5, 'bench' FROM cobranca.invoice WHERE status = 'open' AND id % 50 = 0;
UPDATE cobranca.invoice SET open_disputes = 1 WHERE id IN (SELECT invoice_id FROM cobranca.dispute);
INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at, status)
  SELECT 1, 1, payer_id, ARRAY[id], 'email', due_on + 3, (due_on + 3) + time '10:00', 'sent'
    FROM cobranca.invoice WHERE status = 'open' AND id % 7 = 0;
RESET session_replication_role;
VACUUM ANALYZE;
SELECT count(*) FILTER (WHERE status = 'open') AS open_invoices, count(*) AS all_invoices,
       (SELECT count(*) FROM cobranca.payer) AS payers
  FROM cobranca.invoice;

---------------------------------------- the same model in PL/pgSQL
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
                     i.kind = 'premium' AND (c.plan_type IN ('individual', 'family') OR c.paid_by_person),
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

------------------------------------------------------------- timing
CREATE TABLE bench.result (step text, impl text, run integer, rows bigint, ms numeric, cpu_ms numeric);
-- CPU time of this backend (user + system, /proc/self/stat, 10 ms ticks):
-- steadier than the wall clock on a shared machine
CREATE FUNCTION bench.cpu_ms() RETURNS numeric
  LANGUAGE sql AS $$
  SELECT (split_part(s, ' ', 12)::numeric + split_part(s, ' ', 13)::numeric) * 10
    FROM (SELECT split_part(pg_read_file('/proc/self/stat'), ') ', 2) AS s) x $$;
CREATE FUNCTION bench.time(step text, impl text, run integer, q text) RETURNS void
  LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  c0 numeric := bench.cpu_ms();
  n bigint;
BEGIN
  EXECUTE q INTO n;
  INSERT INTO bench.result VALUES (step, impl, run, n,
    round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1), bench.cpu_ms() - c0);
END $$;

CREATE TABLE bench.ids AS SELECT array_agg(id ORDER BY id) AS ids FROM cobranca.invoice WHERE status = 'open';
CREATE TABLE bench.f AS
  SELECT f.* FROM bench.ids, cobranca.score_features(ids, array_fill(current_date, ARRAY[cardinality(ids)])) f;
CREATE TABLE bench.model AS SELECT coefficients FROM cobranca.score_model WHERE active;

\echo == timing (best of :runs runs)
\o /dev/null
SELECT bench.time('features (SQL definition)', 'sql', r,
    $q$SELECT count(*) FROM bench.ids, cobranca.score_features(ids, array_fill(current_date, ARRAY[cardinality(ids)]))$q$)
  FROM generate_series(1, :runs) r;
SELECT bench.time('logistic over feature vectors', i, r,
    format($q$SELECT count(%s.logistic(m.coefficients, f.x)) FROM bench.f, bench.model m$q$, i))
  FROM generate_series(1, :runs) r, (VALUES ('cobranca'), ('bench')) v(i);
SELECT bench.time('late charges of every invoice', i, r,
    format($q$SELECT count(*) FROM cobranca.invoice i CROSS JOIN LATERAL
               %s.late_charges(i.balance, i.due_on, current_date, 2, 1, 0, false) c
              WHERE i.status = 'open'$q$, i))
  FROM generate_series(1, :runs) r, (VALUES ('cobranca'), ('bench')) v(i);
SELECT bench.time('priority of every invoice', i, r,
    format($q$SELECT count(%s.priority_value(0.5, i.balance, i.due_on, i.due_on + 1826, current_date, true, 35))
                FROM cobranca.invoice i WHERE i.status = 'open'$q$, i))
  FROM generate_series(1, :runs) r, (VALUES ('cobranca'), ('bench')) v(i);
SELECT bench.time('score_invoices end to end', i, r,
    format($q$SELECT count(*) FROM bench.ids, %s.score_invoices(ids, current_date)$q$, i))
  FROM generate_series(1, :runs) r, (VALUES ('cobranca'), ('bench')) v(i);
SELECT bench.time('payment_probability, one call per invoice (first 2000)', 'cobranca', r,
    $q$SELECT count(cobranca.payment_probability(id, current_date))
         FROM (SELECT id FROM cobranca.invoice WHERE status = 'open' ORDER BY id LIMIT 2000) x$q$)
  FROM generate_series(1, :runs) r;

\o
\echo == same results?
CREATE TABLE bench.c_scores AS SELECT s.* FROM bench.ids, cobranca.score_invoices(ids, current_date) s;
CREATE TABLE bench.p_scores AS SELECT s.* FROM bench.ids, bench.score_invoices(ids, current_date) s;
ANALYZE bench.c_scores, bench.p_scores;
SELECT count(*) AS invoices,
       count(*) FILTER (WHERE abs(c.probability - p.probability) > 1e-12) AS probability_differs,
       count(*) FILTER (WHERE c.updated_amount <> p.updated_amount) AS updated_amount_differs,
       count(*) FILTER (WHERE c.priority <> p.priority) AS priority_differs
  FROM bench.c_scores c JOIN bench.p_scores p USING (invoice_id);

\echo == results (ms, best run; rows per second; C speed-up over PL/pgSQL; the same in backend CPU time)
SELECT r.step,
       min(r.rows) AS rows,
       min(r.ms) FILTER (WHERE r.impl IN ('cobranca', 'sql')) AS c_ms,
       min(r.ms) FILTER (WHERE r.impl = 'bench') AS plpgsql_ms,
       round(min(r.rows) / NULLIF(min(r.ms) FILTER (WHERE r.impl IN ('cobranca', 'sql')), 0) * 1000) AS c_rows_per_s,
       round(min(r.rows) / NULLIF(min(r.ms) FILTER (WHERE r.impl = 'bench'), 0) * 1000) AS plpgsql_rows_per_s,
       round(min(r.ms) FILTER (WHERE r.impl = 'bench') / NULLIF(min(r.ms) FILTER (WHERE r.impl IN ('cobranca', 'sql')), 0), 2) AS speedup,
       min(r.cpu_ms) FILTER (WHERE r.impl IN ('cobranca', 'sql')) AS c_cpu_ms,
       min(r.cpu_ms) FILTER (WHERE r.impl = 'bench') AS plpgsql_cpu_ms,
       round(min(r.cpu_ms) FILTER (WHERE r.impl = 'bench') / NULLIF(min(r.cpu_ms) FILTER (WHERE r.impl IN ('cobranca', 'sql')), 0), 2) AS cpu_speedup
  FROM bench.result r
 GROUP BY r.step
 ORDER BY min(r.ms) FILTER (WHERE r.impl IN ('cobranca', 'sql'));
