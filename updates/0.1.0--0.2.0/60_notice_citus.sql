-- 0.2.0: default_facts_local groups by the whole key of contract, so that it also
-- works where that key is (id, creditor_id); expire_notices joins on creditor_id too
-- (doc/scaling.md).

CREATE OR REPLACE FUNCTION cobranca.default_facts_local(as_of_day date, as_of_instant timestamptz)
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

CREATE OR REPLACE FUNCTION cobranca.expire_notices(as_of timestamptz) RETURNS bigint
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
