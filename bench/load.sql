-- The benchmark portfolio, loaded fast: cobranca.generate_sample itself (the
-- very same statements and data), with the per-row work that has nothing to
-- do on a fresh load switched off while it runs and the payment and dispute
-- bookkeeping done once per statement instead of once per row.
--
--   psql -v seed=42 -v payers=N -v months=3 -v as_of=2026-03-09 -f bench/load.sql
--
-- Kept on during the load (per row): tenant keys, document encryption,
-- contract defaults and the invoice's own bookkeeping (BEFORE triggers).  Off:
-- the foreign-key checks of inserted rows (the generator's references are
-- right by construction; pg_restore --disable-triggers does the same), the
-- audit capture (the load is not an ERP's change history), contact stopping
-- and notice triggers (no contacts or notices exist yet), and
-- payment_book/dispute_book, replaced by the statement triggers below that
-- apply the same rules set-based; the secondary indexes are dropped and built
-- again at the end.  Everything is switched back on at the end.  bench/run checks that this gives the same
-- rows as a plain generate_sample call (bench/fingerprint.sql).
\set ON_ERROR_STOP 1
\set QUIET 1
CREATE SCHEMA IF NOT EXISTS bench;

-- what payment_book and the invoice bookkeeping do for one new payment,
-- for every invoice a statement paid
CREATE FUNCTION bench.book_payments() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
  UPDATE cobranca.invoice i
     SET paid_total = i.paid_total + n.paid,
         last_payment_on = GREATEST(i.last_payment_on, n.last_on),
         balance = GREATEST(i.amount - (i.paid_total + n.paid), 0),
         credit = GREATEST((i.paid_total + n.paid) - i.amount, 0),
         status = CASE WHEN i.status IN ('cancelled', 'written_off') THEN i.status
                       WHEN i.amount - (i.paid_total + n.paid) <= 0 THEN 'paid'
                       WHEN i.open_disputes > 0 THEN 'disputed'
                       WHEN i.agreement_id IS NOT NULL THEN 'in_agreement'
                       ELSE 'open' END,
         paid_on = CASE WHEN i.amount - (i.paid_total + n.paid) <= 0
                        THEN GREATEST(i.last_payment_on, n.last_on) END
    FROM (SELECT p.invoice_id, sum(p.amount) AS paid,
                 max((p.paid_at AT TIME ZONE y.timezone)::date) AS last_on
            FROM new_payments p
            JOIN cobranca.invoice iv ON iv.id = p.invoice_id
            JOIN cobranca.payer y ON y.id = iv.payer_id
           GROUP BY p.invoice_id) n
   WHERE i.id = n.invoice_id;
  PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);
  RETURN NULL;
END $$;

-- what dispute_book and the invoice bookkeeping do for new unanswered disputes
CREATE FUNCTION bench.book_disputes() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
  UPDATE cobranca.invoice i
     SET open_disputes = i.open_disputes + n.opened,
         status = CASE WHEN i.status IN ('cancelled', 'written_off') THEN i.status
                       WHEN i.amount - i.paid_total <= 0 THEN 'paid'
                       WHEN i.open_disputes + n.opened > 0 THEN 'disputed'
                       WHEN i.agreement_id IS NOT NULL THEN 'in_agreement'
                       ELSE 'open' END
    FROM (SELECT d.invoice_id, count(*)::integer AS opened
            FROM new_disputes d WHERE d.answered_on IS NULL
           GROUP BY d.invoice_id) n
   WHERE i.id = n.invoice_id;
  PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);
  RETURN NULL;
END $$;

CREATE TEMP TABLE load_off (t regclass, tgname name, mode text);
INSERT INTO load_off
SELECT tgrelid::regclass, tgname,
       CASE tgenabled WHEN 'A' THEN 'ALWAYS' WHEN 'R' THEN 'REPLICA' ELSE '' END
  FROM pg_trigger
 WHERE tgenabled <> 'D'
   AND tgrelid::regclass::text IN ('cobranca.payer', 'cobranca.contract', 'cobranca.invoice',
                                   'cobranca.payment', 'cobranca.dispute', 'cobranca.claim',
                                   'cobranca.hospitalization')
   AND ((NOT tgisinternal
         AND tgname IN ('audit_capture', 'invoice_stop_contacts', 'notice_invoice_status',
                        'notice_dispute', 'notice_dispute_change', 'payment_book', 'dispute_book'))
        OR tgfoid = 'pg_catalog."RI_FKey_check_ins"'::regproc);
SELECT format('ALTER TABLE %s DISABLE TRIGGER %I', t, tgname) FROM load_off \gexec
-- the secondary indexes are built once at the end (the unique ones stay:
-- generate_sample's ON CONFLICT clauses need them)
CREATE TEMP TABLE load_idx AS
SELECT indexrelid::regclass AS idx, pg_get_indexdef(indexrelid) AS def
  FROM pg_index
 WHERE indrelid IN ('cobranca.payer'::regclass, 'cobranca.contract'::regclass, 'cobranca.invoice'::regclass,
                    'cobranca.payment'::regclass, 'cobranca.claim'::regclass)
   AND NOT indisunique;
SELECT format('DROP INDEX %s', idx) FROM load_idx \gexec
CREATE TRIGGER bench_book_payments AFTER INSERT ON cobranca.payment
  REFERENCING NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION bench.book_payments();
CREATE TRIGGER bench_book_disputes AFTER INSERT ON cobranca.dispute
  REFERENCING NEW TABLE AS new_disputes FOR EACH STATEMENT EXECUTE FUNCTION bench.book_disputes();

\timing on
SELECT entity, rows FROM cobranca.generate_sample(:seed, :payers, :months, :'as_of');
\timing off

DROP TRIGGER bench_book_payments ON cobranca.payment;
DROP TRIGGER bench_book_disputes ON cobranca.dispute;
SELECT format('ALTER TABLE %s ENABLE %s TRIGGER %I', t, mode, tgname) FROM load_off \gexec
SELECT def FROM load_idx \gexec
DROP FUNCTION bench.book_payments(), bench.book_disputes();
VACUUM ANALYZE;
