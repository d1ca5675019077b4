-- The model's features: one list, no health data (LGPD art. 11 §5).
BEGIN;
SELECT plan(8);

SELECT is(cobranca.score_feature_names(),
  ARRAY['days_overdue_log', 'amount_log', 'kind_copay', 'kind_private', 'kind_disallowance',
        'kind_installment', 'late_invoices_12m', 'mean_months_late_12m', 'open_disputes',
        'plan_family', 'plan_collective_membership', 'plan_collective_business', 'no_contract',
        'contacts_made']::text[],
  'the feature list is the documented one');

SELECT is((SELECT count(*) FROM unnest(cobranca.score_feature_names()) f
            WHERE f ~* '(claim|sinistr|hospital|internac|procedure|procediment|cid|diagnos|health|saude|icd|exam)'),
          0::bigint, 'no feature name refers to health data');

-- the feature query's dependencies, recorded by PostgreSQL for its SQL-standard body
SELECT ok(EXISTS (SELECT 1 FROM pg_depend d
                   WHERE d.classid = 'pg_proc'::regclass
                     AND d.objid = 'cobranca.score_features(bigint[], date[])'::regprocedure
                     AND d.refclassid = 'pg_class'::regclass
                     AND d.refobjid = 'cobranca.invoice'::regclass),
          'the dependencies of score_features are tracked (it reads cobranca.invoice)');
SELECT is((SELECT count(*) FROM pg_depend d
            WHERE d.classid = 'pg_proc'::regclass
              AND d.objid = 'cobranca.score_features(bigint[], date[])'::regprocedure
              AND d.refclassid = 'pg_class'::regclass
              AND d.refobjid IN ('cobranca.claim'::regclass, 'cobranca.hospitalization'::regclass)),
          0::bigint, 'score_features reads neither claims nor hospitalizations');
SELECT is((SELECT array_agg(DISTINCT c.relname::text ORDER BY c.relname::text)
             FROM pg_depend d JOIN pg_class c ON c.oid = d.refobjid
            WHERE d.classid = 'pg_proc'::regclass
              AND d.objid = 'cobranca.score_features(bigint[], date[])'::regprocedure
              AND d.refclassid = 'pg_class'::regclass),
          ARRAY['contact', 'contract', 'dispute', 'invoice']::text[],
          'score_features reads only invoices, contracts, disputes and contacts');

SELECT is((SELECT features FROM cobranca.score_model WHERE shipped),
          cobranca.score_feature_names(), 'the shipped model uses the feature list');
SELECT is((SELECT count(*) FROM cobranca.score_model WHERE active), 1::bigint,
          'exactly one model is active');
SELECT throws_ok($$INSERT INTO cobranca.score_model (features, coefficients, active)
                   VALUES (cobranca.score_feature_names(),
                           array_fill(0::float8, ARRAY[cardinality(cobranca.score_feature_names()) + 1]), true)$$,
                 '23505', NULL, 'a second active model is refused');

SELECT * FROM finish();
ROLLBACK;
