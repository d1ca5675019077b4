-- The claims ratio (sinistralidade, SPEC §2.6): an exact aggregate in C and
-- the per-contract rolling 12-month report built on it.
--
-- Claims are health data: supervisors see them only as aggregates (SPEC §3),
-- never row by row.  So these views run with their owner's rights over the
-- claim rows and filter by portfolio themselves, with the rule of
-- cobranca.visible_portfolio (the portfolios assigned to the caller's login,
-- its ERP's creditor, or everything for a role that bypasses row-level
-- security) written as a set, cobranca.visible_portfolio_ids().  They are security_barrier, so that no function in a caller's WHERE
-- clause sees a row before that filter has removed it.  SELECT on them is
-- granted to supervisors and administrators only.

CREATE FUNCTION cobranca.claims_ratio_trans(internal, numeric, numeric) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_trans'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_trans(internal, numeric, numeric) IS
  'claims_ratio aggregate: adds one row (claims, premiums) to the state, in integer cents; NULLs add nothing';

CREATE FUNCTION cobranca.claims_ratio_inv(internal, numeric, numeric) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_inv'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_inv(internal, numeric, numeric) IS
  'claims_ratio aggregate, moving-window mode: removes a row added before (exact, integer cents)';

CREATE FUNCTION cobranca.claims_ratio_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_combine'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_combine(internal, internal) IS
  'claims_ratio aggregate: adds two partial states (parallel aggregation)';

CREATE FUNCTION cobranca.claims_ratio_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_serialize'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_serialize(internal) IS
  'claims_ratio aggregate: the state as 32 bytes (two 128-bit sums of cents), to pass between parallel workers';

CREATE FUNCTION cobranca.claims_ratio_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_deserialize'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_deserialize(bytea, internal) IS
  'claims_ratio aggregate: reads a state written by claims_ratio_serialize';

CREATE FUNCTION cobranca.claims_ratio_final(internal) RETURNS numeric
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_final'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_final(internal) IS
  'claims_ratio aggregate: claims ÷ premiums × 100, rounded half away from zero to 2 decimals; NULL when premiums are 0';

CREATE AGGREGATE cobranca.claims_ratio(claims numeric, premiums numeric) (
  SFUNC        = cobranca.claims_ratio_trans,
  STYPE        = internal,
  SSPACE       = 32,
  FINALFUNC    = cobranca.claims_ratio_final,
  COMBINEFUNC  = cobranca.claims_ratio_combine,
  SERIALFUNC   = cobranca.claims_ratio_serialize,
  DESERIALFUNC = cobranca.claims_ratio_deserialize,
  MSFUNC       = cobranca.claims_ratio_trans,
  MINVFUNC     = cobranca.claims_ratio_inv,
  MSTYPE       = internal,
  MSSPACE      = 32,
  MFINALFUNC   = cobranca.claims_ratio_final,
  PARALLEL     = SAFE
);
COMMENT ON AGGREGATE cobranca.claims_ratio(numeric, numeric) IS
  'Claims ratio (sinistralidade) in percent: sum(claims) ÷ sum(premiums) × 100, exact (integer cents), 2 decimals, NULL when premiums add up to 0; NULL arguments add nothing; parallel safe; as a window aggregate over a moving frame it removes rows exactly (e.g. ROWS BETWEEN 11 PRECEDING AND CURRENT ROW for 12 months)';

-- The portfolios the calling role may see, as a set: the rule of
-- cobranca.visible_portfolio, for views that read as their owner and filter
-- many rows (one evaluation per query instead of one call per row).
CREATE FUNCTION cobranca.visible_portfolio_ids() RETURNS SETOF bigint
  LANGUAGE sql STABLE PARALLEL SAFE AS
$$
  SELECT p.id FROM cobranca.portfolio p
   WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
  UNION
  SELECT a.portfolio_id FROM cobranca.assignment a WHERE a.login = CURRENT_USER
  UNION
  SELECT p.id FROM cobranca.erp_login e JOIN cobranca.portfolio p ON p.creditor_id = e.creditor_id
   WHERE e.login = CURRENT_USER
$$;
COMMENT ON FUNCTION cobranca.visible_portfolio_ids() IS
  'ids of the portfolios the current role may see (assigned to it, its ERP''s creditor, or all for a role that bypasses row-level security): cobranca.visible_portfolio as a set, for views that aggregate as their owner';

-- Claims and premiums received, per contract and month: the input of the
-- rolling report.  A premium is "received" in the month of the payment, in
-- the creditor's time zone (cash basis), whatever month it billed.
CREATE VIEW cobranca.claims_premiums_monthly WITH (security_barrier = true) AS
SELECT f.creditor_id,
       f.portfolio_id,
       f.contract_id,
       f.month,
       pg_catalog.sum(f.claims)   AS claims,
       pg_catalog.sum(f.premiums) AS premiums_received
  FROM (SELECT ct.creditor_id, ct.portfolio_id, cl.contract_id,
               pg_catalog.date_trunc('month', cl.occurred_on::timestamp)::date AS month,
               cl.amount AS claims, NULL::numeric AS premiums
          FROM cobranca.claim cl
          JOIN cobranca.contract ct ON ct.id = cl.contract_id
        UNION ALL
        SELECT ct.creditor_id, ct.portfolio_id, i.contract_id,
               pg_catalog.date_trunc('month', p.paid_at AT TIME ZONE cr.timezone)::date,
               NULL::numeric, p.amount
          FROM cobranca.payment p
          JOIN cobranca.invoice i ON i.id = p.invoice_id
          JOIN cobranca.contract ct ON ct.id = i.contract_id
          JOIN cobranca.creditor cr ON cr.id = i.creditor_id
         WHERE i.kind = 'premium') f
 WHERE f.portfolio_id IN (SELECT v.id FROM cobranca.visible_portfolio_ids() AS v(id))
 GROUP BY f.creditor_id, f.portfolio_id, f.contract_id, f.month;
COMMENT ON VIEW cobranca.claims_premiums_monthly IS
  'Claims cost and premiums received per contract and month (months with either); health data: for supervisors and BI, never analysts';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.creditor_id IS 'the operator';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.portfolio_id IS 'the contract''s portfolio: a caller sees those assigned to its login';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.contract_id IS 'the contract';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.month IS 'first day of the month: occurred_on for claims, payment date in the creditor''s time zone for premiums';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.claims IS 'sum of claim amounts that occurred in the month (NULL: none)';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.premiums_received IS 'sum of payments received in the month on the contract''s premium invoices (NULL: none)';

CREATE VIEW cobranca.claims_ratio_report WITH (security_barrier = true) AS
WITH active AS (
  SELECT m.*,
         pg_catalog.lead(m.month) OVER (PARTITION BY m.contract_id ORDER BY m.month) AS next_month
    FROM cobranca.claims_premiums_monthly m
), dense AS (
  -- one row a month from the contract's first activity until its window
  -- empties (12 months after the last) or the current month, whichever
  -- comes first: each month with activity stands for itself and for the
  -- empty months up to the next one.  One pass over the monthly figures,
  -- and a filter on contract_id reaches the tables' indexes.
  SELECT a.creditor_id, a.contract_id, g.month::date AS month,
         CASE WHEN g.month = a.month THEN a.claims END AS claims,
         CASE WHEN g.month = a.month THEN a.premiums_received END AS premiums
    FROM active a,
         LATERAL pg_catalog.generate_series(
           a.month::timestamp,
           COALESCE(a.next_month - interval '1 month',
                    GREATEST(a.month::timestamp,
                             LEAST(a.month + interval '11 months',
                                   pg_catalog.date_trunc('month', CURRENT_DATE::timestamp)))),
           interval '1 month') AS g(month)
), rolled AS (
  SELECT d.creditor_id, d.contract_id, d.month,
         COALESCE(d.claims, 0) AS claims_month,
         COALESCE(d.premiums, 0) AS premiums_month,
         COALESCE(pg_catalog.sum(d.claims) OVER w, 0) AS claims_12m,
         COALESCE(pg_catalog.sum(d.premiums) OVER w, 0) AS premiums_12m,
         cobranca.claims_ratio(d.claims, d.premiums) OVER w AS claims_ratio_pct,
         pg_catalog.count(*) OVER w AS months_in_window
    FROM dense d
  WINDOW w AS (PARTITION BY d.contract_id ORDER BY d.month
               RANGE BETWEEN interval '11 months' PRECEDING AND CURRENT ROW)
)
SELECT r.creditor_id,
       ct.portfolio_id,
       r.contract_id,
       ct.number AS contract_number,
       r.month,
       r.claims_month,
       r.premiums_month,
       r.claims_12m,
       r.premiums_12m,
       r.claims_ratio_pct,
       r.months_in_window::integer AS months_in_window,
       cr.claims_break_even_pct AS break_even_pct,
       COALESCE(r.claims_ratio_pct > cr.claims_break_even_pct, false) AS above_break_even
  FROM rolled r
  JOIN cobranca.contract ct ON ct.id = r.contract_id
  JOIN cobranca.creditor cr ON cr.id = r.creditor_id
 WHERE ct.portfolio_id IN (SELECT v.id FROM cobranca.visible_portfolio_ids() AS v(id));
COMMENT ON VIEW cobranca.claims_ratio_report IS
  'Claims ratio per creditor, contract and month over the rolling 12 months ending with that month (SPEC §2.6); health data: for supervisors and BI, never analysts';
COMMENT ON COLUMN cobranca.claims_ratio_report.creditor_id IS 'the operator';
COMMENT ON COLUMN cobranca.claims_ratio_report.portfolio_id IS 'the contract''s portfolio: a caller sees those assigned to its login';
COMMENT ON COLUMN cobranca.claims_ratio_report.contract_id IS 'the contract';
COMMENT ON COLUMN cobranca.claims_ratio_report.contract_number IS 'the contract''s number as the operator knows it';
COMMENT ON COLUMN cobranca.claims_ratio_report.month IS 'first day of the last month of the window';
COMMENT ON COLUMN cobranca.claims_ratio_report.claims_month IS 'claims cost that occurred in this month, BRL';
COMMENT ON COLUMN cobranca.claims_ratio_report.premiums_month IS 'premiums received in this month (payments on premium invoices, by payment date in the creditor''s time zone), BRL';
COMMENT ON COLUMN cobranca.claims_ratio_report.claims_12m IS 'claims cost of the 12 months ending with month, BRL';
COMMENT ON COLUMN cobranca.claims_ratio_report.premiums_12m IS 'premiums received in the 12 months ending with month, BRL';
COMMENT ON COLUMN cobranca.claims_ratio_report.claims_ratio_pct IS 'claims_12m ÷ premiums_12m × 100, 2 decimals (cobranca.claims_ratio); NULL when no premium was received in the window';
COMMENT ON COLUMN cobranca.claims_ratio_report.months_in_window IS 'months of the window since the contract''s first activity (12 once it has a full year)';
COMMENT ON COLUMN cobranca.claims_ratio_report.break_even_pct IS 'the creditor''s break-even claims ratio (creditor.claims_break_even_pct, default 70)';
COMMENT ON COLUMN cobranca.claims_ratio_report.above_break_even IS 'claims_ratio_pct is above break_even_pct (false when the ratio is NULL)';
