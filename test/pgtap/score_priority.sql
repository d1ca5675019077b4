-- Priority: expected recovery raised near the limitation period and the
-- RN 593 notice day; zero for what cannot or must not be collected.
BEGIN;
SELECT plan(14);

-- the rule itself (probability 0.5, R$ 1,000.00: expected recovery 500.00)
SELECT is(cobranca.priority_value(0.5, 1000.00, '2025-01-10', '2030-01-10', '2026-01-10', false, 35),
          500.00, 'far from limitation, no notice: probability x amount');
SELECT is(cobranca.priority_value(0.5, 1000.00, '2025-01-10', '2030-01-10', '2029-10-29', false, 35),
          900.00, '73 days before limitation: +80%');
SELECT is(cobranca.priority_value(0.5, 1000.00, '2025-01-10', '2030-01-10', '2030-01-09', false, 35),
          998.63, 'the day before limitation: almost +100%');
SELECT is(cobranca.priority_value(0.5, 1000.00, '2025-01-10', '2030-01-10', '2030-01-10', false, 35),
          0.00, 'limitation reached: nothing to collect');
SELECT is(cobranca.priority_value(0.5, 1000.00, '2026-01-10', '2031-01-10', '2026-02-14', true, 35),
          750.00, 'RN 593 premium on the notice day (35): +50%');
SELECT is(cobranca.priority_value(0.5, 1000.00, '2026-01-10', '2031-01-10', '2026-01-30', true, 35),
          516.67, 'RN 593 premium 15 days before the notice day: first step');
SELECT is(cobranca.priority_value(0.5, 1000.00, '2026-01-10', '2031-01-10', '2026-03-01', true, 35),
          750.00, 'RN 593 premium on day 50: still +50%');
SELECT is(cobranca.priority_value(0.5, 1000.00, '2026-01-10', '2031-01-10', '2026-03-02', true, 35),
          500.00, 'RN 593 premium on day 51: back to expected recovery');
SELECT is(cobranca.priority_value(0.5, 1000.00, '2026-01-10', '2031-01-10', '2026-02-14', false, 35),
          500.00, 'no notice boost outside RN 593');

-- on invoices
INSERT INTO cobranca.creditor (name, document, kind, city, uf)
  VALUES ('Hospital Prio', '44455566600024', 'hospital', 'Vitória', 'ES');
INSERT INTO cobranca.portfolio (creditor_id, name)
  SELECT id, 'prio' FROM cobranca.creditor WHERE document = '44455566600024';
INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name)
  SELECT p.creditor_id, p.id, 'PR1', '98765432100', 'João Prio'
    FROM cobranca.portfolio p WHERE p.name = 'prio';
INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, external_id, kind, issued_on, due_on, amount, balance)
  SELECT p.creditor_id, p.portfolio_id, p.id, x.ext, 'private', x.due - 10, x.due, x.amount, x.amount
    FROM cobranca.payer p,
         (VALUES ('big', date '2026-01-10', 5000.00), ('small', date '2026-01-10', 50.00),
                 ('old', date '2021-03-01', 5000.00), ('prescribed', date '2021-01-10', 5000.00),
                 ('disputed', date '2026-01-10', 5000.00)) x(ext, due, amount)
   WHERE p.external_id = 'PR1';
INSERT INTO cobranca.dispute (creditor_id, invoice_id, opened_on, reason)
  SELECT creditor_id, id, '2026-01-20', 'serviço não prestado' FROM cobranca.invoice WHERE external_id = 'disputed';
UPDATE cobranca.invoice SET status = 'disputed', open_disputes = 1
 WHERE external_id = 'disputed' AND status = 'open';

CREATE TEMP TABLE pr AS
  SELECT i.external_id, s.* FROM cobranca.invoice i
   CROSS JOIN LATERAL cobranca.score_invoices(ARRAY[i.id], '2026-02-20') s
   WHERE i.payer_id = (SELECT id FROM cobranca.payer WHERE external_id = 'PR1');

SELECT ok((SELECT priority FROM pr WHERE external_id = 'big') > (SELECT priority FROM pr WHERE external_id = 'small'),
          'a larger debt of the same payer and age comes first');
SELECT ok((SELECT priority FROM pr WHERE external_id = 'old') > 0, 'a debt near limitation is still worked');
SELECT is((SELECT priority FROM pr WHERE external_id = 'prescribed'), 0::numeric,
          'a debt past the 5-year limitation has priority 0');
SELECT is((SELECT priority FROM pr WHERE external_id = 'disputed'), 0::numeric,
          'a disputed invoice has priority 0');
SELECT is((SELECT cobranca.priority(i.id, '2026-02-20') FROM cobranca.invoice i WHERE external_id = 'big'),
          (SELECT cobranca.priority_value(cobranca.payment_probability(i.id, '2026-02-20'),
                                          cobranca.updated_amount(i.id, '2026-02-20'),
                                          i.due_on, '2031-01-10', '2026-02-20', false, 35)
             FROM cobranca.invoice i WHERE external_id = 'big'),
          'priority = probability x updated amount x urgency');

SELECT * FROM finish();
ROLLBACK;
