-- contact is partitioned by month of contact_on (doc/partitioning.md): the
-- job makes its monthly partitions, a contact lands in its month's
-- partition, the one-contact-per-payer-channel-day rule and the reference
-- of contact_event still hold, and a past month is detached only when
-- nothing forbids it.
BEGIN;
SELECT plan(31);

SET LOCAL cobranca.partition_months_ahead = '1';
SELECT cmp_ok(cobranca.maintain_partitions('2026-03-09 12:00+00'), '>=', 2::bigint, 'the job makes partitions');
SELECT ok(to_regclass('cobranca.contact_y2026m03') IS NOT NULL AND to_regclass('cobranca.contact_y2026m04') IS NOT NULL,
          'contact: the as_of month and the next one exist');
SELECT is((SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.oid = 'cobranca.contact_y2026m04'::regclass),
          'FOR VALUES FROM (''2026-04-01'') TO (''2026-05-01'')', 'contact is partitioned by month of the local day');
SELECT is(ARRAY(SELECT conname::text FROM pg_constraint WHERE conrelid = 'cobranca.contact_y2026m04'::regclass
                   AND contype IN ('p', 'u') ORDER BY 1),
          '{contact_y2026m04_one_per_channel_day,contact_y2026m04_pkey}'::text[],
          'a new partition has the keys of the default partition');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE i.indrelid = 'cobranca.contact_y2026m04'::regclass ORDER BY 1),
          '{contact_y2026m04_capacity_idx,contact_y2026m04_due_idx,contact_y2026m04_invoices_idx,contact_y2026m04_one_per_channel_day,contact_y2026m04_pkey}'::text[],
          'and its indexes');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity AND relacl IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM aclexplode(relacl) a WHERE a.grantee <> relowner)
             FROM pg_class WHERE oid = 'cobranca.contact_y2026m04'::regclass),
          'a new partition has row-level security forced and no privilege for any role');

-- fixtures (as in cadence_outbox.sql)
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, address, city, uf, service_phone)
VALUES ('Operadora Mês', '11222333000181', 'health_plan', '123456', 'Rua do Ouvidor, 50', 'Rio de Janeiro', 'RJ', '0800 765 4321');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'Carteira' FROM cobranca.creditor;
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, phone, email)
SELECT p.id, 'P' || n, '987.654.321-00', 'Pagador ' || n, '1199999000' || n, 'p' || n || '@example.com'
  FROM cobranca.portfolio p, generate_series(1, 2) AS n;
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I-' || external_id, 'private', '2026-02-01', '2026-02-27', 120.00 FROM cobranca.payer;

-- ---- routing
SELECT is(cobranca.generate_contacts('2026-03-09 06:00-03'), 2, 'the cadence makes two calls');
SELECT is((SELECT array_agg(DISTINCT tableoid::regclass::text) FROM cobranca.contact), '{cobranca.contact_y2026m03}'::text[],
          'they land in the partition of their local day''s month');
SELECT is(cobranca.generate_contacts('2026-03-09 06:00-03'), 0, 'run again, the cadence adds nothing');
SELECT is((SELECT count(*)::int FROM cobranca.audit_log WHERE table_name = 'contact' AND operation = 'INSERT'), 2,
          'the audit log names the table, not the partition');

-- ---- one contact per payer, channel and day, across the partitions
SELECT throws_ok($$INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at)
                   SELECT creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at
                     FROM cobranca.contact ORDER BY id LIMIT 1$$,
                 '23505', 'duplicate key value violates unique constraint "contact_y2026m03_one_per_channel_day"',
                 'a second contact for the same payer, channel and day is refused');
SELECT lives_ok($$INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at, status)
                   SELECT creditor_id, portfolio_id, payer_id, invoice_ids, channel, '2026-04-02', '2026-04-02 10:00-03', 'sent'
                     FROM cobranca.contact ORDER BY id LIMIT 1$$,
                'the same payer and channel on another day (another month) is accepted');
SELECT is((SELECT tableoid::regclass::text FROM cobranca.contact WHERE contact_on = '2026-04-02'), 'cobranca.contact_y2026m04',
          'it goes to April''s partition');
SELECT is((SELECT count(DISTINCT id)::int FROM cobranca.contact), (SELECT count(*)::int FROM cobranca.contact),
          'ids stay unique across partitions (one identity sequence)');
SELECT lives_ok($$INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at)
                   SELECT creditor_id, portfolio_id, payer_id, invoice_ids, channel, '2031-01-10', '2031-01-10 10:00-03'
                     FROM cobranca.contact ORDER BY id LIMIT 1$$,
                'a contact of a month without partition is accepted');
SELECT is((SELECT tableoid::regclass::text FROM cobranca.contact WHERE contact_on = '2031-01-10'), 'cobranca.contact_default',
          'it waits in the default partition');
SELECT is(cobranca.create_partition('cobranca.contact', '2031-01-01'), true, 'making its month');
SELECT is((SELECT tableoid::regclass::text FROM cobranca.contact WHERE contact_on = '2031-01-10'), 'cobranca.contact_y2031m01',
          'moves it there');

-- ---- contact_event refers to contact (by trigger: 23503 as a foreign key)
SELECT is((cobranca.record_contact_result((SELECT id FROM cobranca.contact WHERE contact_on = '2026-04-02'), 'delivered')).status,
          'delivered', 'a result is recorded for a contact');
SELECT throws_ok($$INSERT INTO cobranca.contact_event (creditor_id, contact_id, outcome, at)
                   SELECT id, 999999999, 'sent', now() FROM cobranca.creditor$$,
                 '23503', 'insert or update on table "contact_event" violates foreign key "contact_event_contact_id_fkey"',
                 'an event for a contact that does not exist is refused');
SELECT throws_ok($$UPDATE cobranca.contact_event SET contact_id = 999999999$$,
                 '23503', NULL, 'an event cannot be moved to a contact that does not exist');
SELECT is((SELECT count(*)::int FROM cobranca.contact_event), 1, 'the event is still there');
SELECT lives_ok($$DELETE FROM cobranca.contact WHERE contact_on = '2026-04-02'$$, 'deleting a contact with events');
SELECT is((SELECT count(*)::int FROM cobranca.contact_event), 0, 'deletes its events (ON DELETE CASCADE)');
SELECT is((cobranca.record_contact_result((SELECT id FROM cobranca.contact ORDER BY id LIMIT 1), 'read')).status,
          'read', 'another result is recorded');
SELECT throws_ok($$TRUNCATE cobranca.contact$$, '23503', NULL,
                 'a TRUNCATE of contact that would leave events behind is refused');

-- ---- detaching a month of contacts
SELECT throws_ok($$SELECT cobranca.detach_partition('cobranca.contact', '2031-01-01')$$, '55000', NULL,
                 'a month that has not ended is not detached');
SELECT throws_ok($$SELECT cobranca.detach_partition('cobranca.contact', '2026-03-01')$$, '55000',
                 'partition cobranca.contact_y2026m03 holds 1 scheduled contacts',
                 'a month with a scheduled contact is not detached');
UPDATE cobranca.contact SET status = 'cancelled' WHERE status = 'scheduled' AND contact_on < '2026-04-01';
INSERT INTO cobranca.audit_hold (creditor_id, reason) SELECT id, 'pt: litigation' FROM cobranca.creditor;
SELECT throws_ok($$SELECT cobranca.detach_partition('cobranca.contact', '2026-03-01')$$, '55000',
                 'partition cobranca.contact_y2026m03 is under an audit hold',
                 'a month under an audit hold of its creditor is not detached');
DELETE FROM cobranca.audit_hold;
SELECT is(cobranca.detach_partition('cobranca.contact', '2026-03-01')::text, 'cobranca_archive.contact_y2026m03',
          'a past month with nothing pending goes to the archive schema');
SELECT ok((SELECT count(*) FROM cobranca.contact_event) = 0
          AND (SELECT count(*) FROM cobranca_archive.contact_y2026m03_event) = 1
          AND NOT EXISTS (SELECT 1 FROM cobranca.contact WHERE contact_on < '2026-04-01'),
          'its contacts leave the table, their events go with them');

SELECT * FROM finish();
ROLLBACK;
