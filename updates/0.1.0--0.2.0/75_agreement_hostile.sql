-- 0.2.0: an empty invoice list is refused with its own words.
ALTER TABLE cobranca.agreement
  DROP CONSTRAINT agreement_invoice_ids_check,
  ADD CONSTRAINT agreement_invoice_ids_check
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'agreement.invoice_ids is empty',
                               'An agreement covers at least one invoice.'));
-- and no agreement date outside 1900-2099 ('infinity' included)
ALTER TABLE cobranca.agreement
  ADD CONSTRAINT agreement_as_of_check CHECK (cobranca.check_date('agreement.as_of', as_of)),
  ADD CONSTRAINT agreement_first_due_check CHECK (cobranca.check_date('agreement.first_due', first_due));
ALTER TABLE cobranca.agreement_installment
  DROP CONSTRAINT agreement_installment_n_check,
  ADD CONSTRAINT agreement_installment_n_check CHECK (cobranca.check_range('agreement_installment.n', n, 1, 360)),
  ADD CONSTRAINT agreement_installment_due_on_check CHECK (cobranca.check_date('agreement_installment.due_on', due_on));

-- and its evidence is shown cut to 60 characters when refused
CREATE OR REPLACE FUNCTION cobranca.accept_agreement(agreement_id bigint, evidence jsonb) RETURNS bigint[]
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
  bad record;
  contract bigint;
  inst record;
  inv bigint;
  created bigint[] := '{}';
BEGIN
  a := cobranca.agreement_for_update(accept_agreement.agreement_id, 'record the acceptance of agreements');
  IF a.status <> 'proposed' THEN
    RAISE EXCEPTION 'agreement % is %, not proposed', a.id, a.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  IF a.needs_approval AND a.approved_by IS NULL THEN
    RAISE EXCEPTION 'agreement % is beyond its tier (%) and needs a supervisor''s approval', a.id, a.tier
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Beyond the %s tier in: %s.', a.tier, pg_catalog.array_to_string(a.beyond_tier, ', ')),
            HINT = 'A supervisor of the portfolio, other than the proposer, calls cobranca.approve_agreement().';
  END IF;
  IF evidence IS NULL OR pg_catalog.jsonb_typeof(evidence) <> 'object' OR evidence = '{}'::jsonb THEN
    RAISE EXCEPTION 'the acceptance needs its evidence'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.format('evidence is %s.', coalesce(cobranca.show_value(evidence::text), 'null')),
            HINT = 'A JSON object, e.g. {"channel": "phone", "protocol": "...", "recording": "..."}.';
  END IF;
  IF a.first_due < CURRENT_DATE THEN
    RAISE EXCEPTION 'agreement % expired: its first installment was due on %', a.id, a.first_due
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Withdraw it and propose again.';
  END IF;

  -- the covered invoices must be as they were when proposed
  PERFORM 1 FROM cobranca.invoice i WHERE i.id = ANY (a.invoice_ids) ORDER BY i.id FOR UPDATE;
  SELECT i.id, i.status, i.balance INTO bad FROM cobranca.invoice i
   WHERE i.id = ANY (a.invoice_ids) AND (i.status <> 'open' OR i.agreement_id IS NOT NULL)
   ORDER BY i.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'invoice % changed since the proposal: it is %', bad.id, bad.status
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Withdraw the proposal and propose again.';
  END IF;
  IF (SELECT sum(i.balance) FROM cobranca.invoice i WHERE i.id = ANY (a.invoice_ids)) <> a.principal THEN
    RAISE EXCEPTION 'the covered balance changed since the proposal'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('It was %s when proposed.', a.principal),
            HINT = 'A payment arrived: withdraw the proposal and propose again.';
  END IF;

  -- installments are tied to the contract when every covered invoice shares one
  SELECT CASE WHEN count(DISTINCT i.contract_id) = 1 AND bool_and(i.contract_id IS NOT NULL)
              THEN min(i.contract_id) END
    INTO contract FROM cobranca.invoice i WHERE i.id = ANY (a.invoice_ids);
  FOR inst IN SELECT * FROM cobranca.agreement_installment
               WHERE agreement_installment.agreement_id = a.id ORDER BY n LOOP
    INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, contract_id, external_id,
                                  kind, issued_on, due_on, amount)
    VALUES (a.creditor_id, a.portfolio_id, a.payer_id, contract,
            pg_catalog.format('cobranca:agreement:%s:%s', a.id, inst.n),
            'installment', LEAST(CURRENT_DATE, inst.due_on), inst.due_on, inst.amount)
    RETURNING id INTO inv;
    UPDATE cobranca.agreement_installment SET invoice_id = inv WHERE id = inst.id;
    created := created || inv;
  END LOOP;

  -- covered invoices: the invoice trigger derives in_agreement
  UPDATE cobranca.invoice SET agreement_id = a.id WHERE id = ANY (a.invoice_ids);
  -- (the invoice triggers then drop or cancel their scheduled contacts,
  -- invoice_stop_contacts, and void running RN 593 notices for them,
  -- notice_invoice_status)

  UPDATE cobranca.agreement
     SET status = 'active', accepted_by = session_user, accepted_at = pg_catalog.now(),
         evidence = accept_agreement.evidence
   WHERE id = a.id;
  RETURN created;
END
$$;

-- the tiers' limits name the field and value
ALTER TABLE cobranca.agreement_tier
  DROP CONSTRAINT agreement_tier_min_days_overdue_check,
  ADD CONSTRAINT agreement_tier_min_days_overdue_check
    CHECK (cobranca.check_range('agreement_tier.min_days_overdue', min_days_overdue, 0, 3650)),
  DROP CONSTRAINT agreement_tier_max_discount_pct_check,
  ADD CONSTRAINT agreement_tier_max_discount_pct_check
    CHECK (cobranca.check_range('agreement_tier.max_discount_pct', max_discount_pct, 0, 100)),
  DROP CONSTRAINT agreement_tier_max_installments_check,
  ADD CONSTRAINT agreement_tier_max_installments_check
    CHECK (cobranca.check_range('agreement_tier.max_installments', max_installments, 1, 360));

-- 0.2.0: evidence and sender data are references, not 1 MB blobs
ALTER TABLE cobranca.agreement
  ADD CONSTRAINT agreement_evidence_check
    CHECK (cobranca.check_rule(octet_length(evidence::text) <= 65536, 'agreement.evidence is too large',
                               'agreement.evidence has ' || octet_length(evidence::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.'));
