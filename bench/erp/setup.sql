-- The databases of the ERP write mix (figure 1 of bench/run), each a copy of
-- one loaded sample portfolio (bench/load.sql):
--   ext      the extension as shipped: tenant, bookkeeping and audit triggers
--   plain    the same tables with every user trigger disabled
--   plpgsql  plain, plus bench/baseline/audit.sql (PL/pgSQL jsonb audit trigger)
-- :variant is set by the caller.  Run once on the template with variant
-- "contacts" first, to add the contacts the senders update.
\set ON_ERROR_STOP 1
\set QUIET 1
SELECT :'variant' = 'contacts' AS contacts \gset
\if :contacts
INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at)
SELECT i.creditor_id, i.portfolio_id, i.payer_id, array_agg(i.id), 'email', date '2026-03-09', timestamptz '2026-03-09 09:00-03'
  FROM cobranca.invoice i
 WHERE i.payer_id < (SELECT min(id) + 20000 FROM cobranca.payer)   -- enough to update at random
 GROUP BY 1, 2, 3;
SELECT count(*) FROM (SELECT cobranca.audit_seal()) s;
\endif

SELECT :'variant' IN ('plain', 'plpgsql') AS untriggered \gset
\if :untriggered
ALTER TABLE cobranca.invoice DISABLE TRIGGER USER;
ALTER TABLE cobranca.payment DISABLE TRIGGER USER;
ALTER TABLE cobranca.contact DISABLE TRIGGER USER;
\endif

SELECT :'variant' = 'plpgsql' AS plpgsql \gset
\if :plpgsql
\ir ../baseline/audit.sql
\endif
VACUUM ANALYZE;
