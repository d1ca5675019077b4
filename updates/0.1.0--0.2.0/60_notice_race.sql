-- The cancellation guard locks the contract's invoices before it checks
-- them, so that a payment in flight is waited for and seen.

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
