-- Bulk loading for ERPs: COPY into cobranca.<table>_load.
--
-- PostgreSQL refuses COPY FROM into a table under row-level security for a
-- role the policies apply to, and every table here is under forced RLS.  A
-- loading view per ERP table takes the COPY instead: it has the columns an
-- ERP writes (doc/spec.md §3b), the table's defaults, and an INSTEAD OF
-- INSERT trigger that inserts each row into the table as the loading user,
-- so the policies, the tenant and bookkeeping triggers, the checks and the
-- audit apply to every row exactly as to a plain INSERT.  A row whose
-- (creditor_id, external_id) is already there is skipped, so re-sending a
-- file is harmless; COPY reports the rows that were new.  Reading a loading
-- view returns nothing.
--
-- The views, their trigger functions and comments are generated from one
-- list, so a column added to the list reaches all four places at once.

DO $load$
DECLARE
	t record;
	d record;
	cols text;
	vals text;
BEGIN
	FOR t IN
		SELECT * FROM (VALUES
			('payer', ARRAY['creditor_id', 'portfolio_id', 'external_id', 'kind', 'document', 'name',
			                'email', 'phone', 'whatsapp', 'address', 'uf', 'timezone', 'opt_out']),
			('contract', ARRAY['creditor_id', 'portfolio_id', 'payer_id', 'external_id', 'number',
			                   'plan_name', 'plan_ans_registry', 'plan_type', 'paid_by_person',
			                   'starts_on', 'status', 'status_reason']),
			('hospitalization', ARRAY['contract_id', 'external_id', 'admitted_on', 'discharged_on']),
			('invoice', ARRAY['payer_id', 'contract_id', 'external_id', 'kind', 'competence',
			                  'issued_on', 'due_on', 'amount']),
			('payment', ARRAY['invoice_id', 'external_id', 'paid_at', 'amount', 'method']),
			('dispute', ARRAY['invoice_id', 'external_id', 'opened_on', 'reason', 'answered_on',
			                  'outcome']),
			('claim', ARRAY['contract_id', 'external_id', 'occurred_on', 'amount', 'category'])
		) AS l(tbl, cols)
	LOOP
		SELECT string_agg(pg_catalog.quote_ident(c), ', ' ORDER BY o),
		       string_agg('NEW.' || pg_catalog.quote_ident(c), ', ' ORDER BY o)
		  INTO cols, vals
		  FROM unnest(t.cols) WITH ORDINALITY AS u(c, o);

		EXECUTE format('CREATE VIEW cobranca.%1$I WITH (security_barrier = true) AS SELECT %2$s FROM cobranca.%3$I WHERE false',
		               t.tbl || '_load', cols, t.tbl);
		-- the table's defaults, for the columns a COPY leaves out
		FOR d IN
			SELECT a.attname, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS expr
			  FROM pg_catalog.pg_attribute a
			  JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
			 WHERE a.attrelid = ('cobranca.' || t.tbl)::regclass AND a.attname = ANY (t.cols)
			 ORDER BY a.attnum
		LOOP
			EXECUTE format('ALTER VIEW cobranca.%I ALTER COLUMN %I SET DEFAULT %s',
			               t.tbl || '_load', d.attname, d.expr);
		END LOOP;

		EXECUTE format($f$
			CREATE FUNCTION cobranca.%1$I() RETURNS trigger
			  LANGUAGE plpgsql
			  SET search_path = pg_catalog, pg_temp
			AS $body$
			DECLARE
			  n bigint;
			BEGIN
			  INSERT INTO cobranca.%2$I (%3$s) VALUES (%4$s)
			    ON CONFLICT (creditor_id, external_id) DO NOTHING;
			  GET DIAGNOSTICS n = ROW_COUNT;
			  RETURN CASE WHEN n = 1 THEN NEW END;
			END
			$body$$f$,
			t.tbl || '_load_insert', t.tbl, cols, vals);
		EXECUTE format('CREATE TRIGGER load_insert INSTEAD OF INSERT ON cobranca.%I
		                FOR EACH ROW EXECUTE FUNCTION cobranca.%I()',
		               t.tbl || '_load', t.tbl || '_load_insert');

		EXECUTE format('COMMENT ON VIEW cobranca.%I IS %L', t.tbl || '_load',
		               format('Bulk loading of cobranca.%s for ERPs: COPY cobranca.%s_load (columns) FROM ...; '
		                      'each row is inserted into %s as the loading user (policies, triggers, checks and audit apply); '
		                      'a row whose (creditor_id, external_id) exists is skipped; reads return nothing',
		                      t.tbl, t.tbl, t.tbl));
		EXECUTE format('COMMENT ON FUNCTION cobranca.%I() IS %L', t.tbl || '_load_insert',
		               format('INSTEAD OF INSERT trigger of cobranca.%s_load: inserts the row into cobranca.%s, '
		                      'skipping it when its (creditor_id, external_id) exists', t.tbl, t.tbl));
		EXECUTE format('COMMENT ON TRIGGER load_insert ON cobranca.%I IS %L', t.tbl || '_load',
		               format('inserts each loaded row into cobranca.%s', t.tbl));
		EXECUTE format('REVOKE ALL ON cobranca.%I FROM PUBLIC', t.tbl || '_load');
		EXECUTE format('GRANT INSERT ON cobranca.%I TO cobranca_erp, cobranca_admin', t.tbl || '_load');
		EXECUTE format('REVOKE ALL ON FUNCTION cobranca.%I() FROM PUBLIC', t.tbl || '_load_insert');
	END LOOP;
END
$load$;
