-- The distributed layout (src/sql/94_citus.sql, doc/scaling.md), checked
-- against the catalog: a new table, key or foreign key that Citus could not
-- place fails here.  Then the keys are widened as cobranca.citus_ddl() says
-- (inside this test's transaction) and the extension must still work.
BEGIN;
SELECT plan(17);

CREATE TEMP TABLE lay AS
SELECT l.*, c.oid AS rel, a.attnum AS dist_attnum, a.atttypid AS dist_type, a.attnotnull AS dist_notnull
  FROM cobranca.citus_layout() l
  JOIN pg_catalog.pg_class c ON c.relname = l.table_name AND c.relnamespace = 'cobranca'::regnamespace
  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = l.distribution_column AND NOT a.attisdropped;

-- every relation that Citus would place: the tables, and the partitions of
-- partitioned ones with their root's placement
CREATE TEMP TABLE lay_all AS
SELECT l.table_name, l.placement, l.distribution_column, c.oid AS rel, c.relname, l.rel AS root,
       a.attnum AS dist_attnum
  FROM lay l
 CROSS JOIN LATERAL (SELECT l.rel AS relid UNION SELECT t.relid FROM pg_catalog.pg_partition_tree(l.rel) t) t
  JOIN pg_catalog.pg_class c ON c.oid = t.relid AND c.relkind IN ('r', 'p')
  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = l.distribution_column AND NOT a.attisdropped;

-- ---- the layout rules
SELECT is((SELECT count(*) FROM lay),
          (SELECT count(*) FROM pg_catalog.pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition),
          'every table of the schema has a placement');
SELECT is_empty($$SELECT table_name FROM lay WHERE placement NOT IN ('distributed', 'reference', 'local')$$,
                'placements are distributed, reference or local');
SELECT is_empty($$SELECT table_name FROM lay
                   WHERE placement = 'distributed' AND (dist_attnum IS NULL OR dist_type <> 'bigint'::regtype)$$,
                'every distributed table has its distribution column, a bigint');
SELECT is(ARRAY(SELECT table_name::text FROM lay WHERE placement = 'distributed' AND NOT dist_notnull ORDER BY 1),
          ARRAY['audit_log'],
          'the distribution column is NOT NULL everywhere but in audit_log (rows without a creditor: see doc/scaling.md)');
SELECT ok((SELECT count(*) >= 15 FROM lay WHERE placement = 'distributed')
          AND (SELECT bool_and(placement = 'distributed') FROM lay
                WHERE table_name IN ('payer', 'invoice', 'payment', 'contact', 'default_notice', 'audit_log')),
          'the tenant data is distributed');

CREATE TEMP VIEW fk AS
SELECT con.conname, ch.relname AS child, ch.placement AS child_placement,
       pa.relname AS parent, pa.placement AS parent_placement
  FROM pg_catalog.pg_constraint con
  JOIN lay_all ch ON ch.rel = con.conrelid
  JOIN lay_all pa ON pa.rel = con.confrelid
 WHERE con.contype = 'f';
SELECT is_empty($$SELECT child, conname FROM fk
                   WHERE child_placement IN ('reference', 'local') AND parent_placement = 'distributed'$$,
                'no foreign key from a reference or local table to a distributed table');
SELECT is_empty($$SELECT child, conname FROM fk
                   WHERE child_placement IN ('distributed', 'reference') AND parent_placement = 'local'$$,
                'no foreign key from a distributed or reference table to a local table');

-- a unique key without the distribution column must already fix the
-- creditor: the row's own identity id, or a single-column reference to a row
-- that carries a NOT NULL creditor_id; then adding the column loses nothing
CREATE TEMP VIEW weak_keys AS
SELECT l.relname AS table_name, ic.relname AS key_name
  FROM lay_all l
  JOIN pg_catalog.pg_index i ON i.indrelid = l.rel AND i.indisunique
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
 WHERE l.placement = 'distributed'
   AND NOT (l.dist_attnum = ANY (i.indkey::smallint[]))
   AND NOT EXISTS (
         SELECT 1 FROM pg_catalog.unnest(i.indkey::smallint[]) AS k(attnum)
          WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                          JOIN pg_catalog.pg_attribute ra ON ra.attrelid = l.root AND ra.attname = a.attname
                         WHERE a.attrelid = l.rel AND a.attnum = k.attnum
                           AND a.attname = 'id' AND ra.attidentity <> '')
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
                          JOIN pg_catalog.pg_attribute pc ON pc.attrelid = con.confrelid
                                                         AND pc.attname = 'creditor_id' AND pc.attnotnull
                         WHERE con.conrelid = l.rel AND con.contype = 'f' AND con.conkey = ARRAY[k.attnum]));
SELECT is(ARRAY(SELECT table_name || '.' || key_name FROM weak_keys ORDER BY 1),
          ARRAY['audit_seal.audit_seal_pkey'],
          'every unique key of a distributed table holds the creditor or a column that fixes it (audit_seal.audit_id: the audit row, of that chain)');

-- ---- the statements
CREATE TEMP TABLE ddl AS SELECT * FROM cobranca.citus_ddl();
SELECT is((SELECT count(*) FROM ddl WHERE step = 2 AND statement LIKE 'SELECT create_reference_table(%'),
          (SELECT count(*) FROM lay WHERE placement = 'reference'),
          'one create_reference_table per reference table');
SELECT is((SELECT count(*) FROM ddl WHERE step = 3 AND statement LIKE 'SELECT create_distributed_table(%'),
          (SELECT count(*) FROM lay WHERE placement = 'distributed'),
          'one create_distributed_table per distributed table');
SELECT is((SELECT statement FROM ddl WHERE step = 3 ORDER BY ctid LIMIT 1),
          $$SELECT create_distributed_table('cobranca.payer', 'creditor_id', colocate_with => 'none');$$,
          'payer starts the co-location group; every other distributed table joins it');
SELECT is_empty($$SELECT d.statement FROM ddl d
                   JOIN lay ch ON d.statement LIKE 'SELECT create_%(''' || ch.rel::regclass::text || ''',%'
                   JOIN pg_catalog.pg_constraint con ON con.conrelid = ch.rel AND con.contype = 'f'
                   JOIN lay pa ON pa.rel = con.confrelid AND pa.placement <> 'local'
                   JOIN ddl dp ON dp.statement LIKE 'SELECT create_%(''' || pa.rel::regclass::text || ''',%'
                  WHERE dp.ctid > d.ctid AND pa.rel <> ch.rel$$,
                'every table is placed after the tables it refers to');

-- ---- step 1 applied: the keys Citus needs
DO $$
DECLARE s text;
BEGIN
  FOR s IN SELECT statement FROM ddl WHERE step = 1 ORDER BY ctid LOOP
    EXECUTE s;
  END LOOP;
END $$;
SELECT is_empty($$SELECT l.relname, ic.relname FROM lay_all l
                   JOIN pg_catalog.pg_index i ON i.indrelid = l.rel AND i.indisunique
                   JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
                  WHERE l.placement = 'distributed' AND NOT (l.dist_attnum = ANY (i.indkey::smallint[]))$$,
                'after step 1 every unique key of a distributed table holds the distribution column');
SELECT is_empty($$SELECT con.conname FROM pg_catalog.pg_constraint con
                   JOIN lay_all ch ON ch.rel = con.conrelid AND ch.placement = 'distributed'
                   JOIN lay_all pa ON pa.rel = con.confrelid AND pa.placement = 'distributed'
                  WHERE con.contype = 'f'
                    AND NOT EXISTS (SELECT 1 FROM pg_catalog.generate_subscripts(con.conkey, 1) AS k
                                     WHERE con.conkey[k] = ch.dist_attnum AND con.confkey[k] = pa.dist_attnum)$$,
                'after step 1 every foreign key between distributed tables pairs their distribution columns');

-- ---- and the extension still works on those keys
INSERT INTO cobranca.creditor (name, document, kind, ans_registry)
VALUES ('Operadora Citus', '60574652000161', 'health_plan', '123456');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'citus' FROM cobranca.creditor WHERE document = '60574652000161';
INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name, email)
SELECT creditor_id, id, 'citus-p1', '52998224725', 'Pagadora Citus', 'citus@exemplo.com.br'
  FROM cobranca.portfolio WHERE name = 'citus';
INSERT INTO cobranca.contract (payer_id, creditor_id, portfolio_id, external_id, number, plan_name, plan_type, starts_on)
SELECT id, creditor_id, portfolio_id, 'citus-c1', 'C-1', 'Plano', 'individual', current_date - 400
  FROM cobranca.payer WHERE external_id = 'citus-p1';
INSERT INTO cobranca.invoice (payer_id, contract_id, external_id, kind, competence, issued_on, due_on, amount)
SELECT p.id, c.id, 'citus-i' || m, 'premium',
       date_trunc('month', current_date - 30 * m)::date, current_date - 30 * m - 10, current_date - 30 * m, 300.00
  FROM cobranca.payer p JOIN cobranca.contract c ON c.payer_id = p.id, generate_series(1, 4) m
 WHERE p.external_id = 'citus-p1';
INSERT INTO cobranca.payment (invoice_id, external_id, amount, method)
SELECT id, 'citus-pay1', 100.00, 'pix' FROM cobranca.invoice WHERE external_id = 'citus-i1';
SELECT is((SELECT balance FROM cobranca.invoice WHERE external_id = 'citus-i1'), 200.00::numeric,
          'with the widened keys an ERP''s rows go in and a payment lowers its invoice''s balance');
SELECT is_empty($$SELECT job, error FROM cobranca.run_jobs() WHERE error IS NOT NULL$$,
                'with the widened keys a collection cycle runs every job without error');
SELECT ok((SELECT count(*) FROM cobranca.invoice_score s JOIN cobranca.invoice i ON i.id = s.invoice_id
            WHERE i.external_id LIKE 'citus-i%') > 0
          AND EXISTS (SELECT 1 FROM cobranca.default_notice n JOIN cobranca.payer p ON p.id = (SELECT payer_id FROM cobranca.contract WHERE id = n.contract_id)
                       WHERE p.external_id = 'citus-p1'),
          'and the cycle scored the invoices and drafted the RN 593 notice');

SELECT * FROM finish();
ROLLBACK;
