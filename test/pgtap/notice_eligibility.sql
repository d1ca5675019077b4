-- RN 593 default: who is subject, what counts, when the notice is drafted
-- and what it says.  Fixed dates: the scenarios are as of February 2026.
BEGIN;
SELECT plan(38);
\ir notice_fixtures.psql

CREATE TEMP TABLE k (name text PRIMARY KEY, id bigint);
CREATE TEMP TABLE inv (name text PRIMARY KEY, id bigint);

INSERT INTO k SELECT 'op', pg_temp.operator();
INSERT INTO k SELECT 'c1', pg_temp.contract((SELECT id FROM k WHERE name = 'op'), number => 'IND-0001');
INSERT INTO k SELECT 'c2', pg_temp.contract((SELECT id FROM k WHERE name = 'op'));
INSERT INTO k SELECT 'c3', pg_temp.contract((SELECT id FROM k WHERE name = 'op'));
INSERT INTO k SELECT 'c4', pg_temp.contract((SELECT id FROM k WHERE name = 'op'));
INSERT INTO k SELECT 'c5', pg_temp.contract((SELECT id FROM k WHERE name = 'op'), 'family');
INSERT INTO k SELECT 'c6', pg_temp.contract((SELECT id FROM k WHERE name = 'op'), 'collective_business');
INSERT INTO k SELECT 'c7', pg_temp.contract((SELECT id FROM k WHERE name = 'op'), 'collective_membership', true);
INSERT INTO k SELECT 'c8', pg_temp.contract((SELECT id FROM k WHERE name = 'op'));

-- c1: two premiums unpaid
INSERT INTO inv SELECT 'c1a', pg_temp.premium((SELECT id FROM k WHERE name = 'c1'), '2026-01-10');
INSERT INTO inv SELECT 'c1b', pg_temp.premium((SELECT id FROM k WHERE name = 'c1'), '2026-02-10');
-- c2: one unpaid, the next paid on time
INSERT INTO inv SELECT 'c2a', pg_temp.premium((SELECT id FROM k WHERE name = 'c2'), '2026-01-10');
INSERT INTO inv SELECT 'c2b', pg_temp.premium((SELECT id FROM k WHERE name = 'c2'), '2026-02-10');
SELECT FROM pg_temp.pay((SELECT id FROM inv WHERE name = 'c2b'), '2026-02-09 10:00-03');
-- c3: December paid late (on 15 February), January unpaid
INSERT INTO inv SELECT 'c3a', pg_temp.premium((SELECT id FROM k WHERE name = 'c3'), '2025-12-10');
INSERT INTO inv SELECT 'c3b', pg_temp.premium((SELECT id FROM k WHERE name = 'c3'), '2026-01-10');
SELECT FROM pg_temp.pay((SELECT id FROM inv WHERE name = 'c3a'), '2026-02-15 10:00-03');
-- c4: January unpaid, February disputed
INSERT INTO inv SELECT 'c4a', pg_temp.premium((SELECT id FROM k WHERE name = 'c4'), '2026-01-10');
INSERT INTO inv SELECT 'c4b', pg_temp.premium((SELECT id FROM k WHERE name = 'c4'), '2026-02-10');
SELECT FROM pg_temp.dispute((SELECT id FROM inv WHERE name = 'c4b'), '2026-02-12');
-- c5: January in an agreement, February unpaid
INSERT INTO inv SELECT 'c5a', pg_temp.premium((SELECT id FROM k WHERE name = 'c5'), '2026-01-10');
INSERT INTO inv SELECT 'c5b', pg_temp.premium((SELECT id FROM k WHERE name = 'c5'), '2026-02-10');
SELECT FROM pg_temp.agree((SELECT id FROM inv WHERE name = 'c5a'));
-- c6: company-paid collective, two unpaid
INSERT INTO inv SELECT 'c6a', pg_temp.premium((SELECT id FROM k WHERE name = 'c6'), '2026-01-10');
INSERT INTO inv SELECT 'c6b', pg_temp.premium((SELECT id FROM k WHERE name = 'c6'), '2026-02-10');
-- c7: collective membership paid by the member, two unpaid
INSERT INTO inv SELECT 'c7a', pg_temp.premium((SELECT id FROM k WHERE name = 'c7'), '2026-01-10');
INSERT INTO inv SELECT 'c7b', pg_temp.premium((SELECT id FROM k WHERE name = 'c7'), '2026-02-10');
-- c8: one unpaid more than 12 months ago, one recent
INSERT INTO inv SELECT 'c8a', pg_temp.premium((SELECT id FROM k WHERE name = 'c8'), '2025-01-10');
INSERT INTO inv SELECT 'c8b', pg_temp.premium((SELECT id FROM k WHERE name = 'c8'), '2026-01-10');

CREATE TEMP VIEW f AS
SELECT k.name, f.* FROM cobranca.default_facts('2026-02-20') f JOIN k ON k.id = f.contract_id;

-- what counts
SELECT results_eq(
  $$SELECT unpaid_premiums, default_since, days_in_default, subject, amount_due FROM f WHERE name = 'c1'$$,
  $$VALUES (2, date '2026-01-10', 41, true, 900.00::numeric)$$,
  'two premiums unpaid: counted from the oldest due date');
SELECT is((SELECT unpaid_invoice_ids FROM f WHERE name = 'c1'),
          ARRAY[(SELECT id FROM inv WHERE name = 'c1a'), (SELECT id FROM inv WHERE name = 'c1b')],
          'the unpaid premiums, oldest first');
SELECT is((SELECT unpaid_premiums FROM f WHERE name = 'c2'), 1, 'a premium paid on time does not count');
SELECT results_eq($$SELECT unpaid_premiums, default_since, days_in_default FROM f WHERE name = 'c3'$$,
                  $$VALUES (1, date '2026-01-10', 41)$$,
                  'a premium paid late does not count, nor do its days late');
SELECT is((SELECT status FROM cobranca.invoice WHERE id = (SELECT id FROM inv WHERE name = 'c4b')), 'disputed',
          'the disputed premium is disputed');
SELECT is((SELECT unpaid_premiums FROM f WHERE name = 'c4'), 1, 'a disputed premium does not count');
SELECT is((SELECT unpaid_premiums FROM f WHERE name = 'c5'), 1, 'a premium in an agreement does not count');
SELECT is((SELECT subject FROM f WHERE name = 'c6'), false, 'company-paid collective plan: not subject to RN 593');
SELECT is((SELECT subject FROM f WHERE name = 'c7'), true, 'collective plan paid by the member: subject to RN 593');
SELECT is((SELECT unpaid_premiums FROM f WHERE name = 'c8'), 1, 'a premium unpaid more than 12 months ago does not count');

-- drafting: day 35 of default in the payer's time zone
SELECT is(cobranca.draft_notices('2026-02-14 02:00+00'), 0::bigint,
          'job at 23:00 of 13 February in São Paulo (day 34): nothing drafted');
SELECT is(cobranca.draft_notices('2026-02-14 03:30+00'), 2::bigint,
          'job at 00:30 of 14 February in São Paulo (day 35): two notices');
SELECT set_eq($$SELECT k.name FROM cobranca.default_notice n JOIN k ON k.id = n.contract_id AND k.name LIKE 'c%'$$,
              ARRAY['c1', 'c7'],
              'drafted for two unpaid premiums (individual, member-paid collective) only');
SELECT is(cobranca.generate_notices('2026-02-20'), 0, 'idempotent: nothing more to draft');
SELECT is(cobranca.generate_notices('2026-03-20'), 0, 'one live notice per contract and default');
SELECT is(cobranca.generate_notices('2024-11-20'), 0, 'nothing before RN 593 came into force');
SELECT throws_ok(
  format($$INSERT INTO cobranca.default_notice (creditor_id, portfolio_id, contract_id, invoice_ids, amount_due,
                                                default_since, drafted_on, body)
           SELECT creditor_id, portfolio_id, contract_id, invoice_ids, amount_due, default_since, drafted_on, body
             FROM cobranca.default_notice WHERE contract_id = %s$$, (SELECT id FROM k WHERE name = 'c1')),
  '23505', NULL, 'a second live notice for the same contract is refused (concurrent drafting)');

-- the creditor's notice day
UPDATE cobranca.creditor SET notice_day = 45 WHERE id = (SELECT id FROM k WHERE name = 'op');
INSERT INTO k SELECT 'c9', pg_temp.contract((SELECT id FROM k WHERE name = 'op'));
INSERT INTO inv SELECT 'c9a', pg_temp.premium((SELECT id FROM k WHERE name = 'c9'), '2026-01-10');
INSERT INTO inv SELECT 'c9b', pg_temp.premium((SELECT id FROM k WHERE name = 'c9'), '2026-02-10');
SELECT is(cobranca.generate_notices('2026-02-23'), 0, 'notice_day 45: nothing on day 44');
SELECT is(cobranca.generate_notices('2026-02-24'), 1, 'notice_day 45: drafted on day 45');

-- the notice
CREATE TEMP VIEW n1 AS
SELECT n.* FROM cobranca.default_notice n WHERE contract_id = (SELECT id FROM k WHERE name = 'c1');
SELECT results_eq(
  $$SELECT status, amount_due, default_since, drafted_on, deadline_on FROM n1$$,
  $$VALUES ('draft'::text, 900.00::numeric(14,2), date '2026-01-10', date '2026-02-14', NULL::date)$$,
  'draft: amount, first day of default, drafting date, no deadline yet');
SELECT is((SELECT invoice_ids FROM n1),
          ARRAY[(SELECT id FROM inv WHERE name = 'c1a'), (SELECT id FROM inv WHERE name = 'c1b')],
          'lists both overdue premiums');

CREATE FUNCTION pg_temp.body_has(piece text) RETURNS boolean
  LANGUAGE sql AS $$ SELECT position(piece IN body) > 0 FROM n1 $$;
SELECT ok(pg_temp.body_has('Saúde Boa Operadora Ltda, CNPJ 11.222.333/0001-81, registro ANS nº 123456'),
          'body: operator name, CNPJ and ANS registry');
SELECT ok(pg_temp.body_has('Endereço: Av. Paulista, 1000, São Paulo/SP'), 'body: operator address');
SELECT ok(pg_temp.body_has('Beneficiário titular: Maria da Silva'), 'body: the beneficiary');
SELECT ok(pg_temp.body_has('Plano: Plano Essencial Enfermaria, registro do produto na ANS nº 456789012'),
          'body: plan name and ANS registration');
SELECT ok(pg_temp.body_has('Contrato nº IND-0001'), 'body: contract number');
SELECT ok(pg_temp.body_has('competência 01/2026, vencimento em 10/01/2026: R$ 450,00')
          AND pg_temp.body_has('competência 02/2026, vencimento em 10/02/2026: R$ 450,00'),
          'body: each premium with competence, due date and amount');
SELECT ok(pg_temp.body_has('Período de inadimplência: desde 10/01/2026 (35 dias).'), 'body: the period of default');
-- 450 + 2% + 1%/month × 35/30, and 450 + 2% + 1%/month × 4/30
SELECT ok(pg_temp.body_has('Valor original em aberto: R$ 900,00')
          AND pg_temp.body_has('ao mês pro rata die: R$ 923,85'), 'body: original and updated total');
SELECT ok(pg_temp.body_has('10 (dez) dias corridos contados do recebimento'), 'body: the deadline rule');
SELECT ok(pg_temp.body_has('PIX (chave pix@saudeboa.com.br) ou boleto'), 'body: payment means');
SELECT ok(pg_temp.body_has('telefone 0800 123 4567; e-mail atendimento@saudeboa.com.br; site www.saudeboa.com.br'),
          'body: service channels');
SELECT ok(pg_temp.body_has('poderá ser suspenso ou cancelado por inadimplência'), 'body: the consequence');

-- never health data
INSERT INTO cobranca.claim (creditor_id, contract_id, occurred_on, amount, category)
SELECT creditor_id, id, '2026-01-20', 12000, 'oncologia' FROM cobranca.contract WHERE id = (SELECT id FROM k WHERE name = 'c7');
INSERT INTO cobranca.hospitalization (creditor_id, contract_id, admitted_on)
SELECT creditor_id, id, '2026-01-25' FROM cobranca.contract WHERE id = (SELECT id FROM k WHERE name = 'c7');
SELECT ok((SELECT body FROM cobranca.default_notice WHERE contract_id = (SELECT id FROM k WHERE name = 'c7'))
          = cobranca.notice_body((SELECT id FROM k WHERE name = 'c7'),
                                 (SELECT invoice_ids FROM cobranca.default_notice
                                   WHERE contract_id = (SELECT id FROM k WHERE name = 'c7')),
                                 '2026-02-14'),
          'the body does not change with claims or hospitalizations');
SELECT ok((SELECT body !~* 'oncolog|CID|diagn|procedim' FROM cobranca.default_notice
            WHERE contract_id = (SELECT id FROM k WHERE name = 'c7')),
          'the body carries no diagnosis, procedure or claim category');

-- drafted in the payer's time zone
INSERT INTO k SELECT 'c10', pg_temp.contract((SELECT id FROM k WHERE name = 'op'), timezone => 'America/Rio_Branco');
INSERT INTO inv SELECT 'c10a', pg_temp.premium((SELECT id FROM k WHERE name = 'c10'), '2026-03-10');
INSERT INTO inv SELECT 'c10b', pg_temp.premium((SELECT id FROM k WHERE name = 'c10'), '2026-04-10');
-- day 45 of default is 24 April; 04:30 UTC is 23:30 of 23 April in Rio Branco
SELECT is(cobranca.draft_notices('2026-04-24 04:30+00'), 0::bigint, 'Rio Branco: still day 44 at 04:30 UTC');
SELECT is(cobranca.draft_notices('2026-04-24 05:30+00'), 1::bigint, 'Rio Branco: day 45 at 05:30 UTC');
SELECT is((SELECT drafted_on FROM cobranca.default_notice WHERE contract_id = (SELECT id FROM k WHERE name = 'c10')),
          date '2026-04-24', 'drafted_on is the payer''s local date');

SELECT * FROM finish();
ROLLBACK;
