-- The audit rows' fast paths: the indexes of the audit partition kept per
-- backend (a change to them in the session applies to the next row), and
-- the seal's test of what is already sealed (rows a transaction wrote
-- before it called audit_seal() are sealed once).
BEGIN;
SELECT plan(13);

CREATE EXTENSION IF NOT EXISTS amcheck;
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Fast Operadora', '11.222.333/0001-81', 'health_plan', '112233', 'SP');
-- the partition that takes the rows written now
CREATE TEMP TABLE part AS
SELECT a.tableoid::regclass AS rel FROM cobranca.audit_log a ORDER BY a.id DESC LIMIT 1;
CREATE TEMP TABLE mark AS SELECT max(id) AS last FROM cobranca.audit_log;

-- an index made on that partition in the session gets the next rows
DO $$ BEGIN EXECUTE format('CREATE INDEX audit_fast_row_idx ON %s (row_id)', (SELECT rel FROM part)); END $$;
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'Fast P1' FROM cobranca.creditor WHERE name = 'Fast Operadora';
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*)::int FROM cobranca.audit_log a
            WHERE a.row_id = (SELECT id FROM cobranca.portfolio WHERE name = 'Fast P1') AND a.table_name = 'portfolio'),
          1, 'the audit row of a write is found through an index made earlier in the session');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT lives_ok(format('SELECT bt_index_check(%L::regclass, true)',
                       (SELECT n.nspname || '.audit_fast_row_idx' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE c.oid = (SELECT rel FROM part))),
                'every row of the partition is in the new index');
SELECT lives_ok(format('SELECT bt_index_check(%L::regclass, true)',
                       (SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = (SELECT rel FROM part) AND i.indisprimary)),
                'every row of the partition is in its primary key');

-- dropped again in the session: the next row goes in without it
DROP INDEX cobranca.audit_fast_row_idx;
SELECT lives_ok($$ INSERT INTO cobranca.portfolio (creditor_id, name)
                   SELECT id, 'Fast P2' FROM cobranca.creditor WHERE name = 'Fast Operadora' $$,
                'a write after the index is dropped is audited');
SELECT is((SELECT count(*)::int FROM cobranca.audit_log a, mark WHERE a.id > mark.last AND a.table_name = 'portfolio'),
          2, 'both writes have their audit row');

-- the logged values are well-formed jsonb: keys in jsonb's order (as the
-- text form parsed again), every column found by name
SELECT is((SELECT count(*)::int FROM cobranca.audit_log a, mark
            WHERE a.id > mark.last AND a.new_values::text::jsonb::text = a.new_values::text
              AND a.new_values = a.new_values::text::jsonb
              AND a.new_values ->> 'name' LIKE 'Fast P_' AND a.new_values ? 'creditor_id'
              AND a.new_values ? 'id'),
          2, 'the logged rows are the jsonb their text form parses to');

-- a seal in a transaction that wrote audit rows before it
SELECT cmp_ok(cobranca.audit_seal(), '>=', 3::bigint, 'the seal takes the rows this transaction wrote before it');
CREATE TEMP TABLE mark2 AS SELECT max(id) AS last FROM cobranca.audit_log;
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'Fast P3' FROM cobranca.creditor WHERE name = 'Fast Operadora';
UPDATE cobranca.portfolio SET name = 'Fast P3b' WHERE name = 'Fast P3';
SELECT is((SELECT a.old_values::text || ' ' || a.new_values::text FROM cobranca.audit_log a, mark2
            WHERE a.id > mark2.last AND a.operation = 'UPDATE'),
          '{"name": "Fast P3"} {"name": "Fast P3b"}', 'an update logs the changed column only');
SELECT is(cobranca.audit_seal(), (SELECT count(*) FROM cobranca.audit_log a, mark2 WHERE a.id > mark2.last),
          'the next seal in the same transaction takes only the rows written since');
SELECT is((SELECT count(*)::int FROM cobranca.audit_log a, mark2 WHERE a.id > mark2.last), 2,
          'an insert and an update: two rows');
SELECT is(cobranca.audit_seal(), 0::bigint, 'then nothing is pending');
SELECT is((SELECT count(*)::int FROM cobranca.audit_log a, mark
            WHERE a.id > mark.last AND NOT EXISTS (SELECT 1 FROM cobranca.audit_seal s WHERE s.audit_id = a.id)),
          0, 'every row written is sealed');
SELECT is((SELECT ok FROM cobranca.audit_verify()), true, 'the chains verify');

SELECT * FROM finish();
ROLLBACK;
