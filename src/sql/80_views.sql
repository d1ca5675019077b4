-- The claims ratio (sinistralidade, SPEC §2.6): an exact aggregate in C and
-- the per-contract rolling 12-month report built on it.
--
-- Views here are security_invoker: they read the tables with the caller's
-- privileges, so the row-level security of claim, payment, invoice and
-- contract applies to whoever queries them (a supervisor sees the figures
-- of their portfolios only; an analyst, who may not read claims, gets
-- nothing from the claims side).

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

-- Claims and premiums received, per contract and month: the input of the
-- rolling report.  A premium is "received" in the month of the payment, in
-- the creditor's time zone (cash basis), whatever month it billed.
CREATE VIEW cobranca.claims_premiums_monthly WITH (security_invoker = true) AS
SELECT f.creditor_id,
       f.contract_id,
       f.month,
       pg_catalog.sum(f.claims)   AS claims,
       pg_catalog.sum(f.premiums) AS premiums_received
  FROM (SELECT cl.creditor_id, cl.contract_id,
               pg_catalog.date_trunc('month', cl.occurred_on)::date AS month,
               cl.amount AS claims, NULL::numeric AS premiums
          FROM cobranca.claim cl
        UNION ALL
        SELECT i.creditor_id, i.contract_id,
               pg_catalog.date_trunc('month', p.paid_at AT TIME ZONE cr.timezone)::date,
               NULL::numeric, p.amount
          FROM cobranca.payment p
          JOIN cobranca.invoice i ON i.id = p.invoice_id
          JOIN cobranca.creditor cr ON cr.id = i.creditor_id
         WHERE i.kind = 'premium') f
 GROUP BY f.creditor_id, f.contract_id, f.month;
COMMENT ON VIEW cobranca.claims_premiums_monthly IS
  'Claims cost and premiums received per contract and month (months with either); health data: for supervisors and BI, never analysts';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.month IS 'first day of the month: occurred_on for claims, payment date in the creditor''s time zone for premiums';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.claims IS 'sum of claim amounts that occurred in the month (NULL: none)';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.premiums_received IS 'sum of payments received in the month on the contract''s premium invoices (NULL: none)';

CREATE VIEW cobranca.claims_ratio_report WITH (security_invoker = true) AS
WITH span AS (
  SELECT m.creditor_id, m.contract_id,
         pg_catalog.min(m.month) AS first_month, pg_catalog.max(m.month) AS last_month
    FROM cobranca.claims_premiums_monthly m
   GROUP BY m.creditor_id, m.contract_id
), grid AS (
  -- every month from the contract's first activity until its window empties
  -- (12 months after the last) or the current month, whichever comes first
  SELECT s.creditor_id, s.contract_id, g.month::date AS month
    FROM span s,
         LATERAL pg_catalog.generate_series(
           s.first_month::timestamp,
           GREATEST(s.last_month::timestamp,
                    LEAST(s.last_month + interval '11 months',
                          pg_catalog.date_trunc('month', CURRENT_DATE::timestamp))),
           interval '1 month') AS g(month)
), rolled AS (
  SELECT g.creditor_id, g.contract_id, g.month,
         COALESCE(m.claims, 0) AS claims_month,
         COALESCE(m.premiums_received, 0) AS premiums_month,
         pg_catalog.sum(COALESCE(m.claims, 0)) OVER w AS claims_12m,
         pg_catalog.sum(COALESCE(m.premiums_received, 0)) OVER w AS premiums_12m,
         cobranca.claims_ratio(m.claims, m.premiums_received) OVER w AS claims_ratio_pct,
         pg_catalog.count(*) OVER w AS months_in_window
    FROM grid g
    LEFT JOIN cobranca.claims_premiums_monthly m
      ON m.contract_id = g.contract_id AND m.month = g.month
  WINDOW w AS (PARTITION BY g.contract_id ORDER BY g.month
               ROWS BETWEEN 11 PRECEDING AND CURRENT ROW)
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
  JOIN cobranca.creditor cr ON cr.id = r.creditor_id;
COMMENT ON VIEW cobranca.claims_ratio_report IS
  'Claims ratio per creditor, contract and month over the rolling 12 months ending with that month (SPEC §2.6); health data: for supervisors and BI, never analysts';
COMMENT ON COLUMN cobranca.claims_ratio_report.creditor_id IS 'the operator';
COMMENT ON COLUMN cobranca.claims_ratio_report.portfolio_id IS 'the contract''s portfolio (row-level security filters on it)';
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
