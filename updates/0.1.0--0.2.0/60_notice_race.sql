-- The cancellation guard and the notice drafting lock the invoices they
-- check, so that a payment in flight is waited for and seen.

CREATE OR REPLACE FUNCTION cobranca.contract_guard() RETURNS trigger
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

CREATE OR REPLACE FUNCTION cobranca.notices_draft(as_of_day date, as_of_instant timestamptz) RETURNS integer
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
