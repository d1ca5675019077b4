-- Notices under row-level security: legal confirms the notices of its
-- portfolios only and still cannot bypass the evidence rules; an ERP's
-- payment cures a notice it cannot write; the guard judges an ERP's
-- cancellation with facts the ERP may not read.
BEGIN;
SELECT plan(13);
\ir notice_fixtures.psql

CREATE ROLE notice_t_legal LOGIN IN ROLE cobranca_legal;
CREATE ROLE notice_t_ana LOGIN IN ROLE cobranca_analyst;
CREATE ROLE notice_t_erp LOGIN IN ROLE cobranca_erp;

CREATE TEMP TABLE k (name text PRIMARY KEY, id bigint);
GRANT SELECT ON k TO PUBLIC;
INSERT INTO k SELECT 'op', pg_temp.operator();
INSERT INTO k SELECT 'c1', pg_temp.contract((SELECT id FROM k WHERE name = 'op'));
INSERT INTO k SELECT 'pf1', portfolio_id FROM cobranca.contract WHERE id = (SELECT id FROM k WHERE name = 'c1');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'PF 2' FROM k WHERE name = 'op';
INSERT INTO k SELECT 'pf2', id FROM cobranca.portfolio WHERE name = 'PF 2';
-- c2 in the second portfolio
INSERT INTO k SELECT 'c2', pg_temp.contract((SELECT id FROM k WHERE name = 'op'));
UPDATE cobranca.payer SET portfolio_id = (SELECT id FROM k WHERE name = 'pf2')
 WHERE id = (SELECT payer_id FROM cobranca.contract WHERE id = (SELECT id FROM k WHERE name = 'c2'));
UPDATE cobranca.contract SET portfolio_id = (SELECT id FROM k WHERE name = 'pf2')
 WHERE id = (SELECT id FROM k WHERE name = 'c2');
INSERT INTO k SELECT 'c1a', pg_temp.premium((SELECT id FROM k WHERE name = 'c1'), '2026-01-10');
INSERT INTO k SELECT 'c1b', pg_temp.premium((SELECT id FROM k WHERE name = 'c1'), '2026-02-10');
INSERT INTO k SELECT 'c2a', pg_temp.premium((SELECT id FROM k WHERE name = 'c2'), '2026-01-10');
INSERT INTO k SELECT 'c2b', pg_temp.premium((SELECT id FROM k WHERE name = 'c2'), '2026-02-10');
SELECT FROM cobranca.generate_notices('2026-02-20');
INSERT INTO k SELECT 'n1', pg_temp.notice((SELECT id FROM k WHERE name = 'c1'));
INSERT INTO k SELECT 'n2', pg_temp.notice((SELECT id FROM k WHERE name = 'c2'));
SELECT FROM cobranca.confirm_notice((SELECT id FROM k WHERE name = 'n2'), 'letter', '2026-02-21 10:00-03', '{"ar": "AR2"}');

INSERT INTO cobranca.assignment (login, portfolio_id) SELECT 'notice_t_legal', id FROM k WHERE name = 'pf1';
INSERT INTO cobranca.assignment (login, portfolio_id) SELECT 'notice_t_ana', id FROM k WHERE name = 'pf1';
INSERT INTO cobranca.erp_login (login, creditor_id) SELECT 'notice_t_erp', id FROM k WHERE name = 'op';

SELECT is((SELECT portfolio_id FROM cobranca.default_notice WHERE id = (SELECT id FROM k WHERE name = 'n2')),
          (SELECT id FROM k WHERE name = 'pf2'), 'the second notice belongs to the second portfolio');

SET ROLE notice_t_legal;
SELECT is((SELECT array_agg(id) FROM cobranca.default_notice), ARRAY[(SELECT id FROM k WHERE name = 'n1')],
          'legal sees the notices of its portfolio only');
SELECT is(cobranca.confirm_notice((SELECT id FROM k WHERE name = 'n1'), 'email', '2026-02-21 10:00-03',
                                  '{"read_receipt": "MDN"}'), date '2026-03-03',
          'legal confirms a notice of its portfolio');
SELECT throws_ok(format('SELECT cobranca.confirm_notice(%s, %L, %L, %L)', (SELECT id FROM k WHERE name = 'n2'),
                        'email', '2026-02-21 10:00-03', '{"read_receipt": "MDN"}'),
                 'P0002', NULL, 'but not one of another portfolio: it does not exist for legal');
SELECT throws_ok(format('UPDATE cobranca.default_notice SET deadline_on = %L WHERE id = %s', '2026-12-31',
                        (SELECT id FROM k WHERE name = 'n1')),
                 '428C9', NULL, 'legal cannot write the deadline either');
SELECT is((SELECT array_agg(contract_id) FROM cobranca.cancellation_eligible),
          ARRAY[(SELECT id FROM k WHERE name = 'c1')], 'cancellation_eligible shows legal its portfolio only');
SELECT throws_ok('SELECT cobranca.generate_notices(''2026-02-20'')', '42501', NULL,
                 'legal does not run the drafting job');
RESET ROLE;

SELECT is((SELECT count(*)::int FROM cobranca.cancellation_eligible), 2, 'both contracts are eligible today');

SET ROLE notice_t_ana;
SELECT throws_ok(format('SELECT cobranca.confirm_notice(%s, %L, %L, %L)', (SELECT id FROM k WHERE name = 'n1'),
                        'email', '2026-02-21 10:00-03', '{"read_receipt": "MDN"}'),
                 '42501', NULL, 'an analyst does not confirm notices');
RESET ROLE;

SET ROLE notice_t_erp;
SELECT lives_ok(format($$INSERT INTO cobranca.payment (invoice_id, paid_at, amount, method)
                         VALUES (%s, '2026-03-01 10:00-03', 450.00, 'pix')$$, (SELECT id FROM k WHERE name = 'c1a')),
                'the ERP records a payment of a listed premium');
INSERT INTO cobranca.hospitalization (contract_id, admitted_on) SELECT id, current_date - 1 FROM k WHERE name = 'c2';
SELECT throws_ok(format($$UPDATE cobranca.contract SET status = 'cancelled', status_reason = 'default' WHERE id = %s$$,
                        (SELECT id FROM k WHERE name = 'c2')),
                 'P0593', NULL, 'the ERP cannot cancel while the holder is in hospital');
UPDATE cobranca.hospitalization SET discharged_on = current_date WHERE contract_id = (SELECT id FROM k WHERE name = 'c2');
SELECT lives_ok(format($$UPDATE cobranca.contract SET status = 'cancelled', status_reason = 'default' WHERE id = %s$$,
                       (SELECT id FROM k WHERE name = 'c2')),
                'after the discharge the ERP cancels a contract whose notice expired unpaid');
RESET ROLE;

SELECT is(pg_temp.notice_status((SELECT id FROM k WHERE name = 'n1')), 'cured',
          'the ERP''s payment cured the notice it cannot write');

SELECT * FROM finish();
ROLLBACK;
