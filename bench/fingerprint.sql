-- One md5 per table of the sample portfolio, over every column that does
-- not depend on the clock or a random IV (created_at, updated_at, the
-- document ciphertext and its keyed digest, both per installation, are left out).  bench/run compares
-- these between bench/load.sql and a plain cobranca.generate_sample call.
\set ON_ERROR_STOP 1
SELECT 'payer' AS t, count(*), md5(string_agg(concat_ws('|', id, creditor_id, portfolio_id, external_id, kind, document,
         name, email, phone, whatsapp, uf, timezone, opt_out), ',' ORDER BY id)) FROM cobranca.payer
UNION ALL
SELECT 'contract', count(*), md5(string_agg(concat_ws('|', id, creditor_id, portfolio_id, payer_id, external_id, number,
         plan_name, plan_ans_registry, plan_type, paid_by_person, starts_on, status), ',' ORDER BY id)) FROM cobranca.contract
UNION ALL
SELECT 'invoice', count(*), md5(string_agg(concat_ws('|', id, creditor_id, portfolio_id, payer_id, contract_id, external_id,
         kind, competence, issued_on, due_on, amount, paid_total, balance, credit, status, open_disputes,
         agreement_id, last_payment_on, paid_on), ',' ORDER BY id)) FROM cobranca.invoice
UNION ALL
SELECT 'payment', count(*), md5(string_agg(concat_ws('|', id, creditor_id, invoice_id, external_id, paid_at, amount, method),
         ',' ORDER BY id)) FROM cobranca.payment
UNION ALL
SELECT 'dispute', count(*), md5(string_agg(concat_ws('|', id, creditor_id, invoice_id, external_id, opened_on, reason,
         answered_on, outcome), ',' ORDER BY id)) FROM cobranca.dispute
UNION ALL
SELECT 'claim', count(*), md5(string_agg(concat_ws('|', id, creditor_id, contract_id, external_id, occurred_on, amount,
         category), ',' ORDER BY id)) FROM cobranca.claim
UNION ALL
SELECT 'hospitalization', count(*), md5(string_agg(concat_ws('|', id, creditor_id, contract_id, external_id, admitted_on,
         discharged_on), ',' ORDER BY id)) FROM cobranca.hospitalization
ORDER BY 1;
