-- The BI publication (src/sql/93_replica.sql): what it carries and what it
-- leaves out, and the guards of the replica side.  The two-cluster run is
-- test/t/replica.sh.
BEGIN;
SELECT plan(12);

SET LOCAL client_min_messages = error;	-- "wal_level is insufficient" in this cluster
SELECT ok((SELECT count(*) FROM cobranca.create_bi_publication('bi_tap')) >= 20,
          'create_bi_publication() makes the publication');
RESET client_min_messages;

SELECT is(ARRAY(SELECT tablename::text FROM pg_catalog.pg_publication_tables
                 WHERE pubname = 'bi_tap' AND schemaname = 'cobranca' ORDER BY 1),
          ARRAY(SELECT table_name::text FROM cobranca.bi_replica_tables() ORDER BY 1),
          'it carries exactly cobranca.bi_replica_tables()');
SELECT is_empty($$SELECT tablename FROM pg_catalog.pg_publication_tables
                   WHERE pubname = 'bi_tap'
                     AND tablename IN ('audit_log', 'audit_seal', 'audit_seal_state', 'audit_hold',
                                       'key_ring', 'job', 'job_run', 'table_class')$$,
                'no audit trail, key ring, job registry or history');
SELECT is_empty($$SELECT p.tablename FROM pg_catalog.pg_publication_tables p
                   JOIN cobranca.table_class k ON k.table_name = p.tablename
                  WHERE p.pubname = 'bi_tap' AND k.class IN ('audit', 'hold', 'ops')$$,
                'no table of class audit, hold or ops, whatever its name');
SELECT is_empty($$SELECT p.tablename, a FROM pg_catalog.pg_publication_tables p, unnest(p.attnames) a
                   WHERE p.pubname = 'bi_tap' AND a IN ('document_cipher', 'document_digest', 'document_key')$$,
                'no encrypted or digested document, no key reference');
SELECT ok((SELECT 'document' = ANY (attnames) AND 'name' = ANY (attnames)
             FROM pg_catalog.pg_publication_tables WHERE pubname = 'bi_tap' AND tablename = 'payer'),
          'payer goes with its masked document and the other columns');
SELECT ok((SELECT pubviaroot FROM pg_catalog.pg_publication WHERE pubname = 'bi_tap'),
          'partitioned tables publish through their root');

-- an ENABLE ALWAYS or REPLICA trigger would run again on the replica what
-- the primary's trigger already did
SELECT is_empty($$SELECT t.tgrelid::regclass, t.tgname FROM pg_catalog.pg_trigger t
                   JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
                  WHERE c.relname IN (SELECT table_name FROM cobranca.bi_replica_tables())
                    AND c.relnamespace = 'cobranca'::regnamespace
                    AND t.tgenabled IN ('A', 'R')$$,
                'no trigger of a replicated table fires under session_replication_role = replica');

SELECT is(cobranca.is_bi_replica(), false, 'a database without a subscription is no replica');
INSERT INTO cobranca.creditor (name, document, kind) VALUES ('Clínica BI', '11222333000181', 'clinic');
SELECT throws_ok('SELECT cobranca.prepare_bi_replica()', '55000',
                 'this database holds collection data of its own',
                 'prepare_bi_replica() refuses in a database with data');

CREATE ROLE bi_tap_plain LOGIN;
SELECT throws_ok($$SELECT cobranca.create_bi_publication('bi_tap', 'bi_tap_plain')$$, '42501',
                 'role "bi_tap_plain" cannot copy the published tables',
                 'the replica''s login must have REPLICATION and BYPASSRLS');
CREATE ROLE bi_tap_repl LOGIN REPLICATION BYPASSRLS;
SELECT ok((SELECT count(*) FROM cobranca.create_bi_publication('bi_tap', 'bi_tap_repl')) >= 20
          AND has_table_privilege('bi_tap_repl', 'cobranca.invoice', 'SELECT')
          AND has_column_privilege('bi_tap_repl', 'cobranca.payer', 'document', 'SELECT')
          AND NOT has_column_privilege('bi_tap_repl', 'cobranca.payer', 'document_cipher', 'SELECT')
          AND NOT has_table_privilege('bi_tap_repl', 'cobranca.audit_log', 'SELECT')
          AND NOT has_table_privilege('bi_tap_repl', 'cobranca.key_ring', 'SELECT'),
          'it is granted SELECT on what is published and nothing else');

SELECT * FROM finish();
ROLLBACK;
