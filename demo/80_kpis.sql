-- What a collection manager reads every morning: the portfolio KPIs and the
-- claims ratio (doc/kpis.md says what each figure means).

-- the collection cycle stores the day's KPIs; store them here too in case
-- the cycle did not run
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM cobranca.kpi_snapshot
                             WHERE computed_at > now() - interval '1 hour')
            THEN cobranca.refresh_kpis(now()) END AS kpi_rows_stored \gset

\echo == Portfolio KPIs (cobranca.kpi_portfolio: latest snapshot, 30-day window)
SELECT portfolio_name AS portfolio, as_of,
       open_balance, overdue_balance, disputed_balance,
       recovery_rate_pct AS "recovery %", effective_contact_rate_pct AS "effective contact %",
       agreement_rate_pct AS "agreement %", mean_days_to_receive AS "days to receive",
       dso_days AS dso, cost_per_real_recovered AS "cost / R$ recovered",
       notices_confirmed_by_day50_pct AS "notices by day 50 %", churn_default_pct AS "churn by default %"
  FROM cobranca.kpi_portfolio
 ORDER BY creditor_id, portfolio_id;

\echo == Aging of the open balance (BRL)
SELECT portfolio_name AS portfolio, aging_to_fall_due AS "to fall due", aging_1_30 AS "1-30",
       aging_31_60 AS "31-60", aging_61_90 AS "61-90", aging_91_180 AS "91-180",
       aging_over_180 AS ">180", disputed_balance AS disputed, open_balance AS total
  FROM cobranca.kpi_portfolio
 ORDER BY creditor_id, portfolio_id;

\echo == Recovery, month by month (cobranca.kpi_portfolio_at on each month end, 30-day window)
SELECT to_char(m.d, 'YYYY-MM') AS month,
       k.portfolio_name AS portfolio,
       k.overdue_at_start AS "overdue at start",
       k.recovered_from_overdue AS recovered,
       k.recovery_rate_pct AS "recovery %",
       k.dso_days AS dso
  FROM (SELECT (date_trunc('month', current_date) - make_interval(months => g) - interval '1 day')::date AS d
          FROM generate_series(0, 5) g) m
 CROSS JOIN LATERAL cobranca.kpi_portfolio_at(m.d) k
 WHERE k.open_balance > 0
 ORDER BY k.portfolio_id, m.d;

\echo == Claims ratio of the operator, rolling 12 months to each month (cobranca.claims_ratio over claims_premiums_monthly)
SELECT to_char(month, 'YYYY-MM') AS month, claims_month, premiums_month,
       claims_ratio_pct AS "ratio 12m %", monthly_ratio_pct AS "ratio of the month %",
       CASE WHEN claims_ratio_pct > break_even THEN 'above ' || break_even || '%' ELSE '' END AS flag
  FROM (SELECT m.month,
               sum(m.claims) AS claims_month,
               sum(m.premiums_received) AS premiums_month,
               cobranca.claims_ratio(m.claims, m.premiums_received) AS monthly_ratio_pct,
               cobranca.claims_ratio(sum(m.claims), sum(m.premiums_received))
                 OVER (ORDER BY m.month ROWS BETWEEN 11 PRECEDING AND CURRENT ROW) AS claims_ratio_pct,
               max(c.claims_break_even_pct) AS break_even
          FROM cobranca.claims_premiums_monthly m
          JOIN cobranca.creditor c ON c.id = m.creditor_id
         GROUP BY m.month) s
 ORDER BY month;

\echo == Contracts above break-even in the last complete month (cobranca.claims_ratio_report), worst first
SELECT r.contract_number AS contract, r.months_in_window AS months,
       r.claims_12m, r.premiums_12m, r.claims_ratio_pct AS "ratio %", r.break_even_pct AS "break-even %"
  FROM cobranca.claims_ratio_report r
 WHERE r.month = (date_trunc('month', current_date) - interval '1 month')::date
   AND r.above_break_even
 ORDER BY r.claims_ratio_pct DESC, r.contract_id
 LIMIT 10;

SELECT count(*) FILTER (WHERE above_break_even) AS "contracts above break-even",
       count(*) AS contracts,
       cobranca.claims_ratio(claims_12m, premiums_12m) AS "portfolio ratio 12m %"
  FROM cobranca.claims_ratio_report
 WHERE month = (date_trunc('month', current_date) - interval '1 month')::date;
