-- Shape of the public interface (SPEC §3b): tables, keys, foreign keys,
-- the ERP's idempotency keys, the roles and the dump registration.
BEGIN;
SELECT plan(74);

SELECT has_schema('cobranca');
SELECT has_table('cobranca', t, 'table cobranca.' || t || ' exists')
  FROM unnest(ARRAY['creditor','portfolio','assignment','payer','contract','hospitalization',
                    'invoice','payment','dispute','claim','cadence_rule','contact',
                    'default_notice','job']) AS t;

SELECT col_is_pk('cobranca', t, 'id', 'cobranca.' || t || '.id is the primary key')
  FROM unnest(ARRAY['creditor','portfolio','assignment','payer','contract','hospitalization',
                    'invoice','payment','dispute','claim','cadence_rule',
                    'default_notice']) AS t;

-- contact is partitioned by month (doc/partitioning.md): its keys are its
-- partitions', modelled on the default partition; id is the primary key
-- and (payer_id, channel, contact_on) unique in every partition, the job's
-- monthly ones included
SELECT col_is_pk('cobranca', 'contact_default', 'id', 'cobranca.contact_default.id is the primary key');
SELECT cmp_ok(cobranca.maintain_partitions('2031-01-15 12:00+00'), '>', 0::bigint, 'the job makes monthly partitions');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'cobranca.contact'::regclass
                   AND (NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'
                                      AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = c.oid AND attname = 'id')])
                    OR NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'u'
                                      AND pg_get_constraintdef(k.oid) = 'UNIQUE (payer_id, channel, contact_on)'))
                 ORDER BY 1),
          '{}'::text[], 'every partition of cobranca.contact has id as its primary key and (payer_id, channel, contact_on) unique');

-- every domain table carries the tenant key, not null
SELECT col_not_null('cobranca', t, 'creditor_id', 'cobranca.' || t || '.creditor_id is not null')
  FROM unnest(ARRAY['portfolio','assignment','payer','contract','hospitalization','invoice',
                    'payment','dispute','claim','contact','default_notice']) AS t;

-- ERP idempotency: (creditor_id, external_id) unique where the ERP writes
SELECT col_is_unique('cobranca', t, ARRAY['creditor_id','external_id'],
                     'cobranca.' || t || ' is unique on (creditor_id, external_id)')
  FROM unnest(ARRAY['payer','contract','hospitalization','invoice','payment','dispute','claim']) AS t;

SELECT fk_ok('cobranca', 'invoice', 'payer_id', 'cobranca', 'payer', 'id');
SELECT fk_ok('cobranca', 'invoice', 'contract_id', 'cobranca', 'contract', 'id');
SELECT fk_ok('cobranca', 'payment', 'invoice_id', 'cobranca', 'invoice', 'id');
SELECT fk_ok('cobranca', 'dispute', 'invoice_id', 'cobranca', 'invoice', 'id');
SELECT fk_ok('cobranca', 'contract', 'payer_id', 'cobranca', 'payer', 'id');
SELECT fk_ok('cobranca', 'payer', 'portfolio_id', 'cobranca', 'portfolio', 'id');

SELECT has_role(r) FROM unnest(ARRAY['cobranca_erp','cobranca_analyst','cobranca_supervisor',
                                     'cobranca_legal','cobranca_admin']) AS r;

SELECT col_type_is('cobranca', 'invoice', 'amount', 'numeric(14,2)', 'amounts are numeric(14,2)');
SELECT col_type_is('cobranca', 'payer', 'opt_out', 'text[]', 'payer.opt_out is text[]');
SELECT has_function('cobranca', 'cpf_valid', ARRAY['text']);
SELECT has_function('cobranca', 'cnpj_valid', ARRAY['text']);
SELECT function_returns('cobranca', 'cpf_valid', ARRAY['text'], 'boolean');

-- user data survives pg_dump: every domain table is registered
SELECT ok(EXISTS (SELECT 1 FROM pg_extension e
                   WHERE e.extname = 'cobranca'
                     AND ('cobranca.' || t)::regclass = ANY (e.extconfig)),
          'cobranca.' || t || ' is dumped with its rows')
  FROM unnest(ARRAY['creditor','portfolio','assignment','payer','contract','hospitalization',
                    'invoice','payment','dispute','claim']) AS t;

SELECT * FROM finish();
ROLLBACK;
