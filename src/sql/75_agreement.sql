-- Agreements (acordos, SPEC §2.7): installment plans with discount tiers.
--
-- An analyst proposes; within the tier of the debt's age the proposal needs
-- nobody else, beyond it a supervisor other than the proposer approves.
-- The payer's acceptance (with its evidence) creates the installment
-- invoices and links the covered invoices to the agreement, which the
-- invoice trigger turns into status in_agreement; an installment unpaid
-- for more than cobranca.agreement_grace_days breaks the agreement and
-- restores the covered invoices' debt, less what the installments paid.
--
-- Identity and roles are those of session_user: these functions run as
-- their owner (SECURITY DEFINER), where current_user is the owner.

CREATE FUNCTION cobranca.discounted(total numeric, discount_pct numeric) RETURNS numeric
  AS 'MODULE_PATHNAME', 'cobranca_discounted'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.discounted(numeric, numeric) IS
  'total less discount_pct percent, the discount rounded to the cent half-even';

CREATE FUNCTION cobranca.agreement_grace_days() RETURNS integer
  AS 'MODULE_PATHNAME', 'cobranca_agreement_grace'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.agreement_grace_days() IS
  'the setting cobranca.agreement_grace_days: days an installment may stay unpaid after its due date';

CREATE TABLE cobranca.agreement_tier (
  name                  text PRIMARY KEY
    CHECK (cobranca.check_member('agreement_tier.name', name, '{bronze,silver,gold}')),
  min_days_overdue      integer NOT NULL UNIQUE
    CHECK (cobranca.check_range('agreement_tier.min_days_overdue', min_days_overdue, 0, 3650)),
  max_discount_pct      numeric(5,2) NOT NULL
    CHECK (cobranca.check_range('agreement_tier.max_discount_pct', max_discount_pct, 0, 100)),
  max_installments      integer NOT NULL
    CHECK (cobranca.check_range('agreement_tier.max_installments', max_installments, 1, 360)),
  min_first_installment numeric(14,2) NOT NULL
    CHECK (cobranca.check_positive('agreement_tier.min_first_installment', min_first_installment))
);
COMMENT ON TABLE cobranca.agreement_tier IS
  'Discount tiers of agreements: a debt falls in the highest tier whose min_days_overdue it reached; an analyst may offer up to that tier''s caps, beyond them a supervisor approves';
COMMENT ON COLUMN cobranca.agreement_tier.min_days_overdue IS 'days past due of the oldest covered invoice from which the tier applies';
COMMENT ON COLUMN cobranca.agreement_tier.max_discount_pct IS 'largest discount, in percent of the updated amount, within the tier';
COMMENT ON COLUMN cobranca.agreement_tier.max_installments IS 'most installments within the tier';
COMMENT ON COLUMN cobranca.agreement_tier.min_first_installment IS 'smallest first installment within the tier, BRL';
INSERT INTO cobranca.agreement_tier VALUES
  ('bronze', 0, 5.00, 3, 50.00),
  ('silver', 90, 15.00, 6, 30.00),
  ('gold', 180, 30.00, 12, 20.00);

CREATE TABLE cobranca.agreement (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id       bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id      bigint NOT NULL REFERENCES cobranca.portfolio,
  payer_id          bigint NOT NULL REFERENCES cobranca.payer,
  invoice_ids       bigint[] NOT NULL
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'agreement.invoice_ids is empty',
                               'An agreement covers at least one invoice.')),
  tier              text NOT NULL REFERENCES cobranca.agreement_tier,
  as_of             date NOT NULL CHECK (cobranca.check_date('agreement.as_of', as_of)),
  principal         numeric(14,2) NOT NULL,
  debt_total        numeric(14,2) NOT NULL,
  discount_pct      numeric(5,2) NOT NULL CHECK (discount_pct BETWEEN 0 AND 100),
  total             numeric(14,2) NOT NULL
    CHECK (cobranca.check_positive('agreement.total', total)),
  installments      integer NOT NULL CHECK (installments BETWEEN 1 AND 360),
  first_due         date NOT NULL CHECK (cobranca.check_date('agreement.first_due', first_due)),
  needs_approval    boolean NOT NULL,
  beyond_tier       text[] NOT NULL DEFAULT '{}',
  status            text NOT NULL DEFAULT 'proposed'
    CHECK (cobranca.check_member('agreement.status', status,
           '{proposed,active,completed,broken,withdrawn}')),
  proposed_by       name NOT NULL,
  proposed_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  approved_by       name,
  approved_at       timestamptz,
  accepted_by       name,
  accepted_at       timestamptz,
  evidence          jsonb
    CHECK (cobranca.check_rule(octet_length(evidence::text) <= 65536, 'agreement.evidence is too large',
                               'agreement.evidence has ' || octet_length(evidence::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.')),
  broken_at         timestamptz,
  completed_at      timestamptz,
  CONSTRAINT agreement_approval_by_other CHECK (approved_by IS NULL OR approved_by <> proposed_by),
  CONSTRAINT agreement_active_has_evidence
    CHECK (status IN ('proposed', 'withdrawn') OR (accepted_at IS NOT NULL AND evidence IS NOT NULL))
);
CREATE INDEX agreement_payer_idx ON cobranca.agreement (payer_id);
CREATE INDEX agreement_active_idx ON cobranca.agreement (id) WHERE status = 'active';
COMMENT ON TABLE cobranca.agreement IS
  'An installment plan (acordo) over some of a payer''s invoices: proposed, approved if beyond its tier, accepted with evidence, then active until completed or broken';
COMMENT ON COLUMN cobranca.agreement.invoice_ids IS 'the invoices it covers (all of one payer, open when proposed)';
COMMENT ON COLUMN cobranca.agreement.tier IS 'tier of the debt''s age when proposed (cobranca.agreement_tier)';
COMMENT ON COLUMN cobranca.agreement.as_of IS 'day on which the updated amounts were computed';
COMMENT ON COLUMN cobranca.agreement.principal IS 'sum of the covered invoices'' balances when proposed';
COMMENT ON COLUMN cobranca.agreement.debt_total IS 'sum of their updated amounts (balance + fine + interest) on as_of';
COMMENT ON COLUMN cobranca.agreement.total IS 'agreed total: debt_total less the discount; the installments sum to it to the cent';
COMMENT ON COLUMN cobranca.agreement.needs_approval IS 'terms beyond the tier: a supervisor other than the proposer must approve before acceptance';
COMMENT ON COLUMN cobranca.agreement.beyond_tier IS 'which caps the terms exceed: discount, installments, first_installment';
COMMENT ON COLUMN cobranca.agreement.evidence IS 'proof of the payer''s acceptance (e.g. channel, protocol, recording, signed term)';
COMMENT ON COLUMN cobranca.agreement.status IS 'proposed, active (accepted), completed (all installments paid), broken (an installment unpaid beyond the grace days), withdrawn';

CREATE TABLE cobranca.agreement_installment (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id  bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id bigint NOT NULL REFERENCES cobranca.portfolio,
  agreement_id bigint NOT NULL REFERENCES cobranca.agreement ON DELETE CASCADE,
  n            integer NOT NULL CHECK (cobranca.check_range('agreement_installment.n', n, 1, 360)),
  due_on       date NOT NULL CHECK (cobranca.check_date('agreement_installment.due_on', due_on)),
  amount       numeric(14,2) NOT NULL
    CHECK (cobranca.check_positive('agreement_installment.amount', amount)),
  invoice_id   bigint REFERENCES cobranca.invoice,
  CONSTRAINT agreement_installment_key UNIQUE (agreement_id, n)
);
CREATE INDEX agreement_installment_invoice_idx ON cobranca.agreement_installment (invoice_id);
COMMENT ON TABLE cobranca.agreement_installment IS
  'The installments of an agreement; on acceptance each becomes an invoice of kind installment';
COMMENT ON COLUMN cobranca.agreement_installment.invoice_id IS 'the installment invoice, created on acceptance';

-- deferred: an ERP loading invoices and agreements in one transaction may
-- write them in any order; the link is checked at commit
ALTER TABLE cobranca.invoice
  ADD CONSTRAINT invoice_agreement_fk FOREIGN KEY (agreement_id) REFERENCES cobranca.agreement
  DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX invoice_agreement_idx ON cobranca.invoice (agreement_id) WHERE agreement_id IS NOT NULL;

SELECT pg_catalog.pg_extension_config_dump('cobranca.agreement', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.agreement_installment', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.agreement_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.agreement_installment_id_seq', '');

-- Who may work a portfolio's agreements: a member of cobranca_analyst or
-- cobranca_supervisor assigned to the portfolio, or a superuser.
CREATE FUNCTION cobranca.agreement_check_access(portfolio_id bigint, action text)
  RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user) THEN
    RETURN;
  END IF;
  IF NOT (pg_catalog.pg_has_role(session_user, 'cobranca_analyst', 'member')
          OR pg_catalog.pg_has_role(session_user, 'cobranca_supervisor', 'member')) THEN
    RAISE EXCEPTION '% may not %', session_user, action
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'Agreements are worked by members of cobranca_analyst or cobranca_supervisor.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM cobranca.assignment a
                  WHERE a.login = session_user AND a.portfolio_id = agreement_check_access.portfolio_id) THEN
    RAISE EXCEPTION '% is not assigned to portfolio %', session_user, agreement_check_access.portfolio_id
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('%s may not %s there.', session_user, action),
            HINT = 'An administrator adds the login to cobranca.assignment.';
  END IF;
END
$$;
COMMENT ON FUNCTION cobranca.agreement_check_access(bigint, text) IS
  'raises 42501 unless session_user is a superuser, or an analyst or supervisor assigned to the portfolio';

-- The debt an agreement over these invoices would cover, checked: one
-- payer, every invoice open with a balance.
CREATE FUNCTION cobranca.agreement_debt(invoice_ids bigint[], as_of date,
    OUT creditor_id bigint, OUT portfolio_id bigint, OUT payer_id bigint,
    OUT ids bigint[], OUT principal numeric, OUT debt_total numeric,
    OUT max_days_overdue integer, OUT tier text)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad record;
  n_payers integer;
BEGIN
  ids := ARRAY(SELECT DISTINCT x FROM unnest(invoice_ids) x WHERE x IS NOT NULL ORDER BY x);
  IF cardinality(ids) = 0 THEN
    RAISE EXCEPTION 'an agreement covers at least one invoice'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT x INTO bad FROM unnest(ids) x
   WHERE NOT EXISTS (SELECT 1 FROM cobranca.invoice i WHERE i.id = x) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'invoice % does not exist', bad.x USING ERRCODE = 'no_data_found';
  END IF;
  SELECT i.id, i.status, i.balance INTO bad FROM cobranca.invoice i
   WHERE i.id = ANY (ids) AND (i.status <> 'open' OR i.balance <= 0) ORDER BY i.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'invoice % cannot enter an agreement', bad.id
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('invoice %s is %s with balance %s; only open invoices with a balance can.',
                                       bad.id, bad.status, bad.balance),
            HINT = 'Disputed invoices wait for the answer; paid, cancelled and written-off ones are final.';
  END IF;
  SELECT count(DISTINCT i.payer_id), min(i.creditor_id), min(i.portfolio_id), min(i.payer_id),
         sum(i.balance), max(GREATEST(as_of - i.due_on, 0))
    INTO n_payers, creditor_id, portfolio_id, payer_id, principal, max_days_overdue
    FROM cobranca.invoice i WHERE i.id = ANY (ids);
  IF n_payers > 1 THEN
    RAISE EXCEPTION 'an agreement covers invoices of one payer'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.format('invoices %s belong to %s payers.', ids, n_payers);
  END IF;
  SELECT sum(c.total) INTO debt_total FROM cobranca.invoice_charges(ids, as_of) c;
  SELECT t.name INTO tier FROM cobranca.agreement_tier t
   WHERE t.min_days_overdue <= max_days_overdue ORDER BY t.min_days_overdue DESC LIMIT 1;
  IF tier IS NULL THEN
    RAISE EXCEPTION 'no agreement tier applies to a debt % days overdue', max_days_overdue
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'An administrator keeps a tier with min_days_overdue 0 in cobranca.agreement_tier.';
  END IF;
END
$$;
COMMENT ON FUNCTION cobranca.agreement_debt(bigint[], date) IS
  'checks that invoices can enter one agreement (one payer, open, with balance) and returns their principal, updated total on as_of, age and tier';

CREATE FUNCTION cobranca.simulate_agreement(invoice_ids bigint[], installments integer,
                                            discount_pct numeric DEFAULT 0,
                                            first_due date DEFAULT CURRENT_DATE + 3,
                                            as_of date DEFAULT CURRENT_DATE)
  RETURNS TABLE (n integer, due_on date, amount numeric)
  LANGUAGE plpgsql STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d record;
BEGIN
  d := cobranca.agreement_debt(invoice_ids, as_of);
  PERFORM cobranca.agreement_check_access(d.portfolio_id, 'simulate agreements');
  IF first_due < as_of THEN
    RAISE EXCEPTION 'first_due % is before %', first_due, as_of
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY SELECT s.n, s.due_on, s.amount
                 FROM cobranca.installment_schedule(cobranca.discounted(d.debt_total, discount_pct),
                                                    installments, first_due) s;
END
$$;
COMMENT ON FUNCTION cobranca.simulate_agreement(bigint[], integer, numeric, date, date) IS
  'installments of an agreement over the invoices: their updated total on as_of less the discount, split to the cent (remainder on the first), monthly from first_due on bank business days';

CREATE FUNCTION cobranca.propose_agreement(invoice_ids bigint[], installments integer,
                                           discount_pct numeric DEFAULT 0,
                                           first_due date DEFAULT CURRENT_DATE + 3,
                                           as_of date DEFAULT CURRENT_DATE)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d record;
  t record;
  total numeric;
  first_amount numeric;
  beyond text[] := '{}';
  new_id bigint;
BEGIN
  d := cobranca.agreement_debt(invoice_ids, as_of);
  PERFORM cobranca.agreement_check_access(d.portfolio_id, 'propose agreements');
  IF first_due < as_of THEN
    RAISE EXCEPTION 'first_due % is before %', first_due, as_of
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF EXISTS (SELECT 1 FROM cobranca.agreement a
              WHERE a.status = 'proposed' AND a.invoice_ids && d.ids) THEN
    RAISE EXCEPTION 'some of the invoices are already in a pending proposal'
      USING ERRCODE = 'unique_violation',
            HINT = 'Accept or withdraw it (cobranca.withdraw_agreement) first.';
  END IF;
  SELECT * INTO t FROM cobranca.agreement_tier WHERE name = d.tier;
  total := cobranca.discounted(d.debt_total, discount_pct);
  first_amount := (cobranca.split_amount(total, installments))[1];
  IF discount_pct > t.max_discount_pct THEN
    beyond := beyond || 'discount'::text;
  END IF;
  IF installments > t.max_installments THEN
    beyond := beyond || 'installments'::text;
  END IF;
  IF first_amount < LEAST(t.min_first_installment, total) THEN
    beyond := beyond || 'first_installment'::text;
  END IF;

  INSERT INTO cobranca.agreement (creditor_id, portfolio_id, payer_id, invoice_ids, tier, as_of,
                                  principal, debt_total, discount_pct, total, installments,
                                  first_due, needs_approval, beyond_tier, proposed_by)
  VALUES (d.creditor_id, d.portfolio_id, d.payer_id, d.ids, d.tier, as_of,
          d.principal, d.debt_total, discount_pct, total, installments,
          first_due, cardinality(beyond) > 0, beyond, session_user)
  RETURNING id INTO new_id;
  INSERT INTO cobranca.agreement_installment (creditor_id, portfolio_id, agreement_id, n, due_on, amount)
  SELECT d.creditor_id, d.portfolio_id, new_id, s.n, s.due_on, s.amount
    FROM cobranca.installment_schedule(total, installments, first_due) s;
  RETURN new_id;
END
$$;
COMMENT ON FUNCTION cobranca.propose_agreement(bigint[], integer, numeric, date, date) IS
  'records a proposal (status proposed) with its installments; terms beyond the tier of the debt''s age are flagged needs_approval; returns its id';

-- The agreement a function acts on, locked, once the caller may act on its
-- portfolio; raises 02000 when it does not exist.
CREATE FUNCTION cobranca.agreement_for_update(agreement_id bigint, action text)
  RETURNS cobranca.agreement
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a cobranca.agreement;
BEGIN
  SELECT * INTO a FROM cobranca.agreement WHERE id = agreement_for_update.agreement_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'agreement % does not exist', agreement_for_update.agreement_id
      USING ERRCODE = 'no_data_found';
  END IF;
  PERFORM cobranca.agreement_check_access(a.portfolio_id, action);
  RETURN a;
END
$$;
COMMENT ON FUNCTION cobranca.agreement_for_update(bigint, text) IS
  'the agreement, locked FOR UPDATE, after checking that the caller may act on its portfolio; raises 02000 when it does not exist';
REVOKE ALL ON FUNCTION cobranca.agreement_for_update(bigint, text) FROM PUBLIC;

CREATE FUNCTION cobranca.approve_agreement(agreement_id bigint) RETURNS timestamptz
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
BEGIN
  a := cobranca.agreement_for_update(approve_agreement.agreement_id, 'approve agreements');
  IF NOT pg_catalog.pg_has_role(session_user, 'cobranca_supervisor', 'member') THEN
    RAISE EXCEPTION '% is not a supervisor', session_user
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'Agreements beyond their tier are approved by members of cobranca_supervisor.';
  END IF;
  IF a.proposed_by = session_user THEN
    RAISE EXCEPTION 'nobody approves their own proposal'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('agreement %s was proposed by %s.', a.id, a.proposed_by),
            HINT = 'Another supervisor of the portfolio approves it.';
  END IF;
  IF a.status <> 'proposed' THEN
    RAISE EXCEPTION 'agreement % is %, not proposed', a.id, a.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  UPDATE cobranca.agreement
     SET approved_by = session_user, approved_at = pg_catalog.now()
   WHERE id = a.id;
  RETURN pg_catalog.now();
END
$$;
COMMENT ON FUNCTION cobranca.approve_agreement(bigint) IS
  'a supervisor of the portfolio, other than the proposer, approves a proposal beyond its tier';

CREATE FUNCTION cobranca.withdraw_agreement(agreement_id bigint) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
BEGIN
  a := cobranca.agreement_for_update(withdraw_agreement.agreement_id, 'withdraw agreements');
  IF a.status <> 'proposed' THEN
    RAISE EXCEPTION 'agreement % is %: only proposals are withdrawn', a.id, a.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  UPDATE cobranca.agreement SET status = 'withdrawn' WHERE id = a.id;
END
$$;
COMMENT ON FUNCTION cobranca.withdraw_agreement(bigint) IS
  'withdraws a proposal the payer did not accept';

CREATE FUNCTION cobranca.accept_agreement(agreement_id bigint, evidence jsonb) RETURNS bigint[]
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
COMMENT ON FUNCTION cobranca.accept_agreement(bigint, jsonb) IS
  'records the payer''s acceptance with its evidence: creates the installment invoices (returned), puts the covered invoices in_agreement, cancels their pending contacts and voids running default notices';

-- The job: agreements whose installments are all paid complete; one with an
-- installment unpaid more than the grace days after its due date (in the
-- payer's time zone) breaks.  Breaking cancels the unpaid installments,
-- credits what the installments paid to the covered invoices (oldest first,
-- as transfer payments) and unlinks them, so that they are open again for
-- the rest of the original debt.
CREATE FUNCTION cobranca.break_agreements(as_of timestamptz) RETURNS bigint
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
REVOKE ALL ON FUNCTION cobranca.break_agreements(timestamptz) FROM PUBLIC;

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('break_agreements', 45, 'cobranca.break_agreements(timestamptz)',
        'complete paid agreements, break those with an installment unpaid beyond the grace days');

REVOKE ALL ON FUNCTION cobranca.agreement_check_access(bigint, text),
  cobranca.agreement_debt(bigint[], date) FROM PUBLIC;
-- privileges and row-level security of these tables: 97_security.sql
