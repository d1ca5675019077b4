-- break_agreements locks an agreement's installment invoices and checks the
-- default again before breaking it, so that a payment in flight is seen.

CREATE OR REPLACE FUNCTION cobranca.break_agreements(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  grace integer := cobranca.agreement_grace_days();
  a record;
  paid numeric;
  part numeric;
  inv record;
  n bigint := 0;
BEGIN
  -- every join also on creditor_id (always equal), every statement of the
  -- loop on the agreement's creditor: a distributed cluster runs each on
  -- the creditor's node (doc/scaling.md)
  UPDATE cobranca.agreement g
     SET status = 'completed', completed_at = break_agreements.as_of
   WHERE g.status = 'active'
     AND NOT EXISTS (SELECT 1 FROM cobranca.agreement_installment s
                       JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
                      WHERE s.agreement_id = g.id AND s.creditor_id = g.creditor_id AND i.status <> 'paid');
  GET DIAGNOSTICS n = ROW_COUNT;

  FOR a IN
    SELECT g.* FROM cobranca.agreement g
      JOIN cobranca.payer p ON p.id = g.payer_id AND p.creditor_id = g.creditor_id
     WHERE g.status = 'active'
       AND EXISTS (SELECT 1 FROM cobranca.agreement_installment s
                     JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
                    WHERE s.agreement_id = g.id AND s.creditor_id = g.creditor_id AND i.status = 'open'
                      AND i.due_on + grace < (break_agreements.as_of AT TIME ZONE p.timezone)::date)
     ORDER BY g.id
     FOR UPDATE OF g
  LOOP
    -- its installments' invoices locked, then the default checked again
    -- (a new snapshot): an installment payment in flight is waited for and
    -- either keeps the agreement or counts in what is credited; one
    -- arriving later waits and finds its installment cancelled
    PERFORM FROM cobranca.invoice i
      JOIN cobranca.agreement_installment s ON s.invoice_id = i.id AND s.creditor_id = i.creditor_id
     WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id ORDER BY i.id FOR UPDATE OF i;
    CONTINUE WHEN NOT EXISTS (
      SELECT 1 FROM cobranca.agreement_installment s
        JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
        JOIN cobranca.payer p ON p.id = i.payer_id AND p.creditor_id = i.creditor_id
       WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id AND i.status = 'open'
         AND i.due_on + grace < (break_agreements.as_of AT TIME ZONE p.timezone)::date);
    SELECT coalesce(sum(i.paid_total), 0) INTO paid
      FROM cobranca.agreement_installment s
      JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
     WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id;
    UPDATE cobranca.invoice i SET status = 'cancelled'
      FROM cobranca.agreement_installment s
     WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id
       AND i.id = s.invoice_id AND i.creditor_id = a.creditor_id
       AND i.status NOT IN ('paid', 'cancelled', 'written_off');
    UPDATE cobranca.invoice SET agreement_id = NULL WHERE agreement_id = a.id AND creditor_id = a.creditor_id;
    FOR inv IN SELECT i.id, i.balance FROM cobranca.invoice i
                WHERE i.id = ANY (a.invoice_ids) AND i.creditor_id = a.creditor_id
                  AND i.balance > 0 AND i.status <> 'cancelled'
                ORDER BY i.due_on, i.id LOOP
      EXIT WHEN paid <= 0;
      part := LEAST(paid, inv.balance);
      INSERT INTO cobranca.payment (creditor_id, invoice_id, external_id, paid_at, amount, method)
      VALUES (a.creditor_id, inv.id, pg_catalog.format('cobranca:agreement:%s:credit:%s', a.id, inv.id),
              break_agreements.as_of, part, 'transfer');
      paid := paid - part;
    END LOOP;
    UPDATE cobranca.agreement SET status = 'broken', broken_at = break_agreements.as_of
     WHERE id = a.id AND creditor_id = a.creditor_id;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.break_agreements(timestamptz) IS
  'job: completes fully paid agreements and breaks those with an installment unpaid for more than cobranca.agreement_grace_days (checked again with the installments locked; unpaid installments cancelled, what was paid credited to the covered invoices, their debt restored); returns how many changed';
