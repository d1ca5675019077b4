-- 0.2.0: refresh_scores names invoice_score's key in ON CONFLICT, so that it also
-- works where that key gains creditor_id (doc/scaling.md).

CREATE OR REPLACE FUNCTION cobranca.refresh_scores(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  -- the generic estimates of the set-based statements are huge: compiling
  -- them would cost more than running them
  SET jit = off
AS $$
DECLARE
  n bigint := 0;
  d date;
  ids bigint[];
  model bigint := (SELECT m.id FROM cobranca.score_model m WHERE m.active);
BEGIN
  -- invoices no longer open and overdue leave the table
  DELETE FROM cobranca.invoice_score s
   USING cobranca.invoice i, cobranca.payer p
   WHERE i.id = s.invoice_id AND p.id = i.payer_id
     AND NOT (i.status = 'open' AND i.due_on < (refresh_scores.as_of AT TIME ZONE p.timezone)::date);
  -- one pass per local day in use (payers live in up to four time zones);
  -- only scores of another day, another model or another balance are redone,
  -- so that a second run on the same day costs little
  FOR d IN SELECT DISTINCT (refresh_scores.as_of AT TIME ZONE p.timezone)::date
             FROM cobranca.payer p LOOP
    SELECT array_agg(i.id) INTO ids
      FROM cobranca.invoice i
      JOIN cobranca.payer p ON p.id = i.payer_id
      LEFT JOIN cobranca.invoice_score s ON s.invoice_id = i.id
     WHERE i.status = 'open' AND i.due_on < d
       AND (refresh_scores.as_of AT TIME ZONE p.timezone)::date = d
       AND (s.invoice_id IS NULL OR s.as_of <> d OR s.model_id <> model OR s.balance <> i.balance);
    CONTINUE WHEN ids IS NULL;
    INSERT INTO cobranca.invoice_score AS t (invoice_id, creditor_id, portfolio_id, as_of, model_id,
                                             balance, probability, updated_amount, priority)
    SELECT s.invoice_id, i.creditor_id, i.portfolio_id, d, s.model_id,
           i.balance, s.probability, s.updated_amount, s.priority
      FROM cobranca.score_invoices(ids, d) s
      JOIN cobranca.invoice i ON i.id = s.invoice_id
    -- the key by name: on a distributed cluster it gains creditor_id (doc/scaling.md)
    ON CONFLICT ON CONSTRAINT invoice_score_pkey DO UPDATE
       SET as_of = EXCLUDED.as_of, model_id = EXCLUDED.model_id, balance = EXCLUDED.balance,
           probability = EXCLUDED.probability, updated_amount = EXCLUDED.updated_amount,
           priority = EXCLUDED.priority, computed_at = pg_catalog.now();
    n := n + cardinality(ids);
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.refresh_scores(timestamptz) IS
  'job: keeps cobranca.invoice_score for every open overdue invoice as of the instant''s day in each payer''s time zone, redoing only scores of another day, model or balance; returns how many invoices were scored';
REVOKE ALL ON FUNCTION cobranca.refresh_scores(timestamptz) FROM PUBLIC;
