-- Breaking an agreement: an installment unpaid beyond the grace days
-- restores the covered invoices' debt, less what the installments paid;
-- paying every installment completes it.
BEGIN;
SELECT plan(16);

-- noon in São Paulo on a day
CREATE FUNCTION pg_temp.noon(d date) RETURNS timestamptz LANGUAGE sql AS $$
  SELECT (d + time '12:00') AT TIME ZONE 'America/Sao_Paulo' $$;

INSERT INTO cobranca.creditor (name, document, kind, city, uf)
  VALUES ('Laboratório Quebra', '60574652000161', 'lab', 'Salvador', 'BA');
INSERT INTO cobranca.portfolio (creditor_id, name)
  SELECT id, 'brk' FROM cobranca.creditor WHERE document = '60574652000161';
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
  SELECT id, x.ext, x.doc, x.name FROM cobranca.portfolio p,
         (VALUES ('B1', '52998224725', 'Bruno Quebra'), ('B2', '14538220620', 'Carla Cumpre')) x(ext, doc, name)
   WHERE p.name = 'brk';
-- due today: no fine or interest, so the amounts below are exact
CREATE FUNCTION pg_temp.bill(payer text, ext text, amount numeric) RETURNS void LANGUAGE sql AS $$
  INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
  SELECT p.id, ext, 'private', CURRENT_DATE - 5, CURRENT_DATE, amount
    FROM cobranca.payer p WHERE p.external_id = payer $$;
SELECT pg_temp.bill('B1', 'brk1', 200.00);
SELECT pg_temp.bill('B1', 'brk2', 100.00);
SELECT pg_temp.bill('B2', 'done1', 90.00);

CREATE TEMP TABLE ag AS
  SELECT cobranca.propose_agreement(ARRAY(SELECT id FROM cobranca.invoice WHERE external_id IN ('brk1', 'brk2')),
                                    3, 0, CURRENT_DATE + 1) AS id,
         cobranca.propose_agreement(ARRAY(SELECT id FROM cobranca.invoice WHERE external_id = 'done1'),
                                    1, 0, CURRENT_DATE + 1) AS done;
SELECT is(cardinality(cobranca.accept_agreement((SELECT id FROM ag), '{"channel": "phone"}')), 3,
          'accepted: three installments of 100.00');
SELECT ok(cardinality(cobranca.accept_agreement((SELECT done FROM ag), '{"channel": "email"}')) = 1, 'a one-installment agreement accepted');
CREATE TEMP TABLE inst AS
  SELECT s.n, s.due_on, s.amount, s.invoice_id FROM cobranca.agreement_installment s
   WHERE s.agreement_id = (SELECT id FROM ag);

-- the first installment is paid, the second is not
INSERT INTO cobranca.payment (invoice_id, paid_at, amount, method)
  SELECT invoice_id, pg_temp.noon(due_on), amount, 'pix' FROM inst WHERE n = 1;
INSERT INTO cobranca.payment (invoice_id, paid_at, amount, method)
  SELECT s.invoice_id, pg_temp.noon(s.due_on), s.amount, 'boleto'
    FROM cobranca.agreement_installment s WHERE s.agreement_id = (SELECT done FROM ag);

SELECT is(cobranca.agreement_grace_days(), 10, 'the grace period defaults to 10 days');
SELECT is(cobranca.break_agreements(pg_temp.noon((SELECT due_on FROM inst WHERE n = 2) + 10)), 1::bigint,
          'on the 10th day after the second due date only the paid agreement changes');
SELECT is((SELECT status FROM cobranca.agreement WHERE id = (SELECT done FROM ag)), 'completed',
          'every installment paid: completed');
SELECT is((SELECT status FROM cobranca.agreement WHERE id = (SELECT id FROM ag)), 'active',
          'within the grace days the agreement stands');

SET LOCAL cobranca.agreement_grace_days = 3;
SELECT is(cobranca.agreement_grace_days(), 3, 'the grace period is a setting');
SELECT is(cobranca.break_agreements(pg_temp.noon((SELECT due_on FROM inst WHERE n = 2) + 4)), 1::bigint,
          'with 3 grace days, the 4th day after the due date breaks it');
SELECT is((SELECT status FROM cobranca.agreement WHERE id = (SELECT id FROM ag)), 'broken', 'the agreement is broken');
SELECT ok((SELECT broken_at IS NOT NULL FROM cobranca.agreement WHERE id = (SELECT id FROM ag)), 'and says when');
SELECT is((SELECT array_agg(i.status ORDER BY inst.n) FROM inst JOIN cobranca.invoice i ON i.id = inst.invoice_id),
          '{paid,cancelled,cancelled}'::text[], 'the paid installment stays paid, the others are cancelled');
SELECT is((SELECT array_agg(agreement_id) FILTER (WHERE agreement_id IS NOT NULL) FROM cobranca.invoice
            WHERE external_id IN ('brk1', 'brk2')), NULL, 'the covered invoices leave the agreement');
SELECT is((SELECT array_agg(status || ' ' || balance ORDER BY external_id) FROM cobranca.invoice
            WHERE external_id IN ('brk1', 'brk2')),
          '{"open 100.00","open 100.00"}'::text[],
          'their debt is restored, less the 100.00 paid (credited to the oldest first)');
SELECT is((SELECT sum(p.amount) FROM cobranca.payment p JOIN cobranca.invoice i ON i.id = p.invoice_id
            WHERE i.external_id IN ('brk1', 'brk2') AND p.method = 'transfer'), 100.00,
          'the credit is recorded as payments, never silently');
SELECT is(cobranca.break_agreements(pg_temp.noon((SELECT due_on FROM inst WHERE n = 3) + 30)), 0::bigint,
          'running the job again changes nothing');
SELECT is((SELECT status FROM cobranca.invoice WHERE external_id = 'done1'), 'in_agreement',
          'a completed agreement''s invoice stays settled by it');

SELECT * FROM finish();
ROLLBACK;
