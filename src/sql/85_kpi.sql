-- Portfolio KPIs for collection managers and BI tools (SPEC §5): what each
-- figure means is in doc/kpis.md and in the column comments of
-- cobranca.kpi_snapshot (repeated on cobranca.kpi_portfolio).
--
-- cobranca.kpi_portfolio_at(as_of, window_days) computes them live from the
-- tables; the job refresh_kpis stores them per portfolio and day in
-- cobranca.kpi_snapshot, and cobranca.kpi_portfolio shows each portfolio's
-- latest snapshot, so BI tools read a few rows instead of scanning every
-- invoice.  Both read with the caller's rights: row-level security decides
-- which portfolios a login sees.

CREATE TABLE cobranca.channel_cost (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint REFERENCES cobranca.creditor ON DELETE CASCADE,
  channel     text NOT NULL
    CHECK (cobranca.check_member('channel_cost.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  cost        numeric(12,4) NOT NULL CHECK (cobranca.check_range('channel_cost.cost', cost, 0, 10000)),
  CONSTRAINT channel_cost_key UNIQUE NULLS NOT DISTINCT (creditor_id, channel)
);
COMMENT ON TABLE cobranca.channel_cost IS
  'Cost in BRL of one contact attempt per channel, for the cost per real recovered; creditor_id null is the default for every creditor, a creditor''s own row overrides it';
COMMENT ON COLUMN cobranca.channel_cost.creditor_id IS 'the creditor this cost applies to; null: the default for creditors without their own';
COMMENT ON COLUMN cobranca.channel_cost.channel IS 'email, sms, whatsapp, phone or letter';
COMMENT ON COLUMN cobranca.channel_cost.cost IS 'BRL per attempted contact (sent, whatever the outcome)';

-- Illustrative defaults: a creditor should record its own contracted prices.
INSERT INTO cobranca.channel_cost (creditor_id, channel, cost) VALUES
  (NULL, 'email', 0.0100), (NULL, 'sms', 0.0800), (NULL, 'whatsapp', 0.3500),
  (NULL, 'phone', 1.5000), (NULL, 'letter', 13.9000);

SELECT pg_catalog.pg_extension_config_dump('cobranca.channel_cost', 'WHERE creditor_id IS NOT NULL');
SELECT pg_catalog.pg_extension_config_dump('cobranca.channel_cost_id_seq', '');

CREATE TABLE cobranca.kpi_snapshot (
  portfolio_id                   bigint NOT NULL REFERENCES cobranca.portfolio ON DELETE CASCADE,
  creditor_id                    bigint NOT NULL REFERENCES cobranca.creditor ON DELETE CASCADE,
  portfolio_name                 text NOT NULL,
  as_of                          date NOT NULL,
  window_days                    integer NOT NULL CHECK (window_days BETWEEN 1 AND 366),
  computed_at                    timestamptz NOT NULL,
  open_balance                   numeric(16,2) NOT NULL,
  disputed_balance               numeric(16,2) NOT NULL,
  overdue_balance                numeric(16,2) NOT NULL,
  aging_to_fall_due              numeric(16,2) NOT NULL,
  aging_1_30                     numeric(16,2) NOT NULL,
  aging_31_60                    numeric(16,2) NOT NULL,
  aging_61_90                    numeric(16,2) NOT NULL,
  aging_91_180                   numeric(16,2) NOT NULL,
  aging_over_180                 numeric(16,2) NOT NULL,
  overdue_at_start               numeric(16,2) NOT NULL,
  recovered_from_overdue         numeric(16,2) NOT NULL,
  recovery_rate_pct              numeric(7,2),
  recovered                      numeric(16,2) NOT NULL,
  contacts_attempted             bigint NOT NULL,
  contacts_effective             bigint NOT NULL,
  effective_contact_rate_pct     numeric(7,2),
  agreements                     bigint NOT NULL,
  agreement_rate_pct             numeric(7,2),
  mean_days_to_receive           numeric(10,1),
  billed_90d                     numeric(16,2) NOT NULL,
  dso_days                       numeric(10,1),
  contact_cost                   numeric(16,2) NOT NULL,
  cost_per_real_recovered        numeric(12,4),
  notices_due_by_day50           bigint NOT NULL,
  notices_confirmed_by_day50     bigint NOT NULL,
  notices_confirmed_by_day50_pct numeric(7,2),
  contracts_active_at_start      bigint NOT NULL,
  contracts_cancelled_default    bigint NOT NULL,
  churn_default_pct              numeric(7,2),
  CONSTRAINT kpi_snapshot_pkey PRIMARY KEY (portfolio_id, as_of, window_days)
);
CREATE INDEX kpi_snapshot_creditor_idx ON cobranca.kpi_snapshot (creditor_id, as_of);
COMMENT ON TABLE cobranca.kpi_snapshot IS
  'Portfolio KPIs per day, stored by the job refresh_kpis (one row per portfolio, as_of day and window); the history behind kpi_portfolio and the trend charts. Definitions: doc/kpis.md';
COMMENT ON COLUMN cobranca.kpi_snapshot.portfolio_id IS 'the portfolio';
COMMENT ON COLUMN cobranca.kpi_snapshot.creditor_id IS 'the portfolio''s creditor';
COMMENT ON COLUMN cobranca.kpi_snapshot.portfolio_name IS 'the portfolio''s name';
COMMENT ON COLUMN cobranca.kpi_snapshot.as_of IS 'the day the figures describe (end of that day, in the creditor''s time zone); the window is the window_days days ending with it';
COMMENT ON COLUMN cobranca.kpi_snapshot.window_days IS 'length in days of the window of the flow figures (recovery, contacts, agreements, days to receive, cost, notices, churn); 30 in the stored snapshots';
COMMENT ON COLUMN cobranca.kpi_snapshot.computed_at IS 'when the figures were computed: data recorded after it is not in them';
COMMENT ON COLUMN cobranca.kpi_snapshot.open_balance IS 'BRL still owed at as_of on invoices issued by then (amount − payments up to as_of), cancelled, written-off and in-agreement invoices excluded (an agreement''s debt is carried by its installments); = disputed_balance + aging_to_fall_due + overdue_balance';
COMMENT ON COLUMN cobranca.kpi_snapshot.disputed_balance IS 'part of open_balance on invoices with a dispute open at as_of (not overdue while disputed)';
COMMENT ON COLUMN cobranca.kpi_snapshot.overdue_balance IS 'part of open_balance past its due date and not disputed: the sum of the five aging buckets from 1 day on';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_to_fall_due IS 'open, undisputed balance not yet due (due on or after as_of)';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_1_30 IS 'overdue balance 1 to 30 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_31_60 IS 'overdue balance 31 to 60 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_61_90 IS 'overdue balance 61 to 90 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_91_180 IS 'overdue balance 91 to 180 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_over_180 IS 'overdue balance more than 180 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.overdue_at_start IS 'overdue_balance at the start of the window (as_of − window_days)';
COMMENT ON COLUMN cobranca.kpi_snapshot.recovered_from_overdue IS 'payments received in the window on the invoices overdue at its start, each capped at its overdue balance then';
COMMENT ON COLUMN cobranca.kpi_snapshot.recovery_rate_pct IS 'recovered_from_overdue ÷ overdue_at_start × 100; NULL when nothing was overdue at the start';
COMMENT ON COLUMN cobranca.kpi_snapshot.recovered IS 'real recovered: all payments received in the window after their invoice''s due date (late money brought in)';
COMMENT ON COLUMN cobranca.kpi_snapshot.contacts_attempted IS 'contacts of the window (by contact day) that were attempted: any status but scheduled or cancelled';
COMMENT ON COLUMN cobranca.kpi_snapshot.contacts_effective IS 'contacts of the window that reached the payer: delivered, read, replied or done';
COMMENT ON COLUMN cobranca.kpi_snapshot.effective_contact_rate_pct IS 'contacts_effective ÷ contacts_attempted × 100; NULL without attempts';
COMMENT ON COLUMN cobranca.kpi_snapshot.agreements IS 'agreements (cobranca.agreement) accepted in the window, by acceptance day in the creditor''s time zone, whatever became of them since';
COMMENT ON COLUMN cobranca.kpi_snapshot.agreement_rate_pct IS 'agreements ÷ contacts_effective × 100; NULL without effective contacts';
COMMENT ON COLUMN cobranca.kpi_snapshot.mean_days_to_receive IS 'mean of paid_on − issued_on, in days, over invoices settled in the window; NULL when none';
COMMENT ON COLUMN cobranca.kpi_snapshot.billed_90d IS 'amount of the invoices issued in the 90 days ending with as_of, agreement installments and cancelled invoices excluded';
COMMENT ON COLUMN cobranca.kpi_snapshot.dso_days IS 'days sales outstanding: open_balance ÷ billed_90d × 90; NULL when nothing was billed';
COMMENT ON COLUMN cobranca.kpi_snapshot.contact_cost IS 'attempted contacts of the window × their channel''s cost (cobranca.channel_cost, the creditor''s own row or the default)';
COMMENT ON COLUMN cobranca.kpi_snapshot.cost_per_real_recovered IS 'contact_cost ÷ recovered: BRL spent on contacts per BRL of late money received; NULL when nothing was recovered';
COMMENT ON COLUMN cobranca.kpi_snapshot.notices_due_by_day50 IS 'RN 593 default notices whose day 50 of default (default_since + 50) fell in the window, void ones and those cured before any confirmation excluded';
COMMENT ON COLUMN cobranca.kpi_snapshot.notices_confirmed_by_day50 IS 'of notices_due_by_day50, those whose 10-day term started by day 50: confirmed, or closed unreachable after the last attempt (default_notice.confirmed_by_day_50)';
COMMENT ON COLUMN cobranca.kpi_snapshot.notices_confirmed_by_day50_pct IS 'notices_confirmed_by_day50 ÷ notices_due_by_day50 × 100; NULL when none was due';
COMMENT ON COLUMN cobranca.kpi_snapshot.contracts_active_at_start IS 'contracts started by the start of the window and active then (active now, or changed status after it)';
COMMENT ON COLUMN cobranca.kpi_snapshot.contracts_cancelled_default IS 'contracts cancelled for default (status cancelled, reason default) with the change in the window';
COMMENT ON COLUMN cobranca.kpi_snapshot.churn_default_pct IS 'churn by default: contracts_cancelled_default ÷ contracts_active_at_start × 100; NULL when none was active';

SELECT pg_catalog.pg_extension_config_dump('cobranca.kpi_snapshot', '');

-- Who reads snapshots: supervisors, the rows of the portfolios assigned to
-- their login.  97_security.sql enables and forces row-level security on the
-- table (class custom: these are its policies and grants); channel_cost is
-- of class config there.
CREATE POLICY supervisor ON cobranca.kpi_snapshot
  FOR SELECT TO cobranca_supervisor
  USING (portfolio_id IN (SELECT a.portfolio_id FROM cobranca.assignment a
                           WHERE a.login = CURRENT_USER));
REVOKE ALL ON cobranca.kpi_snapshot FROM PUBLIC;
GRANT SELECT ON cobranca.kpi_snapshot TO cobranca_supervisor;

CREATE FUNCTION cobranca.kpi_portfolio_at(as_of date, window_days integer DEFAULT 30)
RETURNS SETOF cobranca.kpi_snapshot
LANGUAGE sql STABLE
AS $kpi$
WITH prm AS (
  SELECT $1 AS d, $1 - $2 AS s, $2 AS w
), pay AS (
  -- payments per invoice up to as_of: up to the window's start, in the
  -- window, and in the window after the due date (days in the creditor's
  -- time zone)
  SELECT p.invoice_id,
         pg_catalog.sum(p.amount) FILTER (WHERE x.paid_on <= prm.d) AS paid_to_d,
         pg_catalog.sum(p.amount) FILTER (WHERE x.paid_on <= prm.s) AS paid_to_s,
         pg_catalog.sum(p.amount) FILTER (WHERE x.paid_on > prm.s AND x.paid_on <= prm.d) AS paid_window,
         pg_catalog.sum(p.amount) FILTER (WHERE x.paid_on > prm.s AND x.paid_on <= prm.d
                                            AND x.paid_on > i.due_on) AS paid_late_window
    FROM prm
    JOIN cobranca.payment p ON p.paid_at < (prm.d + 2)::timestamp AT TIME ZONE 'UTC'
    JOIN cobranca.invoice i ON i.id = p.invoice_id
    JOIN cobranca.creditor c ON c.id = p.creditor_id
   CROSS JOIN LATERAL (SELECT (p.paid_at AT TIME ZONE c.timezone)::date AS paid_on) x
   GROUP BY p.invoice_id
), inv AS (
  -- each invoice issued by as_of that is not cancelled or written off
  SELECT i.id, i.portfolio_id, i.kind, i.status, i.amount, i.issued_on, i.due_on, i.paid_on,
         COALESCE(pay.paid_to_d, 0) AS paid_to_d,
         COALESCE(pay.paid_to_s, 0) AS paid_to_s,
         COALESCE(pay.paid_window, 0) AS paid_window,
         COALESCE(pay.paid_late_window, 0) AS paid_late_window
    FROM prm
    JOIN cobranca.invoice i ON i.issued_on <= prm.d
    LEFT JOIN pay ON pay.invoice_id = i.id
   WHERE i.status NOT IN ('cancelled', 'written_off')
), disp AS (
  SELECT dp.invoice_id,
         pg_catalog.bool_or(dp.answered_on IS NULL OR dp.answered_on > prm.d) AS at_d,
         pg_catalog.bool_or(dp.opened_on <= prm.s
                            AND (dp.answered_on IS NULL OR dp.answered_on > prm.s)) AS at_s
    FROM prm JOIN cobranca.dispute dp ON dp.opened_on <= prm.d
   GROUP BY dp.invoice_id
), bal AS (
  SELECT inv.*,
         inv.status <> 'in_agreement' AS carried,
         GREATEST(inv.amount - inv.paid_to_d, 0) AS bal_d,
         GREATEST(inv.amount - inv.paid_to_s, 0) AS bal_s,
         COALESCE(disp.at_d, false) AS disputed_d,
         COALESCE(disp.at_s, false) AS disputed_s,
         prm.d - inv.due_on AS days_late,
         inv.issued_on <= prm.s AND inv.due_on < prm.s AS due_at_s,
         prm.d, prm.s
    FROM prm, inv LEFT JOIN disp ON disp.invoice_id = inv.id
), inv_k AS (
  SELECT b.portfolio_id,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried) AS open_balance,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND b.disputed_d) AS disputed_balance,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late >= 1) AS overdue_balance,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late <= 0) AS aging_to_fall_due,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late BETWEEN 1 AND 30) AS aging_1_30,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late BETWEEN 31 AND 60) AS aging_31_60,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late BETWEEN 61 AND 90) AS aging_61_90,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late BETWEEN 91 AND 180) AS aging_91_180,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late > 180) AS aging_over_180,
         pg_catalog.sum(b.bal_s) FILTER (WHERE b.carried AND NOT b.disputed_s AND b.due_at_s) AS overdue_at_start,
         pg_catalog.sum(LEAST(b.paid_window, b.bal_s))
           FILTER (WHERE b.carried AND NOT b.disputed_s AND b.due_at_s) AS recovered_from_overdue,
         pg_catalog.sum(b.paid_late_window) AS recovered,
         pg_catalog.avg(b.paid_on - b.issued_on)
           FILTER (WHERE b.paid_on > b.s AND b.paid_on <= b.d) AS mean_days_to_receive,
         pg_catalog.sum(b.amount)
           FILTER (WHERE b.kind <> 'installment' AND b.issued_on > b.d - 90) AS billed_90d
    FROM bal b
   GROUP BY b.portfolio_id
), con AS (
  SELECT ct.portfolio_id,
         pg_catalog.count(*) FILTER (WHERE ct.status NOT IN ('scheduled', 'cancelled')) AS attempted,
         pg_catalog.count(*) FILTER (WHERE ct.status IN ('delivered', 'read', 'replied', 'done')) AS effective,
         pg_catalog.sum(COALESCE(own.cost, dflt.cost, 0))
           FILTER (WHERE ct.status NOT IN ('scheduled', 'cancelled')) AS cost
    FROM prm
    JOIN cobranca.contact ct ON ct.contact_on > prm.s AND ct.contact_on <= prm.d
    LEFT JOIN cobranca.channel_cost own
      ON own.creditor_id = ct.creditor_id AND own.channel = ct.channel
    LEFT JOIN cobranca.channel_cost dflt
      ON dflt.creditor_id IS NULL AND dflt.channel = ct.channel
   GROUP BY ct.portfolio_id
), agr AS (
  -- agreements accepted in the window (acceptance day in the creditor's
  -- time zone), whatever became of them since
  SELECT ag.portfolio_id, pg_catalog.count(*) AS agreements
    FROM prm
    JOIN cobranca.agreement ag ON ag.accepted_at IS NOT NULL
                              AND ag.accepted_at < (prm.d + 2)::timestamp AT TIME ZONE 'UTC'
    JOIN cobranca.creditor c ON c.id = ag.creditor_id
   WHERE (ag.accepted_at AT TIME ZONE c.timezone)::date > prm.s
     AND (ag.accepted_at AT TIME ZONE c.timezone)::date <= prm.d
   GROUP BY ag.portfolio_id
), ntc AS (
  -- day n of a default is default_since + n; confirmed_by_day_50 is set by
  -- the notice's trigger (its 10-day term started by day 50)
  SELECT n.portfolio_id,
         pg_catalog.count(*) AS due,
         pg_catalog.count(*) FILTER (WHERE n.confirmed_by_day_50) AS confirmed
    FROM prm
    JOIN cobranca.default_notice n
      ON n.default_since + 50 > prm.s AND n.default_since + 50 <= prm.d
   WHERE n.status <> 'void'
     AND NOT (n.status = 'cured' AND n.term_start_on IS NULL)
   GROUP BY n.portfolio_id
), chn AS (
  SELECT k.portfolio_id,
         pg_catalog.count(*) FILTER (WHERE k.starts_on <= prm.s
                                       AND (k.status = 'active' OR k.changed_on > prm.s)) AS active_at_start,
         pg_catalog.count(*) FILTER (WHERE k.status = 'cancelled' AND k.status_reason = 'default'
                                       AND k.changed_on > prm.s AND k.changed_on <= prm.d) AS cancelled_default
    FROM prm,
         (SELECT ck.portfolio_id, ck.starts_on, ck.status, ck.status_reason,
                 (ck.status_changed_at AT TIME ZONE c.timezone)::date AS changed_on
            FROM cobranca.contract ck JOIN cobranca.creditor c ON c.id = ck.creditor_id) k
   GROUP BY k.portfolio_id
)
SELECT p.id, p.creditor_id, p.name, prm.d, prm.w, pg_catalog.now(),
       COALESCE(ik.open_balance, 0)::numeric(16,2),
       COALESCE(ik.disputed_balance, 0)::numeric(16,2),
       COALESCE(ik.overdue_balance, 0)::numeric(16,2),
       COALESCE(ik.aging_to_fall_due, 0)::numeric(16,2),
       COALESCE(ik.aging_1_30, 0)::numeric(16,2),
       COALESCE(ik.aging_31_60, 0)::numeric(16,2),
       COALESCE(ik.aging_61_90, 0)::numeric(16,2),
       COALESCE(ik.aging_91_180, 0)::numeric(16,2),
       COALESCE(ik.aging_over_180, 0)::numeric(16,2),
       COALESCE(ik.overdue_at_start, 0)::numeric(16,2),
       COALESCE(ik.recovered_from_overdue, 0)::numeric(16,2),
       pg_catalog.round(100 * ik.recovered_from_overdue / NULLIF(ik.overdue_at_start, 0), 2)::numeric(7,2),
       COALESCE(ik.recovered, 0)::numeric(16,2),
       COALESCE(con.attempted, 0),
       COALESCE(con.effective, 0),
       pg_catalog.round(100.0 * con.effective / NULLIF(con.attempted, 0), 2)::numeric(7,2),
       COALESCE(agr.agreements, 0),
       pg_catalog.round(100.0 * COALESCE(agr.agreements, 0) / NULLIF(con.effective, 0), 2)::numeric(7,2),
       pg_catalog.round(ik.mean_days_to_receive, 1)::numeric(10,1),
       COALESCE(ik.billed_90d, 0)::numeric(16,2),
       pg_catalog.round(COALESCE(ik.open_balance, 0) * 90 / NULLIF(ik.billed_90d, 0), 1)::numeric(10,1),
       COALESCE(con.cost, 0)::numeric(16,2),
       pg_catalog.round(COALESCE(con.cost, 0) / NULLIF(ik.recovered, 0), 4)::numeric(12,4),
       COALESCE(ntc.due, 0),
       COALESCE(ntc.confirmed, 0),
       pg_catalog.round(100.0 * ntc.confirmed / NULLIF(ntc.due, 0), 2)::numeric(7,2),
       COALESCE(chn.active_at_start, 0),
       COALESCE(chn.cancelled_default, 0),
       pg_catalog.round(100.0 * chn.cancelled_default / NULLIF(chn.active_at_start, 0), 2)::numeric(7,2)
  FROM prm
 CROSS JOIN cobranca.portfolio p
  LEFT JOIN inv_k ik ON ik.portfolio_id = p.id
  LEFT JOIN con ON con.portfolio_id = p.id
  LEFT JOIN agr ON agr.portfolio_id = p.id
  LEFT JOIN ntc ON ntc.portfolio_id = p.id
  LEFT JOIN chn ON chn.portfolio_id = p.id
 ORDER BY p.id
$kpi$;
COMMENT ON FUNCTION cobranca.kpi_portfolio_at(date, integer) IS
  'Portfolio KPIs computed live as of the end of day as_of, flow figures over the window_days days ending with it (default 30); one row per portfolio the caller may see; columns as in cobranca.kpi_snapshot, definitions in doc/kpis.md';

CREATE FUNCTION cobranca.kpi_refresh_seconds() RETURNS integer
  AS 'MODULE_PATHNAME', 'cobranca_kpi_refresh_seconds'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.kpi_refresh_seconds() IS
  'the setting cobranca.kpi_refresh_interval in seconds: least time between two KPI snapshots of the same day';

CREATE FUNCTION cobranca.refresh_kpis(as_of timestamptz) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $refresh$
DECLARE
  day   date;
  fresh interval := pg_catalog.make_interval(secs => cobranca.kpi_refresh_seconds());
  n     bigint;
  total bigint := 0;
BEGIN
  -- each creditor's "today" is its own local date
  FOR day IN SELECT DISTINCT (refresh_kpis.as_of AT TIME ZONE c.timezone)::date
               FROM cobranca.creditor c ORDER BY 1
  LOOP
    -- computing is a scan of every invoice: keep a snapshot of this day
    -- younger than cobranca.kpi_refresh_interval, unless a portfolio has none
    CONTINUE WHEN fresh > interval '0'
      AND NOT EXISTS (
        SELECT 1
          FROM cobranca.portfolio p
          JOIN cobranca.creditor c ON c.id = p.creditor_id
         WHERE (refresh_kpis.as_of AT TIME ZONE c.timezone)::date = day
           AND NOT EXISTS (SELECT 1 FROM cobranca.kpi_snapshot s
                            WHERE s.portfolio_id = p.id AND s.as_of = day AND s.window_days = 30
                              AND s.computed_at > pg_catalog.now() - fresh));
    DELETE FROM cobranca.kpi_snapshot s
     USING cobranca.creditor c
     WHERE c.id = s.creditor_id AND s.as_of = day AND s.window_days = 30
       AND (refresh_kpis.as_of AT TIME ZONE c.timezone)::date = day;
    INSERT INTO cobranca.kpi_snapshot
    SELECT k.*
      FROM cobranca.kpi_portfolio_at(day, 30) k
      JOIN cobranca.creditor c ON c.id = k.creditor_id
     WHERE (refresh_kpis.as_of AT TIME ZONE c.timezone)::date = day;
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
  END LOOP;
  RETURN total;
END
$refresh$;
COMMENT ON FUNCTION cobranca.refresh_kpis(timestamptz) IS
  'Job refresh_kpis (runs as its owner, so that every portfolio is counted; executable by cobranca_admin): stores every portfolio''s KPIs as of the given instant''s local day (30-day window) in cobranca.kpi_snapshot, replacing that day''s earlier snapshot unless it is younger than cobranca.kpi_refresh_interval; returns the rows stored';
REVOKE EXECUTE ON FUNCTION cobranca.refresh_kpis(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.refresh_kpis(timestamptz) TO cobranca_admin;

INSERT INTO cobranca.job (name, position, function, description) VALUES
  ('refresh_kpis', 60, 'cobranca.refresh_kpis(timestamptz)',
   'Store the day''s portfolio KPIs in cobranca.kpi_snapshot (read by cobranca.kpi_portfolio)');

CREATE VIEW cobranca.kpi_portfolio WITH (security_invoker = true) AS
SELECT DISTINCT ON (s.portfolio_id) s.*
  FROM cobranca.kpi_snapshot s
 WHERE s.window_days = 30
 ORDER BY s.portfolio_id, s.as_of DESC;
COMMENT ON VIEW cobranca.kpi_portfolio IS
  'Each portfolio''s latest KPIs (30-day window), as stored by the job refresh_kpis: as_of and computed_at say as of when; cobranca.kpi_portfolio_at(date) computes them live. Definitions: doc/kpis.md';

-- the view's columns mean what the snapshot's do
DO $comments$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT a.attname, d.description
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_description d
               ON d.objoid = a.attrelid AND d.objsubid = a.attnum
                AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
            WHERE a.attrelid = 'cobranca.kpi_snapshot'::pg_catalog.regclass
  LOOP
    EXECUTE pg_catalog.format('COMMENT ON COLUMN cobranca.kpi_portfolio.%I IS %L',
                              r.attname, r.description);
  END LOOP;
END
$comments$;

GRANT SELECT ON cobranca.kpi_portfolio, cobranca.claims_ratio_report,
  cobranca.claims_premiums_monthly TO cobranca_supervisor;
