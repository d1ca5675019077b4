-- claim_contacts checks a contact's invoices again under its lock: one
-- with nothing left open is cancelled instead of being handed out.

CREATE OR REPLACE FUNCTION cobranca.claim_contacts(channel text, n integer) RETURNS SETOF cobranca.contact
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r record;
  proto text;
  open_ids bigint[];
  k cobranca.contact;
BEGIN
  PERFORM cobranca.check_member('channel', claim_contacts.channel, '{email,sms,whatsapp,phone,letter}');
  IF n IS NULL OR n < 1 THEN
    RETURN;
  END IF;
  FOR r IN
    SELECT c.id, c.creditor_id, c.protocol, c.invoice_ids, cr.ans_registry
      FROM cobranca.contact c
      JOIN cobranca.creditor cr ON cr.id = c.creditor_id
     WHERE c.status = 'scheduled' AND c.claimed_at IS NULL
       AND c.channel = claim_contacts.channel
       AND c.scheduled_at <= pg_catalog.now()
     ORDER BY c.scheduled_at, c.id
     LIMIT n
       FOR UPDATE OF c SKIP LOCKED
  LOOP
    -- checked again under the lock: a payment, dispute or agreement whose
    -- trigger could not see this contact (a REPEATABLE READ writer whose
    -- snapshot predates it) leaves it with invoices that are no longer
    -- open; those are dropped, and a contact left with none is cancelled
    -- instead of being sent
    open_ids := ARRAY(SELECT i.id FROM cobranca.invoice i
                       WHERE i.id = ANY (r.invoice_ids) AND i.status = 'open' ORDER BY i.id);
    IF pg_catalog.cardinality(open_ids) = 0 THEN
      UPDATE cobranca.contact c SET status = 'cancelled', updated_at = pg_catalog.now() WHERE c.id = r.id;
      CONTINUE;
    END IF;
    IF pg_catalog.cardinality(open_ids) < pg_catalog.cardinality(r.invoice_ids) THEN
      UPDATE cobranca.contact c SET invoice_ids = open_ids WHERE c.id = r.id;
    END IF;
    proto := r.protocol;
    IF proto IS NULL AND claim_contacts.channel = 'phone' AND r.ans_registry IS NOT NULL THEN
      proto := cobranca.next_protocol(r.creditor_id);
    END IF;
    UPDATE cobranca.contact c
       SET claimed_at = pg_catalog.now(),
           protocol = proto,
           message = cobranca.render_template(cobranca.contact_template(r.id),
                       cobranca.contact_vars(r.id) || pg_catalog.jsonb_build_object('protocolo', proto)),
           updated_at = pg_catalog.now()
     WHERE c.id = r.id
     RETURNING c.* INTO k;
    RETURN NEXT k;
  END LOOP;
END
$$;
COMMENT ON FUNCTION cobranca.claim_contacts(text, integer) IS
  'hands a sender up to n contacts of a channel whose slot has come, each to one sender only (FOR UPDATE SKIP LOCKED), with the rendered message and, for phone calls of an operator, an ANS protocol number; under the lock, invoices no longer open are dropped from a contact and one left with none is cancelled instead of handed out';
