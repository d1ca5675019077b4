-- Agreements: simulation to the cent, tiers, approval rules by role,
-- acceptance effects.
BEGIN;
SELECT plan(34);

-- run a statement as another login; returns its single value, 'ok', or the error
CREATE FUNCTION pg_temp.as_role(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE res text;
BEGIN
  EXECUTE pg_catalog.format('SET SESSION AUTHORIZATION %I', r);
  BEGIN
    EXECUTE q INTO res;
    res := coalesce(res, 'ok');
  EXCEPTION WHEN OTHERS THEN
    res := 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
  END;
  RESET SESSION AUTHORIZATION;
  RETURN res;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.as_role(name, text) TO PUBLIC;

CREATE ROLE agr_test_ana LOGIN IN ROLE cobranca_analyst;
CREATE ROLE agr_test_bia LOGIN IN ROLE cobranca_analyst;      -- analyst of another portfolio
CREATE ROLE agr_test_sup1 LOGIN IN ROLE cobranca_supervisor;
CREATE ROLE agr_test_sup2 LOGIN IN ROLE cobranca_supervisor;
CREATE ROLE agr_test_nobody LOGIN;

INSERT INTO cobranca.creditor (name, document, kind, city, uf, pix_key)
  VALUES ('Clínica Acordo', '12ABC34501DE35', 'clinic', 'Recife', 'PE', 'financeiro@acordo.example');
INSERT INTO cobranca.portfolio (creditor_id, name)
  SELECT id, x FROM cobranca.creditor, (VALUES ('agr-a'), ('agr-b')) v(x) WHERE document = '12ABC34501DE35';
INSERT INTO cobranca.assignment (login, portfolio_id)
  SELECT l, p.id FROM cobranca.portfolio p,
         (VALUES ('agr_test_ana'), ('agr_test_sup1'), ('agr_test_sup2')) v(l)
   WHERE p.name = 'agr-a';
INSERT INTO cobranca.assignment (login, portfolio_id)
  SELECT 'agr_test_bia', id FROM cobranca.portfolio WHERE name = 'agr-b';
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
  SELECT id, x.ext, x.doc, x.name FROM cobranca.portfolio p,
         (VALUES ('A1', '39053344705', 'Ana Pagadora'), ('A2', '12345678909', 'Outro Pagador')) x(ext, doc, name)
   WHERE p.name = 'agr-a';
-- A1: young debts (bronze), an old one (gold), a disputed one, two awkward ones
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
  SELECT p.id, x.ext, 'private', CURRENT_DATE - x.age - 10, CURRENT_DATE - x.age, x.amount
    FROM cobranca.payer p,
         (VALUES ('young1', 40, 300.00), ('young2', 20, 200.00), ('old', 200, 1000.00),
                 ('disputed', 30, 80.00), ('hundred', 0, 100.00), ('nickel', 0, 0.05)) x(ext, age, amount)
   WHERE p.external_id = 'A1';
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
  SELECT id, 'other', 'private', CURRENT_DATE - 40, CURRENT_DATE - 30, 90.00
    FROM cobranca.payer WHERE external_id = 'A2';
INSERT INTO cobranca.dispute (invoice_id, reason)
  SELECT id, 'cobrança indevida' FROM cobranca.invoice WHERE external_id = 'disputed';
CREATE TEMP TABLE ids AS
  SELECT external_id AS ext, id FROM cobranca.invoice WHERE external_id IN
    ('young1', 'young2', 'old', 'disputed', 'hundred', 'nickel', 'other');
GRANT SELECT ON ids TO PUBLIC;
CREATE FUNCTION pg_temp.inv(e text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ids WHERE ext = e $$;
GRANT EXECUTE ON FUNCTION pg_temp.inv(text) TO PUBLIC;

-- simulation: to the cent, remainder on the first, business days
SELECT is((SELECT array_agg(amount ORDER BY n) FROM cobranca.simulate_agreement(ARRAY[pg_temp.inv('hundred')], 3, 0, CURRENT_DATE)),
          '{33.34,33.33,33.33}'::numeric[], '100.00 in 3: 33.34 + 33.33 + 33.33');
SELECT is((SELECT array_agg(amount ORDER BY n) FROM cobranca.simulate_agreement(ARRAY[pg_temp.inv('nickel')], 2, 0, CURRENT_DATE)),
          '{0.03,0.02}'::numeric[], '0.05 in 2: 0.03 + 0.02');
SELECT is((SELECT sum(amount) FROM cobranca.simulate_agreement(ARRAY[pg_temp.inv('young1'), pg_temp.inv('young2'), pg_temp.inv('old')], 7, 12.5, CURRENT_DATE + 5)),
          cobranca.discounted(cobranca.updated_amount(pg_temp.inv('young1')) + cobranca.updated_amount(pg_temp.inv('young2'))
                              + cobranca.updated_amount(pg_temp.inv('old')), 12.5),
          'installments sum to the discounted updated total to the cent');
SELECT ok((SELECT bool_and(extract(isodow FROM due_on) < 6)
             FROM cobranca.simulate_agreement(ARRAY[pg_temp.inv('old')], 12, 0, CURRENT_DATE)),
          'every installment falls on a weekday');
SELECT throws_ok(pg_catalog.format('SELECT * FROM cobranca.simulate_agreement(ARRAY[%s], 2)', pg_temp.inv('disputed')),
                 '55000', NULL, 'a disputed invoice cannot enter an agreement');
SELECT throws_ok(pg_catalog.format('SELECT * FROM cobranca.simulate_agreement(ARRAY[%s, %s], 2)', pg_temp.inv('young1'), pg_temp.inv('other')),
                 '22023', 'an agreement covers invoices of one payer', 'invoices of two payers are refused');
SELECT throws_ok('SELECT * FROM cobranca.simulate_agreement(ARRAY[-5], 2)', 'P0002', NULL, 'an unknown invoice is refused');

-- access: assigned analysts and supervisors only
SELECT matches(pg_temp.as_role('agr_test_bia', pg_catalog.format('SELECT count(*) FROM cobranca.simulate_agreement(ARRAY[%s], 2)', pg_temp.inv('young1'))),
               '^ERROR 42501', 'an analyst of another portfolio cannot simulate');
SELECT matches(pg_temp.as_role('agr_test_nobody', pg_catalog.format('SELECT cobranca.propose_agreement(ARRAY[%s], 2)', pg_temp.inv('young1'))),
               '^ERROR 42501', 'a login without a collection role cannot propose');
SELECT is(pg_temp.as_role('agr_test_ana', pg_catalog.format('SELECT count(*) FROM cobranca.simulate_agreement(ARRAY[%s], 2)', pg_temp.inv('young1'))),
          '2', 'the assigned analyst simulates');

-- within the tier: the analyst proposes and records the acceptance alone
CREATE TEMP TABLE a1 AS SELECT pg_temp.as_role('agr_test_ana',
  pg_catalog.format('SELECT cobranca.propose_agreement(ARRAY[%s, %s], 3, 5, CURRENT_DATE + 3)',
                    pg_temp.inv('young1'), pg_temp.inv('young2')))::bigint AS id;
SELECT is((SELECT tier || ' ' || needs_approval || ' ' || proposed_by FROM cobranca.agreement WHERE id = (SELECT id FROM a1)),
          'bronze false agr_test_ana', 'bronze tier (40 days), within its caps, proposed by the analyst');
SELECT is((SELECT sum(amount) FROM cobranca.agreement_installment WHERE agreement_id = (SELECT id FROM a1)),
          (SELECT total FROM cobranca.agreement WHERE id = (SELECT id FROM a1)), 'the proposal''s installments sum to its total');
SELECT matches(pg_temp.as_role('agr_test_ana', pg_catalog.format('SELECT cobranca.accept_agreement(%s, %L)', (SELECT id FROM a1), '{}')),
               '^ERROR 22023', 'acceptance without evidence is refused');
SELECT matches(pg_temp.as_role('agr_test_ana', pg_catalog.format('SELECT cobranca.propose_agreement(ARRAY[%s], 2)', pg_temp.inv('young1'))),
               '^ERROR 23505', 'an invoice already in a pending proposal cannot be proposed again');
SELECT matches(pg_temp.as_role('agr_test_ana', pg_catalog.format('SELECT cobranca.accept_agreement(%s, %L)', (SELECT id FROM a1),
                                                              '{"channel": "phone", "protocol": "12345620261128000001"}')),
               '^\{\d+,\d+,\d+\}$', 'the analyst records the acceptance; three installment invoices are created');
SELECT is((SELECT array_agg(status ORDER BY id) FROM cobranca.invoice WHERE id IN (pg_temp.inv('young1'), pg_temp.inv('young2'))),
          '{in_agreement,in_agreement}'::text[], 'covered invoices are in_agreement');
SELECT is((SELECT count(*) FROM cobranca.invoice i JOIN cobranca.agreement_installment s ON s.invoice_id = i.id
            WHERE s.agreement_id = (SELECT id FROM a1) AND i.kind = 'installment' AND i.status = 'open'
              AND i.amount = s.amount AND i.due_on = s.due_on), 3::bigint,
          'installment invoices are open, of kind installment, with the agreed amounts and dates');
SELECT is((SELECT status || ' ' || accepted_by || ' ' || (evidence->>'channel') FROM cobranca.agreement WHERE id = (SELECT id FROM a1)),
          'active agr_test_ana phone', 'the agreement is active and keeps its evidence');
SELECT matches(pg_temp.as_role('agr_test_ana', pg_catalog.format('SELECT cobranca.accept_agreement(%s, %L)', (SELECT id FROM a1), '{"a": 1}')),
               '^ERROR 55000', 'an agreement is accepted once');

-- beyond the tier: a supervisor other than the proposer approves
CREATE TEMP TABLE a2 AS SELECT pg_temp.as_role('agr_test_ana',
  pg_catalog.format('SELECT cobranca.propose_agreement(ARRAY[%s], 2, 20, CURRENT_DATE + 3)', pg_temp.inv('hundred')))::bigint AS id;
SELECT is((SELECT needs_approval::text || ' ' || beyond_tier::text FROM cobranca.agreement WHERE id = (SELECT id FROM a2)),
          'true {discount,first_installment}', '20% off a young debt, R$ 40.00 first, is beyond the bronze tier');
SELECT matches(pg_temp.as_role('agr_test_ana', pg_catalog.format('SELECT cobranca.accept_agreement(%s, %L)', (SELECT id FROM a2), '{"channel": "email"}')),
               '^ERROR 42501', 'without approval it cannot be accepted');
SELECT matches(pg_temp.as_role('agr_test_ana', pg_catalog.format('SELECT cobranca.approve_agreement(%s)', (SELECT id FROM a2))),
               '^ERROR 42501', 'an analyst cannot approve');
SELECT doesnt_match(pg_temp.as_role('agr_test_sup1', pg_catalog.format('SELECT cobranca.approve_agreement(%s)', (SELECT id FROM a2))),
               '^ERROR', 'a supervisor approves the analyst''s proposal');
SELECT is((SELECT approved_by::text FROM cobranca.agreement WHERE id = (SELECT id FROM a2)), 'agr_test_sup1', 'the approver is recorded');
SELECT matches(pg_temp.as_role('agr_test_ana', pg_catalog.format('SELECT cobranca.accept_agreement(%s, %L)', (SELECT id FROM a2), '{"channel": "email"}')),
               '^\{\d+,\d+\}$', 'once approved, the analyst records the acceptance');

-- a supervisor's own proposal beyond the tier needs another supervisor
CREATE TEMP TABLE a3 AS SELECT pg_temp.as_role('agr_test_sup1',
  pg_catalog.format('SELECT cobranca.propose_agreement(ARRAY[%s], 6, 0, CURRENT_DATE + 3)', pg_temp.inv('old')))::bigint AS id;
SELECT is((SELECT tier || ' ' || needs_approval FROM cobranca.agreement WHERE id = (SELECT id FROM a3)),
          'gold false', '200 days overdue: gold tier, 6 installments within it');
SELECT lives_ok(pg_catalog.format('SELECT cobranca.withdraw_agreement(%s)', (SELECT id FROM a3)), 'a proposal can be withdrawn');
CREATE TEMP TABLE a4 AS SELECT pg_temp.as_role('agr_test_sup1',
  pg_catalog.format('SELECT cobranca.propose_agreement(ARRAY[%s], 24, 40, CURRENT_DATE + 3)', pg_temp.inv('old')))::bigint AS id;
SELECT is((SELECT beyond_tier FROM cobranca.agreement WHERE id = (SELECT id FROM a4)),
          '{discount,installments}'::text[], '40% in 24 installments is beyond even gold');
SELECT matches(pg_temp.as_role('agr_test_sup1', pg_catalog.format('SELECT cobranca.approve_agreement(%s)', (SELECT id FROM a4))),
               '^ERROR 42501: nobody approves their own proposal', 'nobody approves their own proposal');
SELECT throws_ok(pg_catalog.format('UPDATE cobranca.agreement SET approved_by = proposed_by WHERE id = %s', (SELECT id FROM a4)),
                 '23514', NULL, 'not even by writing the table');
SELECT is(pg_temp.as_role('agr_test_sup2', pg_catalog.format('SELECT cobranca.approve_agreement(%s) IS NOT NULL', (SELECT id FROM a4))),
          'true', 'another supervisor of the portfolio approves');

-- acceptance voids a running default notice and drops scheduled contacts
INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at)
  SELECT i.creditor_id, i.portfolio_id, i.payer_id, ARRAY[i.id], 'email', (s AT TIME ZONE 'America/Sao_Paulo')::date, s
    FROM cobranca.invoice i,
         cobranca.next_contact_slot(now() + interval '2 days', 'email', 'America/Sao_Paulo', 'PE') s
   WHERE i.id = pg_temp.inv('old');
SELECT lives_ok(pg_catalog.format('SELECT cobranca.accept_agreement(%s, %L)', (SELECT id FROM a4), '{"channel": "whatsapp", "reply": "aceito"}'),
                'the approved proposal is accepted');
SELECT is((SELECT status FROM cobranca.contact WHERE invoice_ids = ARRAY[pg_temp.inv('old')]), 'cancelled',
          'the scheduled contact about the covered invoice is cancelled');
SELECT is((SELECT count(*) FROM cobranca.invoice WHERE agreement_id IS NOT NULL AND status <> 'in_agreement'), 0::bigint,
          'every invoice linked to an agreement is in_agreement');

SELECT * FROM finish();
ROLLBACK;
