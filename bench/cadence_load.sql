-- Bench data: :invoices invoices of :payers payers of two creditors, due
-- over 79 days around the bench instant (2026-03-09, a Monday), so that every
-- step of the shipped cadence has invoices due.  Bulk-loaded without the
-- row triggers (tenant keys and balances written directly).
\set ON_ERROR_STOP 1
SET session_replication_role = replica;
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, address, city, uf, service_phone)
VALUES ('Operadora Bench', '11222333000181', 'health_plan', '123456', 'Av. Paulista, 1000', 'São Paulo', 'SP', '0800 000 0001'),
       ('Clínica Bench', '60574652000161', 'clinic', NULL, 'Rua B, 2', 'Recife', 'PE', '81 3000 0000');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'Carteira ' || id FROM cobranca.creditor ORDER BY id;

INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name, email, phone,
                            whatsapp, address, uf, timezone, opt_out)
SELECT 1 + g % 2, 1 + g % 2, 'B' || g, '***.382.206-**', 'Pagador ' || g,
       CASE WHEN g % 10 < 8 THEN 'p' || g || '@example.com' END,
       CASE WHEN g % 10 < 9 THEN '1199' || lpad(g::text, 7, '0') END,
       CASE WHEN g % 10 < 6 THEN '1198' || lpad(g::text, 7, '0') END,
       'Rua ' || g, u.uf,
       CASE u.uf WHEN 'AM' THEN 'America/Manaus' WHEN 'AC' THEN 'America/Rio_Branco' ELSE 'America/Sao_Paulo' END,
       CASE WHEN g % 17 = 0 THEN '{whatsapp}'::text[] ELSE '{}'::text[] END
  FROM generate_series(1, :payers) AS g
  CROSS JOIN LATERAL (SELECT (ARRAY['SP','SP','SP','RJ','RJ','MG','ES','BA','PE','RS','PR','AL','AM','AC'])[1 + g % 14] AS uf) u;

INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, external_id, kind, issued_on, due_on,
                              amount, balance, status, paid_total)
SELECT 1 + p % 2, 1 + p % 2, p, 'I' || g,
       (ARRAY['private','copay','disallowance','installment'])[1 + g % 4],
       d - 20, d, a,
       CASE WHEN g % 20 = 0 THEN 0 ELSE a END,
       CASE WHEN g % 20 = 0 THEN 'paid' WHEN g % 20 = 1 THEN 'disputed' ELSE 'open' END,
       CASE WHEN g % 20 = 0 THEN a ELSE 0 END
  FROM generate_series(1, :invoices) AS g
  CROSS JOIN LATERAL (SELECT 1 + (g - 1) % :payers AS p,
                             date '2026-01-01' + ((g::bigint * 7919) % 79)::int AS d,
                             (50 + (g::bigint * 31) % 900)::numeric(14,2) AS a) x;
RESET session_replication_role;
VACUUM ANALYZE cobranca.payer;
VACUUM ANALYZE cobranca.invoice;
