-- cobranca 0.1.0--0.2.0: generated from updates/0.1.0--0.2.0/*.sql by make; do not edit.
\echo Use "ALTER EXTENSION cobranca UPDATE" to load this file. \quit

-- ==== updates/0.1.0--0.2.0/00_release.sql
-- cobranca 0.1.0 -> 0.2.0.
--
-- Each part of this upgrade script follows the install-script part (src/sql)
-- whose objects it changes, and brings a 0.1.0 database, data in place, to
-- exactly what a fresh CREATE EXTENSION of 0.2.0 builds: test/t/upgrade.sh
-- compares the two catalogs object by object.

-- ==== updates/0.1.0--0.2.0/05_checks_hostile.sql
-- 0.2.0: value checks that name the field and never echo a huge value (validate.c)

CREATE FUNCTION cobranca.check_text(field text, value text, max_chars integer, multiline boolean)
  RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_text'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_text(text, text, integer, boolean) IS
  'true when value has 1 to max_chars characters and no control character (tab, line feed, carriage return allowed when multiline); otherwise raises 23514, 22001 or 22021 naming the field and showing at most 60 characters of the value';

CREATE FUNCTION cobranca.check_pattern(field text, value text, pattern text, expected text)
  RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_pattern'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_pattern(text, text, text, text) IS
  'true when value matches the regular expression pattern; otherwise raises 23514 naming the field and value and saying what is expected';

CREATE FUNCTION cobranca.check_date(field text, value date) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_date'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_date(text, date) IS
  'true for a finite date from 1900-01-01 to 2099-12-31; otherwise raises 22008 naming the field and value';

CREATE FUNCTION cobranca.check_timestamp(field text, value timestamptz) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_timestamp'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_timestamp(text, timestamptz) IS
  'true for a finite instant whose UTC date is from 1900-01-01 to 2099-12-31; otherwise raises 22008 naming the field and value';

CREATE FUNCTION cobranca.check_members(field text, "values" text[], allowed text[]) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_members'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_members(text, text[], text[]) IS
  'true when every element of values is one of allowed; otherwise raises 23514 naming the element and listing the allowed values';

CREATE FUNCTION cobranca.check_finite(field text, "values" float8[]) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_finite'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_finite(text, float8[]) IS
  'true when no element is NULL, NaN or infinite; otherwise raises 23514 naming the element';

CREATE FUNCTION cobranca.show_value(value text) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_show_value'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.show_value(text) IS
  'a value as error messages show it: at most 60 characters (then its length), control characters as \xNN';

CREATE FUNCTION cobranca.document_normalize(kind text, document text, field text) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_document_normalize'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.document_normalize(text, text, text) IS
  'document_normalize(kind, document) whose errors name the column field (e.g. payer.document)';

-- ==== updates/0.1.0--0.2.0/10_tables_hostile.sql
-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.creditor
  DROP CONSTRAINT creditor_name_check,
  ADD CONSTRAINT creditor_name_check CHECK (cobranca.check_text('creditor.name', name, 200, false)),
  DROP CONSTRAINT creditor_ans_registry_check,
  ADD CONSTRAINT creditor_ans_registry_check CHECK (cobranca.check_pattern('creditor.ans_registry', ans_registry, '^[0-9]{6}$', 'the 6 digits of the operator''s ANS registry')),
  ADD CONSTRAINT creditor_address_check CHECK (cobranca.check_text('creditor.address', address, 500, true)),
  ADD CONSTRAINT creditor_city_check CHECK (cobranca.check_text('creditor.city', city, 100, false)),
  DROP CONSTRAINT creditor_pix_key_check,
  ADD CONSTRAINT creditor_pix_key_check CHECK (cobranca.check_pattern('creditor.pix_key', pix_key, '^[!-~]{1,77}$', '1 to 77 printable ASCII characters without blanks: a CPF, CNPJ, e-mail, +55 phone or random key')),
  ADD CONSTRAINT creditor_service_phone_check CHECK (cobranca.check_text('creditor.service_phone', service_phone, 60, false)),
  ADD CONSTRAINT creditor_service_email_check CHECK (cobranca.check_text('creditor.service_email', service_email, 254, false)),
  ADD CONSTRAINT creditor_service_site_check CHECK (cobranca.check_text('creditor.service_site', service_site, 200, false)),
  DROP CONSTRAINT creditor_claims_break_even_pct_check,
  ADD CONSTRAINT creditor_claims_break_even_pct_check CHECK (cobranca.check_range('creditor.claims_break_even_pct', claims_break_even_pct, 0.01, 100));
ALTER TABLE cobranca.portfolio
  DROP CONSTRAINT portfolio_name_check,
  ADD CONSTRAINT portfolio_name_check CHECK (cobranca.check_text('portfolio.name', name, 200, false));
ALTER TABLE cobranca.payer
  DROP CONSTRAINT payer_external_id_check,
  ADD CONSTRAINT payer_external_id_check CHECK (cobranca.check_text('payer.external_id', external_id, 100, false)),
  DROP CONSTRAINT payer_name_check,
  ADD CONSTRAINT payer_name_check CHECK (cobranca.check_text('payer.name', name, 200, false)),
  DROP CONSTRAINT payer_email_check,
  ADD CONSTRAINT payer_email_check CHECK (cobranca.check_text('payer.email', email, 254, false)
    AND cobranca.check_pattern('payer.email', email, '^[^@[:space:]]+@[^@[:space:]]+$', 'an e-mail address such as nome@example.com.br')),
  DROP CONSTRAINT payer_phone_check,
  ADD CONSTRAINT payer_phone_check CHECK (cobranca.check_pattern('payer.phone', phone, '^\+?[0-9]{10,15}$', '10 to 15 digits, optionally after a +, without punctuation (e.g. +5511987654321)')),
  DROP CONSTRAINT payer_whatsapp_check,
  ADD CONSTRAINT payer_whatsapp_check CHECK (cobranca.check_pattern('payer.whatsapp', whatsapp, '^\+?[0-9]{10,15}$', '10 to 15 digits, optionally after a +, without punctuation (e.g. +5511987654321)')),
  ADD CONSTRAINT payer_address_check CHECK (cobranca.check_text('payer.address', address, 500, true));
ALTER TABLE cobranca.contract
  DROP CONSTRAINT contract_external_id_check,
  ADD CONSTRAINT contract_external_id_check CHECK (cobranca.check_text('contract.external_id', external_id, 100, false)),
  DROP CONSTRAINT contract_number_check,
  ADD CONSTRAINT contract_number_check CHECK (cobranca.check_text('contract.number', number, 60, false)),
  DROP CONSTRAINT contract_plan_name_check,
  ADD CONSTRAINT contract_plan_name_check CHECK (cobranca.check_text('contract.plan_name', plan_name, 200, false)),
  DROP CONSTRAINT contract_plan_ans_registry_check,
  ADD CONSTRAINT contract_plan_ans_registry_check CHECK (cobranca.check_pattern('contract.plan_ans_registry', plan_ans_registry, '^[0-9]{6,9}$', 'the plan''s ANS registry, 6 to 9 digits')),
  ADD CONSTRAINT contract_starts_on_check CHECK (cobranca.check_date('contract.starts_on', starts_on));
ALTER TABLE cobranca.hospitalization
  DROP CONSTRAINT hospitalization_external_id_check,
  ADD CONSTRAINT hospitalization_external_id_check CHECK (cobranca.check_text('hospitalization.external_id', external_id, 100, false)),
  ADD CONSTRAINT hospitalization_admitted_on_check CHECK (cobranca.check_date('hospitalization.admitted_on', admitted_on)),
  ADD CONSTRAINT hospitalization_discharged_on_check CHECK (cobranca.check_date('hospitalization.discharged_on', discharged_on));
ALTER TABLE cobranca.invoice
  DROP CONSTRAINT invoice_external_id_check,
  ADD CONSTRAINT invoice_external_id_check CHECK (cobranca.check_text('invoice.external_id', external_id, 100, false)),
  ADD CONSTRAINT invoice_competence_check CHECK (cobranca.check_date('invoice.competence', competence)),
  ADD CONSTRAINT invoice_issued_on_check CHECK (cobranca.check_date('invoice.issued_on', issued_on)),
  ADD CONSTRAINT invoice_due_on_check CHECK (cobranca.check_date('invoice.due_on', due_on));
ALTER TABLE cobranca.payment
  DROP CONSTRAINT payment_external_id_check,
  ADD CONSTRAINT payment_external_id_check CHECK (cobranca.check_text('payment.external_id', external_id, 100, false)),
  ADD CONSTRAINT payment_paid_at_check CHECK (cobranca.check_timestamp('payment.paid_at', paid_at));
ALTER TABLE cobranca.dispute
  DROP CONSTRAINT dispute_external_id_check,
  ADD CONSTRAINT dispute_external_id_check CHECK (cobranca.check_text('dispute.external_id', external_id, 100, false)),
  ADD CONSTRAINT dispute_opened_on_check CHECK (cobranca.check_date('dispute.opened_on', opened_on)),
  DROP CONSTRAINT dispute_reason_check,
  ADD CONSTRAINT dispute_reason_check CHECK (cobranca.check_text('dispute.reason', reason, 2000, true)),
  ADD CONSTRAINT dispute_answered_on_check CHECK (cobranca.check_date('dispute.answered_on', answered_on));
ALTER TABLE cobranca.claim
  DROP CONSTRAINT claim_external_id_check,
  ADD CONSTRAINT claim_external_id_check CHECK (cobranca.check_text('claim.external_id', external_id, 100, false)),
  ADD CONSTRAINT claim_occurred_on_check CHECK (cobranca.check_date('claim.occurred_on', occurred_on)),
  DROP CONSTRAINT claim_category_check,
  ADD CONSTRAINT claim_category_check CHECK (cobranca.check_text('claim.category', category, 60, false));
ALTER TABLE cobranca.cadence_rule
  DROP CONSTRAINT cadence_rule_name_check,
  ADD CONSTRAINT cadence_rule_name_check CHECK (cobranca.check_text('cadence_rule.name', name, 200, false)),
  DROP CONSTRAINT cadence_rule_offset_days_check,
  ADD CONSTRAINT cadence_rule_offset_days_check CHECK (cobranca.check_range('cadence_rule.offset_days', offset_days, -60, 1825)),
  DROP CONSTRAINT cadence_rule_invoice_kinds_check,
  ADD CONSTRAINT cadence_rule_invoice_kinds_check CHECK (cobranca.check_members('cadence_rule.invoice_kinds', invoice_kinds,
                                   '{premium,copay,private,disallowance,installment}')
           AND cobranca.check_rule(cardinality(invoice_kinds) > 0, 'cadence_rule.invoice_kinds is empty',
                                   'List at least one of premium, copay, private, disallowance, installment.')),
  DROP CONSTRAINT cadence_rule_min_probability_check,
  ADD CONSTRAINT cadence_rule_min_probability_check CHECK (cobranca.check_range('cadence_rule.min_probability', min_probability::numeric, 0, 1)),
  DROP CONSTRAINT cadence_rule_max_probability_check,
  ADD CONSTRAINT cadence_rule_max_probability_check CHECK (cobranca.check_range('cadence_rule.max_probability', max_probability::numeric, 0, 1)),
  ADD CONSTRAINT cadence_rule_template_check CHECK (cobranca.check_text('cadence_rule.template', template, 4000, true));
ALTER TABLE cobranca.contact
  ADD CONSTRAINT contact_contact_on_check CHECK (cobranca.check_date('contact.contact_on', contact_on)),
  ADD CONSTRAINT contact_scheduled_at_check CHECK (cobranca.check_timestamp('contact.scheduled_at', scheduled_at)),
  DROP CONSTRAINT contact_outcome_check,
  ADD CONSTRAINT contact_outcome_check CHECK (cobranca.check_text('contact.outcome', outcome, 200, false)),
  DROP CONSTRAINT contact_protocol_check,
  ADD CONSTRAINT contact_protocol_check CHECK (cobranca.check_pattern('contact.protocol', protocol, '^[0-9]{20}$', '20 digits: ANS registry (6), date yyyymmdd (8), sequence (6)')),
  DROP CONSTRAINT contact_attempt_check,
  ADD CONSTRAINT contact_attempt_check CHECK (cobranca.check_range('contact.attempt', attempt, 1, 5)),
  DROP CONSTRAINT contact_notes_check,
  ADD CONSTRAINT contact_notes_check CHECK (cobranca.check_text('contact.notes', notes, 4000, true));
ALTER TABLE cobranca.contract
  DROP CONSTRAINT contract_reason_required,
  ADD CONSTRAINT contract_reason_required
    CHECK (cobranca.check_rule(status NOT IN ('suspended', 'cancelled') OR status_reason IS NOT NULL,
                               'contract.status_reason is required for a suspended or cancelled contract',
                               'contract.status is ' || status || '; give the reason: default, fraud, request or other.'));
ALTER TABLE cobranca.contact
  DROP CONSTRAINT contact_invoice_ids_check,
  ADD CONSTRAINT contact_invoice_ids_check
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'contact.invoice_ids is empty',
                               'A contact covers at least one invoice.'));
ALTER TABLE cobranca.default_notice
  DROP CONSTRAINT default_notice_invoice_ids_check,
  ADD CONSTRAINT default_notice_invoice_ids_check
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'default_notice.invoice_ids is empty',
                               'A notice lists at least one overdue premium.'));

-- 0.2.0: evidence and sender data are references, not 1 MB blobs
ALTER TABLE cobranca.default_notice
  ADD CONSTRAINT default_notice_proof_check
    CHECK (cobranca.check_rule(octet_length(proof::text) <= 65536, 'default_notice.proof is too large',
                               'default_notice.proof has ' || octet_length(proof::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.'));
ALTER TABLE cobranca.default_notice
  ADD CONSTRAINT default_notice_attempts_check
    CHECK (cobranca.check_rule(octet_length(attempts::text) <= 65536, 'default_notice.attempts is too large',
                               'default_notice.attempts has ' || octet_length(attempts::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.'));

-- ==== updates/0.1.0--0.2.0/15_bookkeeping_hostile.sql
-- 0.2.0: a bad status_reason sent with an active contract is refused, not dropped
-- silently; document errors name their column and never show the document;
-- an unknown payer.kind is named.
CREATE OR REPLACE FUNCTION cobranca.creditor_document() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  NEW.document := cobranca.document_normalize('company', NEW.document, 'creditor.document');
  RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION cobranca.payer_document() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  doc text;
BEGIN
  -- the kind decides how the document is read: an unknown one is named as such
  PERFORM cobranca.check_member('payer.kind', NEW.kind, '{person,company}');
  IF TG_OP = 'UPDATE' AND NEW.document IS NOT DISTINCT FROM OLD.document THEN
    IF NEW.kind IS DISTINCT FROM OLD.kind THEN
      RAISE EXCEPTION 'payer.kind cannot change without the document'
        USING ERRCODE = 'check_violation',
              DETAIL = pg_catalog.format('payer %s changes kind from %s to %s but keeps its document.',
                                         NEW.id, OLD.kind, cobranca.show_value(NEW.kind)),
              HINT = 'Send the new document (a CPF for person, a CNPJ for company) in the same UPDATE.';
    END IF;
    -- the protected forms change only together with the document
    NEW.document_cipher := OLD.document_cipher;
    NEW.document_digest := OLD.document_digest;
    NEW.document_key := OLD.document_key;
    RETURN NEW;
  END IF;

  IF TG_OP = 'UPDATE' AND pg_catalog.strpos(NEW.document, '*') > 0 THEN
    -- INSERT ... ON CONFLICT DO UPDATE SET document = EXCLUDED.document hands
    -- over the proposed row's protected forms: accept them only as a set
    IF NEW.document_cipher IS NOT NULL AND NEW.document_digest IS NOT NULL
       AND NEW.document_cipher IS DISTINCT FROM OLD.document_cipher THEN
      NEW.document_key := pg_catalog.get_byte(NEW.document_cipher, 1);
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'payer.document cannot be set to a masked value'
      USING ERRCODE = 'check_violation',
            -- never the value: it may be a clear document with a stray "*"
            DETAIL = pg_catalog.format('payer %s: the document sent has a "*", the mark of a masked form.', NEW.id),
            HINT = 'Write the document in clear, or in INSERT ... ON CONFLICT DO UPDATE set document, document_cipher and document_digest from EXCLUDED together.';
  END IF;

  IF TG_OP = 'INSERT' AND pg_catalog.strpos(NEW.document, '*') > 0
     AND NEW.document_cipher IS NOT NULL AND NEW.document_digest IS NOT NULL
     AND pg_catalog.has_function_privilege('cobranca.document_decrypt(bytea)', 'EXECUTE') THEN
    -- a row that arrives already protected (pg_restore, a copy between
    -- databases sharing the key ring) is accepted when its parts agree
    doc := cobranca.document_decrypt(NEW.document_cipher);
    IF cobranca.document_mask(NEW.kind, cobranca.document_normalize(NEW.kind, doc)) = NEW.document
       AND cobranca.document_digest(doc) = NEW.document_digest THEN
      NEW.document_key := pg_catalog.get_byte(NEW.document_cipher, 1);
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'payer.document_cipher, document_digest and document disagree'
      USING ERRCODE = 'check_violation',
            DETAIL = pg_catalog.format('payer %s: the ciphertext does not match the masked document or the digest.',
                                       NEW.external_id),
            HINT = 'Write the document in clear and let cobranca protect it.';
  END IF;

  doc := cobranca.document_normalize(NEW.kind, NEW.document, 'payer.document');
  NEW.document := cobranca.document_mask(NEW.kind, doc);
  NEW.document_cipher := cobranca.document_encrypt(doc);
  NEW.document_digest := cobranca.document_digest(doc);
  -- ciphertext layout: version | key id | iv | tag | ciphertext (crypto.c)
  NEW.document_key := pg_catalog.get_byte(NEW.document_cipher, 1);
  IF TG_OP = 'UPDATE' THEN
    NEW.updated_at := pg_catalog.now();
  END IF;
  RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION cobranca.contract_defaults() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NEW.paid_by_person IS NULL THEN
    NEW.paid_by_person := NEW.plan_type IN ('individual', 'family');
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status THEN
    NEW.status_changed_at := pg_catalog.now();
  END IF;
  IF NEW.status = 'active' THEN
    -- a reason sent with an active contract is dropped, but never a bad one unnoticed
    PERFORM cobranca.check_member('contract.status_reason', NEW.status_reason, '{default,fraud,request,other}');
    NEW.status_reason := NULL;
  END IF;
  RETURN NEW;
END
$$;

-- ==== updates/0.1.0--0.2.0/17_load.sql
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

-- ==== updates/0.1.0--0.2.0/40_calendar_hostile.sql
-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.holiday
  DROP CONSTRAINT holiday_month_check,
  ADD CONSTRAINT holiday_month_check CHECK (cobranca.check_range('holiday.month', month, 1, 12)),
  DROP CONSTRAINT holiday_day_check,
  ADD CONSTRAINT holiday_day_check CHECK (cobranca.check_range('holiday.day', day, 1, 31)),
  DROP CONSTRAINT holiday_easter_offset_check,
  ADD CONSTRAINT holiday_easter_offset_check CHECK (cobranca.check_range('holiday.easter_offset', easter_offset, -100, 100)),
  DROP CONSTRAINT holiday_name_check,
  ADD CONSTRAINT holiday_name_check CHECK (cobranca.check_text('holiday.name', name, 200, false)),
  ADD CONSTRAINT holiday_law_check CHECK (cobranca.check_text('holiday.law', law, 300, true));
ALTER TABLE cobranca.contact_window
  ADD CONSTRAINT contact_window_law_check CHECK (cobranca.check_text('contact_window.law', law, 300, true));

-- ==== updates/0.1.0--0.2.0/50_cadence_hostile.sql
-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.channel_capacity
  DROP CONSTRAINT channel_capacity_daily_limit_check,
  ADD CONSTRAINT channel_capacity_daily_limit_check CHECK (cobranca.check_range('channel_capacity.daily_limit', daily_limit, 0, 1000000));
ALTER TABLE cobranca.contact_event
  ADD CONSTRAINT contact_event_at_check CHECK (cobranca.check_timestamp('contact_event.at', at));

-- 0.2.0: evidence and sender data are references, not 1 MB blobs
ALTER TABLE cobranca.contact_event
  ADD CONSTRAINT contact_event_details_check
    CHECK (cobranca.check_rule(octet_length(details::text) <= 65536, 'contact_event.details is too large',
                               'contact_event.details has ' || octet_length(details::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.'));

-- ==== updates/0.1.0--0.2.0/50_cadence_race.sql
-- claim_contacts checks a contact's invoices again under its lock: one
-- with nothing left open is cancelled instead of being handed out.

CREATE OR REPLACE FUNCTION cobranca.claim_contacts(channel text, n integer) RETURNS SETOF cobranca.contact
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r record;
  proto text;
  open_ids bigint[];
  k cobranca.contact;
BEGIN
  PERFORM cobranca.check_member('channel', claim_contacts.channel, '{email,sms,whatsapp,phone,letter}');
  IF n IS NULL OR n < 1 THEN
    RETURN;
  END IF;
  FOR r IN
    SELECT c.id, c.creditor_id, c.protocol, c.invoice_ids, cr.ans_registry
      FROM cobranca.contact c
      JOIN cobranca.creditor cr ON cr.id = c.creditor_id
     WHERE c.status = 'scheduled' AND c.claimed_at IS NULL
       AND c.channel = claim_contacts.channel
       AND c.scheduled_at <= pg_catalog.now()
     ORDER BY c.scheduled_at, c.id
     LIMIT n
       FOR UPDATE OF c SKIP LOCKED
  LOOP
    -- checked again under the lock: a payment, dispute or agreement whose
    -- trigger could not see this contact (a REPEATABLE READ writer whose
    -- snapshot predates it) leaves it with invoices that are no longer
    -- open; those are dropped, and a contact left with none is cancelled
    -- instead of being sent
    open_ids := ARRAY(SELECT i.id FROM cobranca.invoice i
                       WHERE i.id = ANY (r.invoice_ids) AND i.status = 'open' ORDER BY i.id);
    IF pg_catalog.cardinality(open_ids) = 0 THEN
      UPDATE cobranca.contact c SET status = 'cancelled', updated_at = pg_catalog.now() WHERE c.id = r.id;
      CONTINUE;
    END IF;
    IF pg_catalog.cardinality(open_ids) < pg_catalog.cardinality(r.invoice_ids) THEN
      UPDATE cobranca.contact c SET invoice_ids = open_ids WHERE c.id = r.id;
    END IF;
    proto := r.protocol;
    IF proto IS NULL AND claim_contacts.channel = 'phone' AND r.ans_registry IS NOT NULL THEN
      proto := cobranca.next_protocol(r.creditor_id);
    END IF;
    UPDATE cobranca.contact c
       SET claimed_at = pg_catalog.now(),
           protocol = proto,
           message = cobranca.render_template(cobranca.contact_template(r.id),
                       cobranca.contact_vars(r.id) || pg_catalog.jsonb_build_object('protocolo', proto)),
           updated_at = pg_catalog.now()
     WHERE c.id = r.id
     RETURNING c.* INTO k;
    RETURN NEXT k;
  END LOOP;
END
$$;
COMMENT ON FUNCTION cobranca.claim_contacts(text, integer) IS
  'hands a sender up to n contacts of a channel whose slot has come, each to one sender only (FOR UPDATE SKIP LOCKED), with the rendered message and, for phone calls of an operator, an ANS protocol number; under the lock, invoices no longer open are dropped from a contact and one left with none is cancelled instead of handed out';

-- ==== updates/0.1.0--0.2.0/60_notice_citus.sql
-- 0.2.0: default_facts_local groups by the whole key of contract, so that it also
-- works where that key is (id, creditor_id); expire_notices joins on creditor_id too
-- (doc/scaling.md).

CREATE OR REPLACE FUNCTION cobranca.default_facts_local(as_of_day date, as_of_instant timestamptz)
  RETURNS TABLE (contract_id bigint, creditor_id bigint, portfolio_id bigint, payer_id bigint,
                 as_of date, subject boolean, unpaid_invoice_ids bigint[], unpaid_premiums integer,
                 default_since date, days_in_default integer, amount_due numeric)
  LANGUAGE sql STABLE
AS $$
  SELECT c.id, c.creditor_id, c.portfolio_id, c.payer_id, d.day,
         cobranca.rn593_subject(c.plan_type, c.paid_by_person),
         pg_catalog.array_agg(i.id ORDER BY i.due_on, i.id),
         pg_catalog.count(*)::integer,
         pg_catalog.min(i.due_on),
         d.day - pg_catalog.min(i.due_on),
         pg_catalog.sum(i.amount - i.paid_total)
    FROM cobranca.contract c
    JOIN cobranca.payer p ON p.id = c.payer_id
   CROSS JOIN LATERAL (SELECT coalesce(as_of_day, (as_of_instant AT TIME ZONE p.timezone)::date) AS day) d
    JOIN cobranca.invoice i ON i.contract_id = c.id
   WHERE i.kind = 'premium'
     AND i.status = 'open'
     AND i.open_disputes = 0
     AND i.agreement_id IS NULL
     AND i.due_on < d.day
     AND i.due_on >= (d.day - '12 months'::interval)::date
   -- the whole key of contract, also where it is (id, creditor_id) (doc/scaling.md)
   GROUP BY c.id, c.creditor_id, d.day
$$;
COMMENT ON FUNCTION cobranca.default_facts_local(date, timestamptz) IS
  'default_facts as of one date for all payers (as_of_day), or as of each payer''s local date at an instant (as_of_day null)';

CREATE OR REPLACE FUNCTION cobranca.expire_notices(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  -- every join also on creditor_id (always equal): a distributed cluster
  -- runs the statement on each creditor's node (doc/scaling.md)
  UPDATE cobranca.default_notice dn SET status = 'expired'
    FROM cobranca.contract c, cobranca.payer p
   WHERE dn.contract_id = c.id AND c.creditor_id = dn.creditor_id
     AND p.id = c.payer_id AND p.creditor_id = dn.creditor_id
     AND dn.status IN ('confirmed', 'unreachable')
     AND dn.deadline_on < (expire_notices.as_of AT TIME ZONE p.timezone)::date
     AND (SELECT count(*) FROM cobranca.invoice i
           WHERE i.id = ANY (dn.invoice_ids) AND i.creditor_id = dn.creditor_id
             AND i.status IN ('open', 'disputed')) >= 2;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.expire_notices(timestamptz) IS
  'job expire_notices: notices whose deadline passed (in the payer''s time zone) with the debt unpaid become expired; returns how many';

-- ==== updates/0.1.0--0.2.0/60_notice_hostile.sql
-- 0.2.0: notice messages show at most 60 characters of a value sent (cobranca.show_value).
CREATE OR REPLACE FUNCTION cobranca.notice_proof_valid(channel text, proof jsonb) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  missing text;
BEGIN
  IF channel IS NULL OR channel NOT IN ('email', 'sms', 'whatsapp', 'phone', 'ivr', 'letter', 'agent') THEN
    RAISE EXCEPTION 'invalid notice channel: "%"', coalesce(cobranca.show_value(channel), 'null')
      USING ERRCODE = '22023',
            DETAIL = 'default_notice.channel must be one of email, sms, whatsapp, phone, ivr, letter, agent (RN 593 art. 8).';
  END IF;
  IF proof IS NULL OR jsonb_typeof(proof) <> 'object' THEN
    missing := 'the keys of a JSON object';
  ELSIF channel = 'email' THEN
    IF NOT (cobranca.notice_jsonb_present(proof -> 'read_receipt')
            OR cobranca.notice_jsonb_present(proof -> 'certificate')) THEN
      missing := 'read_receipt or certificate';
    END IF;
  ELSIF channel IN ('sms', 'whatsapp') THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'reply') THEN
      missing := 'reply (the beneficiary''s answer confirming awareness)';
    END IF;
  ELSIF channel IN ('phone', 'ivr') THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'recording') THEN
      missing := 'recording';
    ELSIF (proof -> 'data_confirmed') IS DISTINCT FROM 'true'::jsonb THEN
      missing := 'data_confirmed = true (the beneficiary confirmed their data in the call)';
    END IF;
  ELSIF channel = 'letter' THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'ar') THEN
      missing := 'ar (the signed postal receipt)';
    END IF;
  ELSIF channel = 'agent' THEN
    IF NOT cobranca.notice_jsonb_present(proof -> 'signed_receipt') THEN
      missing := 'signed_receipt (signed by the beneficiary)';
    END IF;
  END IF;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'confirmation by % lacks its proof of receipt', channel
      USING ERRCODE = '23514',
            DETAIL = format('default_notice.proof = %s has no %s.', coalesce(cobranca.show_value(proof::text), 'null'), missing),
            HINT = 'RN 593 art. 8: email needs read_receipt or certificate; sms/whatsapp a reply; phone/ivr a recording and data_confirmed = true; letter an ar; agent a signed_receipt.';
  END IF;
  RETURN true;
END
$$;
CREATE OR REPLACE FUNCTION cobranca.notice_attempts_last(payer_id bigint, attempts jsonb) RETURNS timestamptz
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
  p    record;
  a    jsonb;
  ts   timestamptz;
  last_ts timestamptz;
  tried text[] := '{}';
  need record;
BEGIN
  IF attempts IS NULL OR jsonb_typeof(attempts) <> 'array' OR jsonb_array_length(attempts) = 0 THEN
    RAISE EXCEPTION 'unreachable notice needs its failed attempts'
      USING ERRCODE = '23514',
            DETAIL = format('default_notice.attempts = %s is not a non-empty array.', coalesce(cobranca.show_value(attempts::text), 'null')),
            HINT = 'Pass [{"channel": "email", "at": "2026-03-02T10:00:00-03:00", "result": "bounced"}, ...], one failed attempt at least per registered channel.';
  END IF;
  FOR a IN SELECT e FROM jsonb_array_elements(attempts) e LOOP
    IF jsonb_typeof(a) <> 'object'
       OR NOT coalesce(a ->> 'channel' IN ('email', 'sms', 'whatsapp', 'phone', 'ivr', 'letter', 'agent'), false)
       OR NOT cobranca.notice_jsonb_present(a -> 'result')
       OR jsonb_typeof(a -> 'at') IS DISTINCT FROM 'string' THEN
      RAISE EXCEPTION 'malformed notice attempt'
        USING ERRCODE = '22023',
              DETAIL = format('attempt %s needs channel (email, sms, whatsapp, phone, ivr, letter, agent), at (timestamp) and result.', cobranca.show_value(a::text)),
              HINT = 'Example: {"channel": "letter", "at": "2026-03-02T10:00:00-03:00", "result": "AR returned: addressee unknown"}.';
    END IF;
    ts := (a ->> 'at')::timestamptz;
    IF ts > now() THEN
      RAISE EXCEPTION 'notice attempt in the future'
        USING ERRCODE = '22023', DETAIL = format('attempt %s is dated after now (%s).', cobranca.show_value(a::text), now());
    END IF;
    tried := tried || (a ->> 'channel');
    last_ts := greatest(last_ts, ts);
  END LOOP;

  SELECT * INTO p FROM cobranca.payer WHERE id = notice_attempts_last.payer_id;
  FOR need IN SELECT * FROM (VALUES
      ('email',    p.email IS NOT NULL,    '{email}'::text[]),
      ('phone',    p.phone IS NOT NULL,    '{phone,ivr,sms}'::text[]),
      ('whatsapp', p.whatsapp IS NOT NULL, '{whatsapp}'::text[]),
      ('letter',   p.address IS NOT NULL,  '{letter,agent}'::text[])) AS t(channel, registered, covers)
  LOOP
    IF need.registered AND NOT (tried && need.covers) THEN
      RAISE EXCEPTION 'registered channel % of payer % was not tried', need.channel, p.id
        USING ERRCODE = '23514',
              DETAIL = format('attempts cover %s; the payer has %s registered, which needs a failed attempt by one of %s.',
                              array_to_string(tried, ', '), need.channel, array_to_string(need.covers, ', ')),
              HINT = 'A notice may be closed as unreachable only when every registered channel failed (RN 593 art. 8).';
    END IF;
  END LOOP;
  RETURN last_ts;
END
$$;

-- ==== updates/0.1.0--0.2.0/60_notice_race.sql
-- The cancellation guard and the notice drafting lock the invoices they
-- check, so that a payment in flight is waited for and seen.

CREATE OR REPLACE FUNCTION cobranca.contract_guard() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  today date;
  k record;
BEGIN
  -- the contract's invoices are locked before the check reads them: a
  -- payment, dispute or agreement in flight on one of them is waited for
  -- and seen (the next statement takes a new snapshot), and one arriving
  -- during the check waits for this transaction
  IF NEW.status_reason = 'default' THEN
    PERFORM FROM cobranca.invoice i WHERE i.contract_id = NEW.id ORDER BY i.id FOR SHARE;
  END IF;
  SELECT (now() AT TIME ZONE p.timezone)::date INTO today
    FROM cobranca.payer p WHERE p.id = NEW.payer_id;
  SELECT * INTO k FROM cobranca.cancellation_check(NEW.id, NEW.status_reason, coalesce(today, current_date));
  IF k.condition <> 'ok' THEN
    RAISE EXCEPTION 'contract % cannot be % (reason %): %', NEW.id, NEW.status, NEW.status_reason, k.message
      USING ERRCODE = 'P0593',
            DETAIL = format('condition %s failed: %s', k.condition, k.detail),
            HINT = CASE k.condition
                     WHEN 'hospitalization' THEN 'Wait for the discharge.'
                     ELSE 'See cobranca.cancellation_eligible and doc/rn593.md (ANS RN 593/2023, Lei 9.656/98 art. 13).' END;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION cobranca.contract_guard() IS
  'trigger: refuses suspension or cancellation for default unless RN 593 allows it as of today in the payer''s time zone (the contract''s invoices locked FOR SHARE first, so that a payment in flight is seen), and any suspension or cancellation during an open hospitalization; SQLSTATE P0593';

CREATE OR REPLACE FUNCTION cobranca.notices_draft(as_of_day date, as_of_instant timestamptz) RETURNS integer
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  -- the premiums a notice would list are locked first, in id order: a
  -- payment or dispute in flight on one of them is waited for, and the
  -- INSERT below (a new snapshot) sees it; one arriving later waits for the
  -- notice to commit and then cures it (notice_invoice_status)
  PERFORM FROM cobranca.invoice i
   WHERE i.id IN (SELECT pg_catalog.unnest(f.unpaid_invoice_ids)
                    FROM cobranca.default_facts_local(as_of_day, as_of_instant) f
                   WHERE f.subject AND f.unpaid_premiums >= 2
                     AND NOT EXISTS (SELECT 1 FROM cobranca.default_notice n
                                      WHERE n.contract_id = f.contract_id
                                        AND n.status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired')))
   ORDER BY i.id
     FOR SHARE OF i;
  INSERT INTO cobranca.default_notice
         (creditor_id, portfolio_id, contract_id, invoice_ids, amount_due, default_since, drafted_on, body)
  SELECT f.creditor_id, f.portfolio_id, f.contract_id, f.unpaid_invoice_ids, f.amount_due,
         f.default_since, f.as_of, cobranca.notice_body(f.contract_id, f.unpaid_invoice_ids, f.as_of)
    FROM cobranca.default_facts_local(as_of_day, as_of_instant) f
    JOIN cobranca.contract c ON c.id = f.contract_id
    JOIN cobranca.creditor cr ON cr.id = c.creditor_id
   WHERE f.subject
     AND f.as_of >= date '2024-12-01'      -- RN 593 in force (see doc/rn593.md)
     AND c.status = 'active'
     AND f.unpaid_premiums >= 2
     AND f.days_in_default >= cr.notice_day
     AND NOT EXISTS (SELECT 1 FROM cobranca.default_notice n
                      WHERE n.contract_id = f.contract_id
                        AND n.status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired'))
   ORDER BY f.contract_id
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.notices_draft(date, timestamptz) IS
  'drafts the notices due as of one local date for every payer (as_of_day), or as of each payer''s local date at an instant, after locking the premiums they would list (FOR SHARE) so that a payment in flight is seen; see generate_notices';

-- ==== updates/0.1.0--0.2.0/70_money_score_citus.sql
-- 0.2.0: refresh_scores names invoice_score's key in ON CONFLICT, so that it also
-- works where that key gains creditor_id (doc/scaling.md).

CREATE OR REPLACE FUNCTION cobranca.refresh_scores(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  -- the generic estimates of the set-based statements are huge: compiling
  -- them would cost more than running them
  SET jit = off
AS $$
DECLARE
  n bigint := 0;
  d date;
  ids bigint[];
  model bigint := (SELECT m.id FROM cobranca.score_model m WHERE m.active);
BEGIN
  -- invoices no longer open and overdue leave the table
  DELETE FROM cobranca.invoice_score s
   USING cobranca.invoice i, cobranca.payer p
   WHERE i.id = s.invoice_id AND p.id = i.payer_id
     AND NOT (i.status = 'open' AND i.due_on < (refresh_scores.as_of AT TIME ZONE p.timezone)::date);
  -- one pass per local day in use (payers live in up to four time zones);
  -- only scores of another day, another model or another balance are redone,
  -- so that a second run on the same day costs little
  FOR d IN SELECT DISTINCT (refresh_scores.as_of AT TIME ZONE p.timezone)::date
             FROM cobranca.payer p LOOP
    SELECT array_agg(i.id) INTO ids
      FROM cobranca.invoice i
      JOIN cobranca.payer p ON p.id = i.payer_id
      LEFT JOIN cobranca.invoice_score s ON s.invoice_id = i.id
     WHERE i.status = 'open' AND i.due_on < d
       AND (refresh_scores.as_of AT TIME ZONE p.timezone)::date = d
       AND (s.invoice_id IS NULL OR s.as_of <> d OR s.model_id <> model OR s.balance <> i.balance);
    CONTINUE WHEN ids IS NULL;
    INSERT INTO cobranca.invoice_score AS t (invoice_id, creditor_id, portfolio_id, as_of, model_id,
                                             balance, probability, updated_amount, priority)
    SELECT s.invoice_id, i.creditor_id, i.portfolio_id, d, s.model_id,
           i.balance, s.probability, s.updated_amount, s.priority
      FROM cobranca.score_invoices(ids, d) s
      JOIN cobranca.invoice i ON i.id = s.invoice_id
    -- the key by name: on a distributed cluster it gains creditor_id (doc/scaling.md)
    ON CONFLICT ON CONSTRAINT invoice_score_pkey DO UPDATE
       SET as_of = EXCLUDED.as_of, model_id = EXCLUDED.model_id, balance = EXCLUDED.balance,
           probability = EXCLUDED.probability, updated_amount = EXCLUDED.updated_amount,
           priority = EXCLUDED.priority, computed_at = pg_catalog.now();
    n := n + cardinality(ids);
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.refresh_scores(timestamptz) IS
  'job: keeps cobranca.invoice_score for every open overdue invoice as of the instant''s day in each payer''s time zone, redoing only scores of another day, model or balance; returns how many invoices were scored';
REVOKE ALL ON FUNCTION cobranca.refresh_scores(timestamptz) FROM PUBLIC;

-- ==== updates/0.1.0--0.2.0/70_money_score_hostile.sql
-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.score_model
  ADD CONSTRAINT score_model_features_check CHECK (cobranca.check_members('score_model.features', features, cobranca.score_feature_names())),
  ADD CONSTRAINT score_model_coefficients_check CHECK (cobranca.check_finite('score_model.coefficients', coefficients));
ALTER TABLE cobranca.score_model
  DROP CONSTRAINT score_model_sizes,
  ADD CONSTRAINT score_model_sizes
    CHECK (cobranca.check_rule(cardinality(coefficients) = cardinality(features) + 1,
                               'score_model.coefficients does not match score_model.features',
                               'score_model has ' || cardinality(features) || ' features and ' || cardinality(coefficients)
                               || ' coefficients; it needs one coefficient per feature plus the intercept first.'));

-- ==== updates/0.1.0--0.2.0/70_score.sql
-- cobranca.score_invoices in C (score_batch.c): the same results in one
-- pass instead of a subquery per invoice.
CREATE OR REPLACE FUNCTION cobranca.score_invoices(invoice_ids bigint[], as_of date)
  RETURNS TABLE (invoice_id bigint, model_id bigint, probability float8,
                 updated_amount numeric, priority numeric)
  AS 'MODULE_PATHNAME', 'cobranca_score_invoices'
  LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION cobranca.score_invoices(bigint[], date) IS
  'payment probability (active model), updated amount and priority of the given invoices on a day; priority is 0 unless the invoice is open';

-- ==== updates/0.1.0--0.2.0/75_agreement_citus.sql
-- 0.2.0: break_agreements joins on creditor_id too and keeps every statement of its
-- loop on the agreement's creditor (doc/scaling.md).

CREATE OR REPLACE FUNCTION cobranca.break_agreements(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  grace integer := cobranca.agreement_grace_days();
  a record;
  paid numeric;
  part numeric;
  inv record;
  n bigint := 0;
BEGIN
  -- every join also on creditor_id (always equal), every statement of the
  -- loop on the agreement's creditor: a distributed cluster runs each on
  -- the creditor's node (doc/scaling.md)
  UPDATE cobranca.agreement g
     SET status = 'completed', completed_at = break_agreements.as_of
   WHERE g.status = 'active'
     AND NOT EXISTS (SELECT 1 FROM cobranca.agreement_installment s
                       JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
                      WHERE s.agreement_id = g.id AND s.creditor_id = g.creditor_id AND i.status <> 'paid');
  GET DIAGNOSTICS n = ROW_COUNT;

  FOR a IN
    SELECT g.* FROM cobranca.agreement g
      JOIN cobranca.payer p ON p.id = g.payer_id AND p.creditor_id = g.creditor_id
     WHERE g.status = 'active'
       AND EXISTS (SELECT 1 FROM cobranca.agreement_installment s
                     JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
                    WHERE s.agreement_id = g.id AND s.creditor_id = g.creditor_id AND i.status = 'open'
                      AND i.due_on + grace < (break_agreements.as_of AT TIME ZONE p.timezone)::date)
     ORDER BY g.id
     FOR UPDATE OF g
  LOOP
    SELECT coalesce(sum(i.paid_total), 0) INTO paid
      FROM cobranca.agreement_installment s
      JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
     WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id;
    UPDATE cobranca.invoice i SET status = 'cancelled'
      FROM cobranca.agreement_installment s
     WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id
       AND i.id = s.invoice_id AND i.creditor_id = a.creditor_id
       AND i.status NOT IN ('paid', 'cancelled', 'written_off');
    UPDATE cobranca.invoice SET agreement_id = NULL WHERE agreement_id = a.id AND creditor_id = a.creditor_id;
    FOR inv IN SELECT i.id, i.balance FROM cobranca.invoice i
                WHERE i.id = ANY (a.invoice_ids) AND i.creditor_id = a.creditor_id
                  AND i.balance > 0 AND i.status <> 'cancelled'
                ORDER BY i.due_on, i.id LOOP
      EXIT WHEN paid <= 0;
      part := LEAST(paid, inv.balance);
      INSERT INTO cobranca.payment (creditor_id, invoice_id, external_id, paid_at, amount, method)
      VALUES (a.creditor_id, inv.id, pg_catalog.format('cobranca:agreement:%s:credit:%s', a.id, inv.id),
              break_agreements.as_of, part, 'transfer');
      paid := paid - part;
    END LOOP;
    UPDATE cobranca.agreement SET status = 'broken', broken_at = break_agreements.as_of
     WHERE id = a.id AND creditor_id = a.creditor_id;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.break_agreements(timestamptz) IS
  'job: completes fully paid agreements and breaks those with an installment unpaid for more than cobranca.agreement_grace_days (unpaid installments cancelled, what was paid credited to the covered invoices, their debt restored); returns how many changed';
REVOKE ALL ON FUNCTION cobranca.break_agreements(timestamptz) FROM PUBLIC;

-- ==== updates/0.1.0--0.2.0/75_agreement_hostile.sql
-- 0.2.0: an empty invoice list is refused with its own words.
ALTER TABLE cobranca.agreement
  DROP CONSTRAINT agreement_invoice_ids_check,
  ADD CONSTRAINT agreement_invoice_ids_check
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'agreement.invoice_ids is empty',
                               'An agreement covers at least one invoice.'));
-- and no agreement date outside 1900-2099 ('infinity' included)
ALTER TABLE cobranca.agreement
  ADD CONSTRAINT agreement_as_of_check CHECK (cobranca.check_date('agreement.as_of', as_of)),
  ADD CONSTRAINT agreement_first_due_check CHECK (cobranca.check_date('agreement.first_due', first_due));
ALTER TABLE cobranca.agreement_installment
  DROP CONSTRAINT agreement_installment_n_check,
  ADD CONSTRAINT agreement_installment_n_check CHECK (cobranca.check_range('agreement_installment.n', n, 1, 360)),
  ADD CONSTRAINT agreement_installment_due_on_check CHECK (cobranca.check_date('agreement_installment.due_on', due_on));

-- and its evidence is shown cut to 60 characters when refused
CREATE OR REPLACE FUNCTION cobranca.accept_agreement(agreement_id bigint, evidence jsonb) RETURNS bigint[]
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
  bad record;
  contract bigint;
  inst record;
  inv bigint;
  created bigint[] := '{}';
BEGIN
  a := cobranca.agreement_for_update(accept_agreement.agreement_id, 'record the acceptance of agreements');
  IF a.status <> 'proposed' THEN
    RAISE EXCEPTION 'agreement % is %, not proposed', a.id, a.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  IF a.needs_approval AND a.approved_by IS NULL THEN
    RAISE EXCEPTION 'agreement % is beyond its tier (%) and needs a supervisor''s approval', a.id, a.tier
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Beyond the %s tier in: %s.', a.tier, pg_catalog.array_to_string(a.beyond_tier, ', ')),
            HINT = 'A supervisor of the portfolio, other than the proposer, calls cobranca.approve_agreement().';
  END IF;
  IF evidence IS NULL OR pg_catalog.jsonb_typeof(evidence) <> 'object' OR evidence = '{}'::jsonb THEN
    RAISE EXCEPTION 'the acceptance needs its evidence'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.format('evidence is %s.', coalesce(cobranca.show_value(evidence::text), 'null')),
            HINT = 'A JSON object, e.g. {"channel": "phone", "protocol": "...", "recording": "..."}.';
  END IF;
  IF a.first_due < CURRENT_DATE THEN
    RAISE EXCEPTION 'agreement % expired: its first installment was due on %', a.id, a.first_due
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Withdraw it and propose again.';
  END IF;

  -- the covered invoices must be as they were when proposed
  PERFORM 1 FROM cobranca.invoice i WHERE i.id = ANY (a.invoice_ids) ORDER BY i.id FOR UPDATE;
  SELECT i.id, i.status, i.balance INTO bad FROM cobranca.invoice i
   WHERE i.id = ANY (a.invoice_ids) AND (i.status <> 'open' OR i.agreement_id IS NOT NULL)
   ORDER BY i.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'invoice % changed since the proposal: it is %', bad.id, bad.status
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Withdraw the proposal and propose again.';
  END IF;
  IF (SELECT sum(i.balance) FROM cobranca.invoice i WHERE i.id = ANY (a.invoice_ids)) <> a.principal THEN
    RAISE EXCEPTION 'the covered balance changed since the proposal'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('It was %s when proposed.', a.principal),
            HINT = 'A payment arrived: withdraw the proposal and propose again.';
  END IF;

  -- installments are tied to the contract when every covered invoice shares one
  SELECT CASE WHEN count(DISTINCT i.contract_id) = 1 AND bool_and(i.contract_id IS NOT NULL)
              THEN min(i.contract_id) END
    INTO contract FROM cobranca.invoice i WHERE i.id = ANY (a.invoice_ids);
  FOR inst IN SELECT * FROM cobranca.agreement_installment
               WHERE agreement_installment.agreement_id = a.id ORDER BY n LOOP
    INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, contract_id, external_id,
                                  kind, issued_on, due_on, amount)
    VALUES (a.creditor_id, a.portfolio_id, a.payer_id, contract,
            pg_catalog.format('cobranca:agreement:%s:%s', a.id, inst.n),
            'installment', LEAST(CURRENT_DATE, inst.due_on), inst.due_on, inst.amount)
    RETURNING id INTO inv;
    UPDATE cobranca.agreement_installment SET invoice_id = inv WHERE id = inst.id;
    created := created || inv;
  END LOOP;

  -- covered invoices: the invoice trigger derives in_agreement
  UPDATE cobranca.invoice SET agreement_id = a.id WHERE id = ANY (a.invoice_ids);
  -- (the invoice triggers then drop or cancel their scheduled contacts,
  -- invoice_stop_contacts, and void running RN 593 notices for them,
  -- notice_invoice_status)

  UPDATE cobranca.agreement
     SET status = 'active', accepted_by = session_user, accepted_at = pg_catalog.now(),
         evidence = accept_agreement.evidence
   WHERE id = a.id;
  RETURN created;
END
$$;

-- the tiers' limits name the field and value
ALTER TABLE cobranca.agreement_tier
  DROP CONSTRAINT agreement_tier_min_days_overdue_check,
  ADD CONSTRAINT agreement_tier_min_days_overdue_check
    CHECK (cobranca.check_range('agreement_tier.min_days_overdue', min_days_overdue, 0, 3650)),
  DROP CONSTRAINT agreement_tier_max_discount_pct_check,
  ADD CONSTRAINT agreement_tier_max_discount_pct_check
    CHECK (cobranca.check_range('agreement_tier.max_discount_pct', max_discount_pct, 0, 100)),
  DROP CONSTRAINT agreement_tier_max_installments_check,
  ADD CONSTRAINT agreement_tier_max_installments_check
    CHECK (cobranca.check_range('agreement_tier.max_installments', max_installments, 1, 360));

-- 0.2.0: evidence and sender data are references, not 1 MB blobs
ALTER TABLE cobranca.agreement
  ADD CONSTRAINT agreement_evidence_check
    CHECK (cobranca.check_rule(octet_length(evidence::text) <= 65536, 'agreement.evidence is too large',
                               'agreement.evidence has ' || octet_length(evidence::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.'));

-- ==== updates/0.1.0--0.2.0/75_agreement_race.sql
-- break_agreements locks an agreement's installment invoices and checks the
-- default again before breaking it, so that a payment in flight is seen.

CREATE OR REPLACE FUNCTION cobranca.break_agreements(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  grace integer := cobranca.agreement_grace_days();
  a record;
  paid numeric;
  part numeric;
  inv record;
  n bigint := 0;
BEGIN
  -- every join also on creditor_id (always equal), every statement of the
  -- loop on the agreement's creditor: a distributed cluster runs each on
  -- the creditor's node (doc/scaling.md)
  UPDATE cobranca.agreement g
     SET status = 'completed', completed_at = break_agreements.as_of
   WHERE g.status = 'active'
     AND NOT EXISTS (SELECT 1 FROM cobranca.agreement_installment s
                       JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
                      WHERE s.agreement_id = g.id AND s.creditor_id = g.creditor_id AND i.status <> 'paid');
  GET DIAGNOSTICS n = ROW_COUNT;

  FOR a IN
    SELECT g.* FROM cobranca.agreement g
      JOIN cobranca.payer p ON p.id = g.payer_id AND p.creditor_id = g.creditor_id
     WHERE g.status = 'active'
       AND EXISTS (SELECT 1 FROM cobranca.agreement_installment s
                     JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
                    WHERE s.agreement_id = g.id AND s.creditor_id = g.creditor_id AND i.status = 'open'
                      AND i.due_on + grace < (break_agreements.as_of AT TIME ZONE p.timezone)::date)
     ORDER BY g.id
     FOR UPDATE OF g
  LOOP
    -- its installments' invoices locked, then the default checked again
    -- (a new snapshot): an installment payment in flight is waited for and
    -- either keeps the agreement or counts in what is credited; one
    -- arriving later waits and finds its installment cancelled
    PERFORM FROM cobranca.invoice i
      JOIN cobranca.agreement_installment s ON s.invoice_id = i.id AND s.creditor_id = i.creditor_id
     WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id ORDER BY i.id FOR UPDATE OF i;
    CONTINUE WHEN NOT EXISTS (
      SELECT 1 FROM cobranca.agreement_installment s
        JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
        JOIN cobranca.payer p ON p.id = i.payer_id AND p.creditor_id = i.creditor_id
       WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id AND i.status = 'open'
         AND i.due_on + grace < (break_agreements.as_of AT TIME ZONE p.timezone)::date);
    SELECT coalesce(sum(i.paid_total), 0) INTO paid
      FROM cobranca.agreement_installment s
      JOIN cobranca.invoice i ON i.id = s.invoice_id AND i.creditor_id = s.creditor_id
     WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id;
    UPDATE cobranca.invoice i SET status = 'cancelled'
      FROM cobranca.agreement_installment s
     WHERE s.agreement_id = a.id AND s.creditor_id = a.creditor_id
       AND i.id = s.invoice_id AND i.creditor_id = a.creditor_id
       AND i.status NOT IN ('paid', 'cancelled', 'written_off');
    UPDATE cobranca.invoice SET agreement_id = NULL WHERE agreement_id = a.id AND creditor_id = a.creditor_id;
    FOR inv IN SELECT i.id, i.balance FROM cobranca.invoice i
                WHERE i.id = ANY (a.invoice_ids) AND i.creditor_id = a.creditor_id
                  AND i.balance > 0 AND i.status <> 'cancelled'
                ORDER BY i.due_on, i.id LOOP
      EXIT WHEN paid <= 0;
      part := LEAST(paid, inv.balance);
      INSERT INTO cobranca.payment (creditor_id, invoice_id, external_id, paid_at, amount, method)
      VALUES (a.creditor_id, inv.id, pg_catalog.format('cobranca:agreement:%s:credit:%s', a.id, inv.id),
              break_agreements.as_of, part, 'transfer');
      paid := paid - part;
    END LOOP;
    UPDATE cobranca.agreement SET status = 'broken', broken_at = break_agreements.as_of
     WHERE id = a.id AND creditor_id = a.creditor_id;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.break_agreements(timestamptz) IS
  'job: completes fully paid agreements and breaks those with an installment unpaid for more than cobranca.agreement_grace_days (checked again with the installments locked; unpaid installments cancelled, what was paid credited to the covered invoices, their debt restored); returns how many changed';

-- ==== updates/0.1.0--0.2.0/85_kpi_hostile.sql
-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.channel_cost
  DROP CONSTRAINT channel_cost_cost_check,
  ADD CONSTRAINT channel_cost_cost_check CHECK (cobranca.check_range('channel_cost.cost', cost, 0, 10000));

-- ==== updates/0.1.0--0.2.0/90_jobs_bi_replica.sql
-- 0.2.0: cobranca.run_jobs() refuses on a BI replica (see 93_replica.sql).

CREATE OR REPLACE FUNCTION cobranca.run_jobs(as_of timestamptz DEFAULT pg_catalog.now())
  RETURNS TABLE (job text, rows bigint, ms numeric, error text)
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
  j        record;
  v_cycle  bigint;
  v_start  timestamptz;
  v_end    timestamptz;
  v_rows   bigint;
  v_error  text;
  v_state  text;
BEGIN
  IF run_jobs.as_of IS NULL THEN
    RAISE EXCEPTION 'as_of must not be null'
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Call cobranca.run_jobs() to run the cycle for now.';
  END IF;
  -- a BI replica (93_replica.sql) receives what the primary's jobs wrote
  IF cobranca.is_bi_replica() THEN
    RAISE EXCEPTION 'cobranca.run_jobs() does not run on a BI replica'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('Database %s subscribes to tables of schema cobranca.',
                                       pg_catalog.current_database()),
            HINT = 'Run the jobs on the primary; their results reach this database through the subscription.';
  END IF;

  -- one cycle at a time per database; waits for one running elsewhere
  -- (bounded by lock_timeout when set)
  PERFORM pg_catalog.pg_advisory_xact_lock(1668244082, 1);

  v_cycle := pg_catalog.nextval('cobranca.job_cycle_seq');

  FOR j IN
    SELECT jb.name, jb.function::oid AS fn, n.nspname, p.proname,
           p.pronargs, p.proargtypes[0] AS argtype
      FROM cobranca.job jb
      LEFT JOIN pg_catalog.pg_proc p ON p.oid = jb.function::oid
      LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE jb.enabled
     ORDER BY jb.position
  LOOP
    v_rows := NULL;
    v_error := NULL;
    v_state := NULL;
    v_start := pg_catalog.clock_timestamp();
    BEGIN
      IF j.proname IS NULL THEN
        -- a regprocedure column does not keep its function from being dropped
        RAISE EXCEPTION 'job "%" names function %, which no longer exists', j.name, j.fn
          USING ERRCODE = 'undefined_function',
                HINT = 'Point cobranca.job.function at an existing function, or disable the job.';
      END IF;
      IF j.pronargs <> 1 OR j.argtype <> 'timestamptz'::regtype THEN
        RAISE EXCEPTION 'job "%" has function %, which does not take (as_of timestamptz)',
                        j.name, j.fn::regprocedure
          USING ERRCODE = 'invalid_function_definition',
                HINT = 'A job function is f(as_of timestamptz) RETURNS bigint.';
      END IF;
      EXECUTE pg_catalog.format('SELECT %I.%I($1)::bigint', j.nspname, j.proname)
        INTO v_rows USING run_jobs.as_of;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
      v_rows := NULL;
      RAISE WARNING 'cobranca job "%" failed and was rolled back: %', j.name, v_error
        USING DETAIL = pg_catalog.format('SQLSTATE %s; the other jobs of cycle %s still run.',
                                         v_state, v_cycle);
    END;
    v_end := pg_catalog.clock_timestamp();

    INSERT INTO cobranca.job_run (cycle, job, as_of, started_at, finished_at, rows, error, sqlstate, pid)
    VALUES (v_cycle, j.name, run_jobs.as_of, v_start, v_end, v_rows, v_error, v_state,
            pg_catalog.pg_backend_pid());

    job := j.name;
    rows := v_rows;
    ms := pg_catalog.round(EXTRACT(epoch FROM v_end - v_start) * 1000, 3);
    error := v_error;
    RETURN NEXT;
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION cobranca.run_jobs(timestamptz) IS
  'Runs one collection cycle as of the given instant: every enabled job of cobranca.job in position order, each in its own subtransaction (a failing job is rolled back and logged, the others run); logs each in cobranca.job_run; waits while another session runs a cycle; refuses on a BI replica (cobranca.is_bi_replica())';
REVOKE ALL ON FUNCTION cobranca.run_jobs(timestamptz) FROM PUBLIC;

-- ==== updates/0.1.0--0.2.0/92_partition.sql
-- Time partitioning (doc/partitioning.md).  The big append-mostly tables
-- are partitioned by month:
--
--   audit_log  by logged_at (UTC months)     job_run  by started_at (UTC months)
--
-- Each has a DEFAULT partition, created here, so that no insert ever fails
-- for want of a partition; the monthly partitions are made by the job
-- maintain_partitions (the current month and cobranca.partition_months_ahead
-- months after it), never by CREATE EXTENSION, so that a dump restores them
-- as ordinary tables and the extension's own objects do not depend on the
-- day it was installed.  Rows that landed in the default partition before
-- their month existed are moved into it when the month is made.
-- cobranca.detach_partition() takes a past month out for archiving.
--
-- A partition is a part of its table: it takes the table's class (its rows
-- are reached through the parent, whose policies apply); by itself it has
-- row-level security enabled and forced and no privilege for any role.

CREATE FUNCTION cobranca.partition_months_ahead() RETURNS integer
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$ SELECT COALESCE(NULLIF(pg_catalog.current_setting('cobranca.partition_months_ahead', true), ''), '3')::integer $$;
COMMENT ON FUNCTION cobranca.partition_months_ahead() IS
  'the GUC cobranca.partition_months_ahead (default 3, 0 to 36): how many months after the current one maintain_partitions makes ahead';

-- The partition key of a partitioned table of the schema: one column of
-- type date or timestamptz, by range.  Errors for any other table.
CREATE FUNCTION cobranca.partition_key(parent regclass, OUT key_column name, OUT key_type regtype,
                                       OUT default_partition regclass)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
  SELECT a.attname, a.atttypid::regtype, NULLIF(pt.partdefid, 0)::regclass
    INTO key_column, key_type, default_partition
    FROM pg_catalog.pg_partitioned_table pt
    JOIN pg_catalog.pg_class c ON c.oid = pt.partrelid
    JOIN pg_catalog.pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
   WHERE pt.partrelid = parent AND c.relnamespace = 'cobranca'::regnamespace
     AND pt.partstrat = 'r' AND pt.partnatts = 1
     AND a.atttypid IN ('date'::regtype, 'timestamptz'::regtype);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'table % is not partitioned by month', parent
      USING ERRCODE = 'wrong_object_type',
            DETAIL = pg_catalog.format('parent is %s.', parent),
            HINT = 'The tables partitioned by month are listed in doc/partitioning.md.';
  END IF;
END
$$;
COMMENT ON FUNCTION cobranca.partition_key(regclass) IS
  'the partition key column and type and the default partition of a table of the schema partitioned by month; errors (42809) for any other table';

-- name and bounds of one month's partition
CREATE FUNCTION cobranca.partition_bounds(parent regclass, month date,
                                          OUT partition_name name, OUT lower_bound text, OUT upper_bound text)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  k record;
  m date := pg_catalog.date_trunc('month', month)::date;
  n date := (pg_catalog.date_trunc('month', month) + interval '1 month')::date;
BEGIN
  k := cobranca.partition_key(parent);
  SELECT c.relname || '_y' || pg_catalog.to_char(m, 'YYYY') || 'm' || pg_catalog.to_char(m, 'MM')
    INTO partition_name FROM pg_catalog.pg_class c WHERE c.oid = parent;
  IF k.key_type = 'date'::regtype THEN
    lower_bound := pg_catalog.quote_literal(m::text);
    upper_bound := pg_catalog.quote_literal(n::text);
  ELSE
    -- months of timestamptz keys are UTC months, whatever the session's zone
    lower_bound := pg_catalog.quote_literal(pg_catalog.to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00');
    upper_bound := pg_catalog.quote_literal(pg_catalog.to_char(n, 'YYYY-MM-DD') || ' 00:00:00+00');
  END IF;
END
$$;
COMMENT ON FUNCTION cobranca.partition_bounds(regclass, date) IS
  'the name (table_yYYYYmMM) and the range bounds, as SQL literals, of the partition of a month; UTC months for timestamptz keys';

-- What a partition gets besides what PostgreSQL clones from its parent
-- (columns, constraints, row triggers): the keys and indexes of the
-- default partition, the model (the table itself has none: see
-- 30_audit.sql), row-level security, and the parent's statement-level
-- TRUNCATE triggers, which are not cloned, so that a TRUNCATE of the
-- partition itself is refused or audited as one of the table.
CREATE FUNCTION cobranca.partition_prepare(parent regclass, part regclass) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  t record;
  model regclass := (cobranca.partition_key(parent)).default_partition;
  model_name name;
  part_name name;
BEGIN
  SELECT c.relname INTO model_name FROM pg_catalog.pg_class c WHERE c.oid = model;
  SELECT c.relname INTO part_name FROM pg_catalog.pg_class c WHERE c.oid = part;
  IF model IS NOT NULL AND model <> part THEN
    FOR t IN SELECT ic.relname, i.indisunique, pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
                    k.conname, k.contype, pg_catalog.pg_get_constraintdef(k.oid) AS cdef
               FROM pg_catalog.pg_index i
               JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
               LEFT JOIN pg_catalog.pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = model
              WHERE i.indrelid = model
              ORDER BY ic.relname
    LOOP
      IF t.conname IS NOT NULL THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', part,
                                  pg_catalog.replace(t.conname, model_name, part_name), t.cdef);
      ELSE
        EXECUTE pg_catalog.format('CREATE %sINDEX %I ON %s%s', CASE WHEN t.indisunique THEN 'UNIQUE ' ELSE '' END,
                                  pg_catalog.replace(t.relname, model_name, part_name), part,
                                  pg_catalog.substring(t.def, ' USING .*$'));
      END IF;
    END LOOP;
  END IF;
  EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', part);
  EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', part);
  EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', part);
  FOR t IN SELECT tg.tgname, tg.tgenabled, pg_catalog.pg_get_triggerdef(tg.oid) AS def
             FROM pg_catalog.pg_trigger tg
            WHERE tg.tgrelid = parent AND NOT tg.tgisinternal
              AND (tg.tgtype & 1) = 0 AND (tg.tgtype & 32) <> 0
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger o
                               WHERE o.tgrelid = part AND o.tgname = tg.tgname)
            ORDER BY tg.tgname
  LOOP
    EXECUTE pg_catalog.replace(t.def, ' ON ' || parent::text || ' ', ' ON ' || part::text || ' ');
    IF t.tgenabled = 'A' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', part, t.tgname);
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION cobranca.partition_prepare(regclass, regclass) IS
  'gives a new partition the keys and indexes of its table''s default partition, forced row-level security, no privileges, and its table''s statement-level TRUNCATE triggers (not cloned by PostgreSQL)';

CREATE FUNCTION cobranca.create_partition(parent regclass, month date) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  k record;
  b record;
  part regclass;
  has_rows boolean := false;
  srr text;
  t record;
  always_triggers name[] := '{}';
BEGIN
  IF month IS NULL THEN
    RAISE EXCEPTION 'month must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  k := cobranca.partition_key(parent);
  b := cobranca.partition_bounds(parent, month);
  IF pg_catalog.to_regclass(pg_catalog.format('cobranca.%I', b.partition_name)) IS NOT NULL THEN
    RETURN false;	-- made already (or detached and kept under that name)
  END IF;
  -- a month that another partition covers already (a range attached by
  -- hand) is left alone
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = parent AND c.oid IS DISTINCT FROM k.default_partition
                AND cobranca.partition_overlaps(c.oid, b.lower_bound, b.upper_bound, k.key_type)) THEN
    RETURN false;
  END IF;

  EXECUTE pg_catalog.format('CREATE TABLE cobranca.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                            b.partition_name, parent);
  part := pg_catalog.format('cobranca.%I', b.partition_name)::regclass;

  -- rows of the month that went to the default partition move into it; not
  -- a change of any row, so no trigger fires (nor the audit capture)
  IF k.default_partition IS NOT NULL THEN
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= %s AND %I < %s)',
                              k.default_partition, k.key_column, b.lower_bound, k.key_column, b.upper_bound)
      INTO has_rows;
  END IF;
  IF has_rows THEN
    srr := pg_catalog.current_setting('session_replication_role');
    PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
    FOR t IN SELECT tg.tgname FROM pg_catalog.pg_trigger tg
              WHERE tg.tgrelid = k.default_partition AND NOT tg.tgisinternal
                AND tg.tgenabled = 'A' AND (tg.tgtype & 1) = 1
    LOOP
      always_triggers := always_triggers || t.tgname;
      EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', k.default_partition, t.tgname);
    END LOOP;
    EXECUTE pg_catalog.format('WITH moved AS (DELETE FROM %s WHERE %I >= %s AND %I < %s RETURNING *) '
                              'INSERT INTO %s SELECT * FROM moved',
                              k.default_partition, k.key_column, b.lower_bound, k.key_column, b.upper_bound, part);
    FOR i IN 1 .. pg_catalog.cardinality(always_triggers) LOOP
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', k.default_partition, always_triggers[i]);
    END LOOP;
    PERFORM pg_catalog.set_config('session_replication_role', srr, true);
  END IF;

  EXECUTE pg_catalog.format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)',
                            parent, part, b.lower_bound, b.upper_bound);
  PERFORM cobranca.partition_prepare(parent, part);
  RETURN true;
END
$$;
COMMENT ON FUNCTION cobranca.create_partition(regclass, date) IS
  'makes the partition of the month containing the given date of a table partitioned by month, moving into it the rows of that month found in the default partition; false when it exists already';

-- whether an attached partition's range meets [lower, upper)
CREATE FUNCTION cobranca.partition_overlaps(part oid, lower_bound text, upper_bound text, key_type regtype)
  RETURNS boolean
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  expr text;
  lo text;
  hi text;
  r boolean;
BEGIN
  SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) INTO expr FROM pg_catalog.pg_class c WHERE c.oid = part;
  -- FOR VALUES FROM (x) TO (y), x and y literals or MINVALUE/MAXVALUE
  lo := pg_catalog.substring(expr, '^FOR VALUES FROM \((.*)\) TO \(');
  hi := pg_catalog.substring(expr, '\) TO \((.*)\)$');
  IF lo IS NULL OR hi IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE pg_catalog.format('SELECT (%s)::%s < (%s)::%s AND (%s)::%s < (%s)::%s',
                            CASE WHEN lo = 'MINVALUE' THEN '''-infinity''' ELSE lo END, key_type,
                            upper_bound, key_type,
                            lower_bound, key_type,
                            CASE WHEN hi = 'MAXVALUE' THEN '''infinity''' ELSE hi END, key_type)
    INTO r;
  RETURN r;
END
$$;
COMMENT ON FUNCTION cobranca.partition_overlaps(oid, text, text, regtype) IS
  'whether the range of an attached partition meets the range [lower_bound, upper_bound) (SQL literals of the key type)';

CREATE FUNCTION cobranca.maintain_partitions(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  ahead integer := cobranca.partition_months_ahead();
  p regclass;
  m date;
  n bigint := 0;
BEGIN
  FOR p IN SELECT pt.partrelid::regclass
             FROM pg_catalog.pg_partitioned_table pt
             JOIN pg_catalog.pg_class c ON c.oid = pt.partrelid
            WHERE c.relnamespace = 'cobranca'::regnamespace AND NOT c.relispartition
            ORDER BY c.relname
  LOOP
    -- the months of as_of and of the clock: rows keyed by the clock
    -- (audit, job history) arrive in the current month whatever as_of is
    FOR m IN SELECT DISTINCT g::date
               FROM (VALUES (maintain_partitions.as_of), (pg_catalog.now())) AS t(x),
                    pg_catalog.generate_series(pg_catalog.date_trunc('month', t.x AT TIME ZONE 'UTC'),
                                               pg_catalog.date_trunc('month', t.x AT TIME ZONE 'UTC')
                                                 + pg_catalog.make_interval(months => ahead),
                                               interval '1 month') AS g
              ORDER BY 1
    LOOP
      IF cobranca.create_partition(p, m) THEN
        n := n + 1;
      END IF;
    END LOOP;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.maintain_partitions(timestamptz) IS
  'job maintain_partitions: makes the monthly partitions of the month of as_of and of the current month and of cobranca.partition_months_ahead months after each, for every table partitioned by month; returns how many it made';

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('maintain_partitions', 5, 'cobranca.maintain_partitions(timestamptz)',
        'make the monthly partitions of the current month and the next cobranca.partition_months_ahead months');

CREATE FUNCTION cobranca.detach_partition(parent regclass, month date) RETURNS regclass
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  k record;
  b record;
  part regclass;
  upper_ts timestamptz;
  bad bigint;
  held boolean;
  has_creditor boolean;
BEGIN
  IF month IS NULL THEN
    RAISE EXCEPTION 'month must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  k := cobranca.partition_key(parent);
  b := cobranca.partition_bounds(parent, month);
  part := pg_catalog.to_regclass(pg_catalog.format('cobranca.%I', b.partition_name));
  IF part IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i
                                  WHERE i.inhrelid = part AND i.inhparent = parent) THEN
    RAISE EXCEPTION 'table % has no partition for month %', parent, pg_catalog.to_char(month, 'YYYY-MM')
      USING ERRCODE = 'undefined_table',
            DETAIL = pg_catalog.format('partition cobranca.%I is not attached to %s.', b.partition_name, parent);
  END IF;
  EXECUTE pg_catalog.format('SELECT (%s)::timestamptz', b.upper_bound) INTO upper_ts;
  IF upper_ts > pg_catalog.now() THEN
    RAISE EXCEPTION 'the month % of % has not ended', pg_catalog.to_char(month, 'YYYY-MM'), parent
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('partition %s ends at %s.', part, b.upper_bound),
            HINT = 'Only a past month can be detached for archiving.';
  END IF;

  -- detach first: the lock waits for every transaction still writing into it
  EXECUTE pg_catalog.format('ALTER TABLE %s DETACH PARTITION %s', parent, part);

  has_creditor := EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                           WHERE a.attrelid = part AND a.attname = 'creditor_id' AND NOT a.attisdropped);
  IF has_creditor THEN
    EXECUTE pg_catalog.format(
      'SELECT EXISTS (SELECT 1 FROM cobranca.audit_hold h WHERE (h.until IS NULL OR h.until >= CURRENT_DATE) '
      '  AND (h.creditor_id IS NULL OR h.creditor_id IN (SELECT p.creditor_id FROM %s p)))', part) INTO held;
  ELSE
    held := EXISTS (SELECT 1 FROM cobranca.audit_hold h
                     WHERE (h.until IS NULL OR h.until >= CURRENT_DATE) AND h.creditor_id IS NULL);
  END IF;
  IF held THEN
    RAISE EXCEPTION 'partition % is under an audit hold', part
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = 'A legal hold in force (cobranca.audit_hold) covers a creditor with rows in it.',
            HINT = 'Wait for the hold to end; nothing was detached.';
  END IF;

  IF parent = 'cobranca.audit_log'::regclass THEN
    EXECUTE pg_catalog.format(
      'SELECT pg_catalog.count(*) FROM %s a WHERE NOT EXISTS (SELECT 1 FROM cobranca.audit_seal s WHERE s.audit_id = a.id)',
      part) INTO bad;
    IF bad > 0 THEN
      RAISE EXCEPTION 'partition % holds % unsealed audit rows', part, bad
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = pg_catalog.format('partition %s: every row must be sealed (cobranca.audit_seal) before it leaves the log.', part),
              HINT = 'Run cobranca.audit_seal() (job seal_audit) first; nothing was detached.';
    END IF;
    -- the chains must still verify: the rows leaving are a prefix of each
    -- chain, never its newest row (it anchors the next seal)
    EXECUTE pg_catalog.format(
      'SELECT pg_catalog.count(*) FROM (SELECT s.chain_id, pg_catalog.max(s.seq) AS top FROM cobranca.audit_seal s '
      '  JOIN %s a ON a.id = s.audit_id GROUP BY s.chain_id) d '
      ' WHERE EXISTS (SELECT 1 FROM cobranca.audit_seal s JOIN cobranca.audit_log l ON l.id = s.audit_id '
      '                WHERE s.chain_id = d.chain_id AND s.seq < d.top) '
      '    OR NOT EXISTS (SELECT 1 FROM cobranca.audit_seal s WHERE s.chain_id = d.chain_id AND s.seq > d.top)',
      part) INTO bad;
    IF bad > 0 THEN
      RAISE EXCEPTION 'partition % is not the oldest part of the audit chains', part
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = pg_catalog.format('%s chains would be cut in the middle or lose their newest row.', bad),
              HINT = 'Detach the older months first; a month holding a chain''s newest row stays.';
    END IF;
  END IF;

  -- out of the schema: the archive schema holds what awaits dump and drop
  IF pg_catalog.to_regnamespace('cobranca_archive') IS NULL THEN
    CREATE SCHEMA cobranca_archive;
    REVOKE ALL ON SCHEMA cobranca_archive FROM PUBLIC;
    COMMENT ON SCHEMA cobranca_archive IS
      'partitions detached by cobranca.detach_partition(), with the seals of audit rows: dump them, then drop them';
  END IF;
  EXECUTE pg_catalog.format('ALTER TABLE %s SET SCHEMA cobranca_archive', part);
  IF parent = 'cobranca.audit_log'::regclass THEN
    -- its seals go with it, into cobranca_archive.<partition>_seal
    PERFORM cobranca.audit_archive_seals(part);
    -- the archive stays append-only
    EXECUTE pg_catalog.format('CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON %s '
                              'FOR EACH ROW EXECUTE FUNCTION cobranca.audit_refuse()', part);
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_log_append_only', part);
  END IF;
  RETURN part;
END
$$;
COMMENT ON FUNCTION cobranca.detach_partition(regclass, date) IS
  'archiving: detaches the partition of a past month from its table into schema cobranca_archive and returns it (dump it, then drop it); refuses a month under an audit hold and, for audit_log, unsealed rows or rows that are not the oldest of their chains (their seals move to cobranca_archive.<partition>_seal)';

CREATE FUNCTION cobranca.audit_archive_seals(part regclass) RETURNS bigint
  AS 'MODULE_PATHNAME', 'cobranca_audit_archive_seals'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION cobranca.audit_archive_seals(regclass) IS
  'moves the seals of the rows of a detached audit_log partition from cobranca.audit_seal into a new table <partition>_seal next to it; called by detach_partition only';

REVOKE ALL ON FUNCTION cobranca.partition_months_ahead(), cobranca.partition_key(regclass),
  cobranca.partition_bounds(regclass, date), cobranca.partition_prepare(regclass, regclass),
  cobranca.create_partition(regclass, date), cobranca.partition_overlaps(oid, text, text, regtype),
  cobranca.maintain_partitions(timestamptz), cobranca.detach_partition(regclass, date),
  cobranca.audit_archive_seals(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.detach_partition(regclass, date) TO cobranca_admin;

-- ==== updates/0.1.0--0.2.0/92_partition_tables.sql
-- Time partitioning (src/sql/92_partition.sql): audit_log and job_run become
-- tables partitioned by month.  Each is rebuilt with its rows: the 0.1.0
-- table is renamed away, the partitioned one created with its default
-- partition, and everything the old table had (comments, privileges,
-- row-level security and policies, triggers, the identity's position) is
-- carried over before the rows are copied into the default partition and
-- the old table dropped.  The first run of the job maintain_partitions moves
-- the current month's rows into their own partition; older months stay in
-- the default partition until cobranca.create_partition() is called for
-- them (doc/partitioning.md).

-- carries over everything but columns, constraints and indexes from
-- cobranca.<tbl>_0_1 to the new cobranca.<tbl> and copies the rows
CREATE FUNCTION cobranca.upgrade_0_2_rebuild(tbl name) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  old regclass := pg_catalog.format('cobranca.%I', tbl || '_0_1')::regclass;
  new regclass := pg_catalog.format('cobranca.%I', tbl)::regclass;
  r record;
  oldseq regclass;
  newseq regclass;
  last bigint;
  called boolean;
BEGIN
  EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', new, pg_catalog.obj_description(old, 'pg_class'));
  FOR r IN SELECT a.attname, pg_catalog.col_description(old, a.attnum) AS d
             FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = old AND a.attnum > 0 AND NOT a.attisdropped
              AND pg_catalog.col_description(old, a.attnum) IS NOT NULL
            ORDER BY a.attnum
  LOOP
    EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', new, r.attname, r.d);
  END LOOP;

  IF (SELECT c.relrowsecurity FROM pg_catalog.pg_class c WHERE c.oid = old) THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', new);
  END IF;
  IF (SELECT c.relforcerowsecurity FROM pg_catalog.pg_class c WHERE c.oid = old) THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', new);
  END IF;
  EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', new);
  FOR r IN SELECT x.privilege_type, x.grantee
             FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) x
            WHERE c.oid = old AND x.grantee <> c.relowner
  LOOP
    EXECUTE pg_catalog.format('GRANT %s ON %s TO %s', r.privilege_type, new,
                              CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.grantee::regrole::text) END);
  END LOOP;
  FOR r IN SELECT a.attname, x.privilege_type, x.grantee
             FROM pg_catalog.pg_attribute a, pg_catalog.aclexplode(a.attacl) x
            WHERE a.attrelid = old AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
  LOOP
    EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', r.privilege_type, r.attname, new,
                              CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.grantee::regrole::text) END);
  END LOOP;
  FOR r IN SELECT p.polname, p.polpermissive,
                  CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
                  (SELECT pg_catalog.string_agg(CASE WHEN o = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(o::regrole::text) END, ', ')
                     FROM pg_catalog.unnest(p.polroles) o) AS roles,
                  pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS q,
                  pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS w
             FROM pg_catalog.pg_policy p
            WHERE p.polrelid = old
            ORDER BY p.oid
  LOOP
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', r.polname, new,
                              CASE WHEN r.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, r.cmd, r.roles,
                              CASE WHEN r.q IS NULL THEN '' ELSE ' USING (' || r.q || ')' END,
                              CASE WHEN r.w IS NULL THEN '' ELSE ' WITH CHECK (' || r.w || ')' END);
  END LOOP;

  -- the rows, before the triggers: copying is no change of any row
  EXECUTE pg_catalog.format('INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM %s', new, old);
  oldseq := pg_catalog.pg_get_serial_sequence(old::text, 'id')::regclass;
  newseq := pg_catalog.pg_get_serial_sequence(new::text, 'id')::regclass;
  IF oldseq IS NOT NULL AND newseq IS NOT NULL THEN
    EXECUTE pg_catalog.format('SELECT last_value, is_called FROM %s', oldseq) INTO last, called;
    PERFORM pg_catalog.setval(newseq, last, called);
  END IF;

  FOR r IN SELECT t.tgname, t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid) AS def
             FROM pg_catalog.pg_trigger t
            WHERE t.tgrelid = old AND NOT t.tgisinternal AND t.tgparentid = 0
            ORDER BY t.tgname
  LOOP
    EXECUTE pg_catalog.replace(r.def, ' ON ' || old::text || ' ', ' ON ' || new::text || ' ');
    IF r.tgenabled = 'A' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', new, r.tgname);
    ELSIF r.tgenabled = 'R' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE REPLICA TRIGGER %I', new, r.tgname);
    ELSIF r.tgenabled = 'D' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', new, r.tgname);
    END IF;
  END LOOP;
END
$$;

-- (the functions come from src/sql/92_partition.sql, the part before this one)

-- ---- audit_log
ALTER TABLE cobranca.audit_log RENAME TO audit_log_0_1;
ALTER TABLE cobranca.audit_log_0_1 RENAME CONSTRAINT audit_log_pkey TO audit_log_0_1_pkey;
ALTER INDEX cobranca.audit_log_txid_idx RENAME TO audit_log_0_1_txid_idx;
ALTER INDEX cobranca.audit_log_logged_at_idx RENAME TO audit_log_0_1_logged_at_idx;
ALTER SEQUENCE cobranca.audit_log_id_seq RENAME TO audit_log_0_1_id_seq;
CREATE TABLE cobranca.audit_log (
  id                bigint GENERATED ALWAYS AS IDENTITY,
  logged_at         timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  txid              bigint NOT NULL DEFAULT pg_catalog.pg_current_xact_id()::text::bigint,
  session_user_name name NOT NULL DEFAULT SESSION_USER,
  current_user_name name NOT NULL DEFAULT CURRENT_USER,
  application_name  text,
  client_addr       inet,
  table_name        name NOT NULL,
  operation         text NOT NULL,
  row_id            bigint,
  creditor_id       bigint,
  old_values        jsonb,
  new_values        jsonb,
  reason            text
) PARTITION BY RANGE (logged_at);
-- Partitioned by month of logged_at (92_partition.sql).  The keys and
-- indexes are the partitions' own, not the table's: a dump restores the
-- partitions the job made after CREATE EXTENSION has made the table, and
-- an index of the table would already be on each partition it attaches.
-- The default partition, made here, is the model of the monthly ones.
-- Few and cheap indexes: every domain write pays for them.  BRIN suits both
-- columns, which grow with the table; the seal scans by txid.
CREATE TABLE cobranca.audit_log_default PARTITION OF cobranca.audit_log DEFAULT;
ALTER TABLE cobranca.audit_log_default ADD CONSTRAINT audit_log_default_pkey PRIMARY KEY (id);
CREATE INDEX audit_log_default_txid_idx ON cobranca.audit_log_default USING brin (txid);
CREATE INDEX audit_log_default_logged_at_idx ON cobranca.audit_log_default USING brin (logged_at);
SELECT cobranca.upgrade_0_2_rebuild('audit_log');
ALTER EXTENSION cobranca DROP SEQUENCE cobranca.audit_log_0_1_id_seq;
ALTER EXTENSION cobranca DROP TABLE cobranca.audit_log_0_1;
DROP TABLE cobranca.audit_log_0_1;
SELECT cobranca.partition_prepare('cobranca.audit_log', 'cobranca.audit_log_default');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_id_seq', '');

-- ---- job_run (and the view that reads it)
DROP VIEW cobranca.job_status;
ALTER TABLE cobranca.job_run RENAME TO job_run_0_1;
ALTER TABLE cobranca.job_run_0_1 RENAME CONSTRAINT job_run_pkey TO job_run_0_1_pkey;
ALTER TABLE cobranca.job_run_0_1 RENAME CONSTRAINT job_run_finished_after_start TO job_run_0_1_finished_after_start;
ALTER TABLE cobranca.job_run_0_1 RENAME CONSTRAINT job_run_rows_or_error TO job_run_0_1_rows_or_error;
ALTER INDEX cobranca.job_run_started_at_idx RENAME TO job_run_0_1_started_at_idx;
ALTER INDEX cobranca.job_run_job_started_at_idx RENAME TO job_run_0_1_job_started_at_idx;
ALTER SEQUENCE cobranca.job_run_id_seq RENAME TO job_run_0_1_id_seq;
CREATE TABLE cobranca.job_run (
  id          bigint GENERATED ALWAYS AS IDENTITY,
  cycle       bigint NOT NULL,
  job         text NOT NULL,
  as_of       timestamptz NOT NULL,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  rows        bigint,
  error       text,
  sqlstate    text,
  pid         integer NOT NULL,
  CONSTRAINT job_run_finished_after_start CHECK (finished_at >= started_at),
  CONSTRAINT job_run_rows_or_error CHECK (error IS NULL OR rows IS NULL)
) PARTITION BY RANGE (started_at);
-- Partitioned by month of started_at (92_partition.sql); the keys and
-- indexes are the partitions', modelled on the default partition's.
CREATE TABLE cobranca.job_run_default PARTITION OF cobranca.job_run DEFAULT;
ALTER TABLE cobranca.job_run_default ADD CONSTRAINT job_run_default_pkey PRIMARY KEY (id);
CREATE INDEX job_run_default_started_at_idx ON cobranca.job_run_default (started_at);
CREATE INDEX job_run_default_job_started_at_idx ON cobranca.job_run_default (job, started_at);
SELECT cobranca.upgrade_0_2_rebuild('job_run');
ALTER EXTENSION cobranca DROP SEQUENCE cobranca.job_run_0_1_id_seq;
ALTER EXTENSION cobranca DROP TABLE cobranca.job_run_0_1;
DROP TABLE cobranca.job_run_0_1;
SELECT cobranca.partition_prepare('cobranca.job_run', 'cobranca.job_run_default');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_id_seq', '');

CREATE VIEW cobranca.job_status AS
SELECT j.name        AS job,
       j.position,
       j.enabled,
       last.cycle    AS last_cycle,
       last.started_at AS last_started_at,
       last.finished_at AS last_finished_at,
       last.rows     AS last_rows,
       last.error    AS last_error,
       (SELECT pg_catalog.max(ok.finished_at)
          FROM cobranca.job_run ok
         WHERE ok.job = j.name AND ok.error IS NULL) AS last_success_at
  FROM cobranca.job j
  LEFT JOIN LATERAL (
        SELECT r.cycle, r.started_at, r.finished_at, r.rows, r.error
          FROM cobranca.job_run r
         WHERE r.job = j.name
         ORDER BY r.started_at DESC
         LIMIT 1) last ON true;
COMMENT ON VIEW cobranca.job_status IS
  'One row per registered job with its last run: for watching the collection cycle';
COMMENT ON COLUMN cobranca.job_status.job IS 'name of the job';
COMMENT ON COLUMN cobranca.job_status.position IS 'order in the cycle';
COMMENT ON COLUMN cobranca.job_status.enabled IS 'whether the cycle runs it';
COMMENT ON COLUMN cobranca.job_status.last_cycle IS 'cycle number of its last run';
COMMENT ON COLUMN cobranca.job_status.last_started_at IS 'start of its last run';
COMMENT ON COLUMN cobranca.job_status.last_finished_at IS 'end of its last run';
COMMENT ON COLUMN cobranca.job_status.last_rows IS 'rows its last run created or changed; null if it failed';
COMMENT ON COLUMN cobranca.job_status.last_error IS 'error of its last run; null if it succeeded';
COMMENT ON COLUMN cobranca.job_status.last_success_at IS 'end of its last successful run within the retained history';

REVOKE ALL ON cobranca.job_run, cobranca.job_status FROM PUBLIC;
GRANT SELECT ON cobranca.job_run, cobranca.job_status TO cobranca_admin;
ALTER VIEW cobranca.job_status SET (security_barrier = true);

-- The default partitions (made with their tables): members of the
-- extension, their rows dumped.
COMMENT ON TABLE cobranca.audit_log_default IS
  'rows of cobranca.audit_log whose month has no partition yet (job maintain_partitions moves them out)';
COMMENT ON TABLE cobranca.job_run_default IS
  'rows of cobranca.job_run whose month has no partition yet (job maintain_partitions moves them out)';
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_default', '');

-- as CREATE EXTENSION leaves them (97_security.sql): no role reads a sequence
REVOKE ALL ON SEQUENCE cobranca.audit_log_id_seq, cobranca.job_run_id_seq
  FROM PUBLIC, cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_legal, cobranca_admin;

CREATE OR REPLACE FUNCTION cobranca.unclassified_tables() RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT pg_catalog.string_agg(c.relname, ', ' ORDER BY c.relname)
    FROM pg_catalog.pg_class c
   WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind IN ('r', 'p')
     AND NOT c.relispartition	-- a partition takes its table's class
     AND NOT EXISTS (SELECT 1 FROM cobranca.table_class k WHERE k.table_name = c.relname)
$$;

DROP FUNCTION cobranca.upgrade_0_2_rebuild(name);

-- ==== updates/0.1.0--0.2.0/93_replica.sql
-- The BI read replica (doc/scaling.md): a second cluster that receives the
-- reporting tables by logical replication, where BI tools read the KPI and
-- report views without loading the primary.
--
--   on the primary   SELECT * FROM cobranca.create_bi_publication('cobranca_bi', 'bi_replicator');
--   on the replica   CREATE EXTENSION cobranca;
--                    SELECT cobranca.prepare_bi_replica();
--                    CREATE SUBSCRIPTION cobranca_bi CONNECTION '...' PUBLICATION cobranca_bi;
--
-- What goes: every table the views read, health data included (the claims
-- ratio needs the claims, cancellation_eligible the open hospitalizations),
-- under the same row-level security as on the primary.  What stays: the
-- audit trail (evidence lives where it was sealed; its retention purge
-- deletes rows that the replica's append-only triggers would refuse), the key
-- ring and the encrypted and digested documents (the replica needs no master
-- key and should hold nothing it would need one for), and the jobs' own
-- tables (the replica runs no jobs).
--
-- A database that subscribes to tables of this schema is a replica:
-- cobranca.run_jobs() refuses to run there and the background worker skips
-- its cycles (src/worker.c asks the same question of pg_subscription_rel).

CREATE FUNCTION cobranca.is_bi_replica() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_subscription_rel sr
                   JOIN pg_catalog.pg_class c ON c.oid = sr.srrelid
                  WHERE c.relnamespace = 'cobranca'::pg_catalog.regnamespace)
$$;
COMMENT ON FUNCTION cobranca.is_bi_replica() IS
  'whether this database is a BI replica: it subscribes (logical replication, any state, enabled or not) to tables of schema cobranca; there run_jobs() refuses and the background worker stays idle';

CREATE FUNCTION cobranca.bi_replica_excluded()
  RETURNS TABLE (table_name name, reason text)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT t.table_name::name, t.reason FROM (VALUES
    ('audit_log',        'audit trail: the evidence stays on the primary, where it is chained and sealed; its retention purge deletes rows that the replica''s append-only trigger refuses'),
    ('audit_seal',       'audit chains: sealed on the primary only'),
    ('audit_seal_state', 'the primary''s sealing position'),
    ('audit_hold',       'legal holds act on the primary''s audit trail'),
    ('key_ring',         'wrapped data keys: the replica has no master key and needs none'),
    ('job',              'job registry: the replica runs no jobs'),
    ('job_run',          'history of the primary''s collection cycles'),
    ('table_class',      'shipped with the extension: the same on both sides')
  ) AS t(table_name, reason)
$$;
COMMENT ON FUNCTION cobranca.bi_replica_excluded() IS
  'tables of schema cobranca that the BI publication leaves out, and why (besides every table of security class audit, hold or ops)';

CREATE FUNCTION cobranca.bi_replica_tables()
  RETURNS TABLE (table_name name, columns text[])
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT c.relname,
         CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                              AND a.attname IN ('document_cipher', 'document_digest', 'document_key'))
              THEN ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                            AND a.attname NOT IN ('document_cipher', 'document_digest', 'document_key')
                          ORDER BY a.attnum)
         END
    FROM pg_catalog.pg_class c
    LEFT JOIN cobranca.table_class k ON k.table_name = c.relname
   WHERE c.relnamespace = 'cobranca'::pg_catalog.regnamespace
     AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     AND c.relpersistence = 'p'
     AND COALESCE(k.class, '') NOT IN ('audit', 'hold', 'ops')
     AND c.relname NOT IN (SELECT x.table_name FROM cobranca.bi_replica_excluded() x)
   ORDER BY c.relname
$$;
COMMENT ON FUNCTION cobranca.bi_replica_tables() IS
  'the tables the BI publication carries, with their column list (null: every column; payer without its encrypted and digested document)';

CREATE FUNCTION cobranca.create_bi_publication(name text DEFAULT 'cobranca_bi',
                                               replicator name DEFAULT NULL)
  RETURNS TABLE (table_name name, columns text[])
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  tables text;
  pt record;
  who record;
BEGIN
  IF create_bi_publication.name IS NULL OR create_bi_publication.name = '' THEN
    RAISE EXCEPTION 'the publication needs a name'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'create_bi_publication.name is null or empty.',
            HINT = 'Call cobranca.create_bi_publication() for the default name cobranca_bi.';
  END IF;
  SELECT pg_catalog.string_agg(pg_catalog.format('cobranca.%I', t.table_name)
           || COALESCE(' (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(col), ', ')
                                  FROM pg_catalog.unnest(t.columns) AS col) || ')', ''),
           ', ' ORDER BY t.table_name)
    INTO tables
    FROM cobranca.bi_replica_tables() t;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.pubname = create_bi_publication.name) THEN
    -- again after an upgrade: new tables join, the column lists follow
    EXECUTE pg_catalog.format('ALTER PUBLICATION %I SET TABLE %s', create_bi_publication.name, tables);
    EXECUTE pg_catalog.format('ALTER PUBLICATION %I SET (publish = %L, publish_via_partition_root = true)',
                              create_bi_publication.name, 'insert, update, delete, truncate');
  ELSE
    -- partitioned tables publish through their root, so that the replica's
    -- partitions need not match the primary's
    EXECUTE pg_catalog.format('CREATE PUBLICATION %I FOR TABLE %s WITH (publish_via_partition_root = true)',
                              create_bi_publication.name, tables);
  END IF;
  -- the login the replica connects as reads what is published, and no
  -- more: column by column where the publication has a column list
  IF create_bi_publication.replicator IS NOT NULL THEN
    SELECT r.rolname, r.rolreplication, r.rolbypassrls, r.rolsuper INTO who
      FROM pg_catalog.pg_roles r WHERE r.rolname = create_bi_publication.replicator;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'role "%" does not exist', create_bi_publication.replicator
        USING ERRCODE = 'undefined_object',
              DETAIL = 'create_bi_publication.replicator names the login the replica connects as.',
              HINT = 'CREATE ROLE ... LOGIN REPLICATION BYPASSRLS first.';
    END IF;
    IF NOT who.rolsuper AND NOT (who.rolreplication AND who.rolbypassrls) THEN
      RAISE EXCEPTION 'role "%" cannot copy the published tables', who.rolname
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = pg_catalog.format('replication: %s, bypass row-level security: %s.',
                                         who.rolreplication, who.rolbypassrls),
              HINT = pg_catalog.format('ALTER ROLE %I REPLICATION BYPASSRLS (row-level security is forced on every table).',
                                       who.rolname);
    END IF;
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA cobranca TO %I', who.rolname);
    FOR pt IN SELECT b.table_name, b.columns FROM cobranca.bi_replica_tables() b LOOP
      EXECUTE pg_catalog.format('GRANT SELECT %s ON cobranca.%I TO %I',
                                COALESCE('(' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(col), ', ')
                                                   FROM pg_catalog.unnest(pt.columns) AS col) || ')', ''),
                                pt.table_name, who.rolname);
    END LOOP;
  END IF;
  RETURN QUERY SELECT b.table_name, b.columns FROM cobranca.bi_replica_tables() b;
END
$fn$;
COMMENT ON FUNCTION cobranca.create_bi_publication(text, name) IS
  'On the primary (DBA): creates the logical-replication publication of the BI read replica, or brings an existing one up to date after an upgrade (ALTER PUBLICATION ... SET TABLE); given the replica''s login (REPLICATION BYPASSRLS), grants it SELECT on what is published, column by column where there is a column list; returns the tables and column lists. See doc/scaling.md';
REVOKE ALL ON FUNCTION cobranca.create_bi_publication(text, name) FROM PUBLIC;

CREATE FUNCTION cobranca.prepare_bi_replica() RETURNS bigint
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  t record;
  n bigint;
  total bigint := 0;
  role_was text := pg_catalog.current_setting('session_replication_role');
BEGIN
  IF cobranca.is_bi_replica() THEN
    RAISE EXCEPTION 'this database already subscribes to cobranca tables'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('database %s has a subscription to tables of schema cobranca.',
                                       pg_catalog.current_database()),
            HINT = 'To start again: DROP SUBSCRIPTION, DROP EXTENSION cobranca CASCADE, CREATE EXTENSION cobranca.';
  END IF;
  IF EXISTS (SELECT 1 FROM cobranca.creditor) THEN
    RAISE EXCEPTION 'this database holds collection data of its own'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('cobranca.creditor has %s rows.', (SELECT pg_catalog.count(*) FROM cobranca.creditor)),
            HINT = 'A BI replica starts from a fresh CREATE EXTENSION cobranca in an empty database.';
  END IF;
  -- only the rows CREATE EXTENSION shipped are here; without triggers, so
  -- that nothing is audited or checked on the way out
  PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
  FOR t IN SELECT r.table_name FROM cobranca.bi_replica_tables() r LOOP
    EXECUTE pg_catalog.format('DELETE FROM cobranca.%I', t.table_name);
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
  END LOOP;
  PERFORM pg_catalog.set_config('session_replication_role', role_was, true);
  RETURN total;
END
$fn$;
COMMENT ON FUNCTION cobranca.prepare_bi_replica() IS
  'On a new BI replica (superuser), before CREATE SUBSCRIPTION: empties the replicated tables of the rows CREATE EXTENSION shipped, so that the subscription''s initial copy brings the primary''s rows without key conflicts; refuses in a database with data; returns the rows removed';
REVOKE ALL ON FUNCTION cobranca.prepare_bi_replica() FROM PUBLIC;

-- ==== updates/0.1.0--0.2.0/94_citus.sql
-- The distributed layout (doc/scaling.md): where each table goes on a Citus
-- cluster, and the statements that put it there.  Nothing here needs Citus;
-- test/pgtap/citus_layout.sql checks the rules below against the catalog,
-- so that a new table or key that would break the layout fails the suite.
--
--   distributed  sharded by creditor_id (audit_seal by chain_id, its
--                creditor), all in one co-location group: a creditor's rows
--                of every table live on one node, so the joins and triggers
--                of one creditor never leave it
--   reference    small tables copied to every node: creditors, portfolios,
--                logins, rules, calendars, tiers, models, keys
--   local        the coordinator's own: the job runner and the install's
--                bookkeeping
--
-- Rules (what Citus requires, and what the layout keeps true):
--   - a distributed table has its distribution column, bigint NOT NULL
--     (audit_log alone keeps a nullable creditor_id; see doc/scaling.md)
--   - no foreign key from a reference or local table to a distributed one,
--     none from a distributed table to a local one, none from a reference
--     table to a local one
--   - every unique key of a distributed table either holds the distribution
--     column or holds a column that fixes the creditor (its own id, or a
--     reference to a row that carries a creditor): adding the distribution
--     column, as Citus needs, then changes nothing
-- On one server the identity id stays the primary key (doc/spec.md §3b);
-- cobranca.citus_ddl() widens the keys with the distribution column.

CREATE FUNCTION cobranca.citus_layout()
  RETURNS TABLE (table_name name, placement text, distribution_column name, note text)
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH listed (table_name, placement, distribution_column, note) AS (VALUES
    ('creditor',         'reference', NULL, 'the tenants: few, read by every trigger and job (time zone, fine, interest); every distributed table refers to it'),
    ('portfolio',        'reference', NULL, 'a few per creditor; every row-level security policy and KPI groups by it'),
    ('assignment',       'reference', NULL, 'login to portfolios: read by the row-level security policies on every node'),
    ('erp_login',        'reference', NULL, 'login to creditor: read by the row-level security policies on every node'),
    ('cadence_rule',     'reference', NULL, 'cadence steps (creditor null: every creditor); contact.rule_id refers to it'),
    ('holiday',          'reference', NULL, 'calendar, shared by every creditor'),
    ('contact_window',   'reference', NULL, 'lawful contact hours per state (creditor null: the default)'),
    ('channel_capacity', 'reference', NULL, 'contacts a day per creditor and channel: a few rows'),
    ('channel_cost',     'reference', NULL, 'cost per contact (creditor null: the default)'),
    ('agreement_tier',   'reference', NULL, 'discount tiers; agreement.tier refers to it'),
    ('score_model',      'reference', NULL, 'the scoring models: the active one is read wherever invoices are scored'),
    ('key_ring',         'reference', NULL, 'wrapped data keys: needed wherever the payer trigger encrypts, i.e. on every node'),
    ('audit_hold',       'reference', NULL, 'legal holds (creditor null: every creditor)'),
    ('job',              'local',     NULL, 'the job registry: cobranca.run_jobs() runs on the coordinator'),
    ('job_run',          'local',     NULL, 'history of the coordinator''s cycles'),
    ('audit_seal_state', 'local',     NULL, 'the sealing position: snapshots are per node (see doc/scaling.md)'),
    ('table_class',      'local',     NULL, 'security classes, read while the extension is installed'),
    ('audit_seal',       'distributed', 'chain_id', 'the hash chains: one per creditor, chain_id is the creditor')
  )
  SELECT c.relname,
         COALESCE(l.placement, 'distributed'),
         CASE WHEN COALESCE(l.placement, 'distributed') = 'distributed'
              THEN COALESCE(l.distribution_column, 'creditor_id')::name END,
         COALESCE(l.note, 'tenant data: sharded by creditor_id, co-located with every other distributed table')
    FROM pg_catalog.pg_class c
    LEFT JOIN listed l ON l.table_name = c.relname
   WHERE c.relnamespace = 'cobranca'::pg_catalog.regnamespace
     AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   ORDER BY 2, 1
$$;
COMMENT ON FUNCTION cobranca.citus_layout() IS
  'Where every table of schema cobranca goes on a Citus cluster: reference and local tables are listed, every other table is distributed by creditor_id in one co-location group (see doc/scaling.md)';

CREATE FUNCTION cobranca.citus_ddl()
  RETURNS TABLE (step integer, statement text)
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  r record;
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS citus_ddl_dist (oid oid PRIMARY KEY, relname name, attnum smallint, attname name)
    ON COMMIT DROP;
  TRUNCATE citus_ddl_dist;
  -- a distributed table with its partitions, if it has any: Citus
  -- distributes them with it, so their own keys need the column too
  INSERT INTO citus_ddl_dist
  SELECT c.oid, c.relname, a.attnum, a.attname
    FROM cobranca.citus_layout() l
    JOIN pg_catalog.pg_class root ON root.relname = l.table_name
                                 AND root.relnamespace = 'cobranca'::pg_catalog.regnamespace
    CROSS JOIN LATERAL (SELECT root.oid AS relid
                        UNION SELECT t.relid FROM pg_catalog.pg_partition_tree(root.oid) t) t
    JOIN pg_catalog.pg_class c ON c.oid = t.relid AND c.relkind IN ('r', 'p')
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = l.distribution_column
   WHERE l.placement = 'distributed';

  -- 1a. foreign keys between distributed tables without the distribution
  -- column: dropped first (they lean on the keys widened next)
  FOR r IN
    SELECT con.conrelid::pg_catalog.regclass AS rel, con.conname
      FROM pg_catalog.pg_constraint con
      JOIN citus_ddl_dist d ON d.oid = con.conrelid
      JOIN citus_ddl_dist p ON p.oid = con.confrelid
     WHERE con.contype = 'f' AND NOT (d.attnum = ANY (con.conkey)) AND con.conparentid = 0
     ORDER BY 1, 2
  LOOP
    step := 1;
    statement := pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I;', r.rel, r.conname);
    RETURN NEXT;
  END LOOP;

  -- 1b. primary keys and unique constraints without it: the same name, the
  -- same columns, the distribution column last (lookups by the old leading
  -- columns keep their index)
  FOR r IN
    SELECT con.conrelid::pg_catalog.regclass AS rel, con.conname, con.contype, d.attname AS dist,
           i.indnullsnotdistinct AS nnd,
           (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord)
              FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols
      FROM pg_catalog.pg_constraint con
      JOIN citus_ddl_dist d ON d.oid = con.conrelid
      JOIN pg_catalog.pg_index i ON i.indexrelid = con.conindid
     WHERE con.contype IN ('p', 'u') AND NOT (d.attnum = ANY (con.conkey)) AND con.conparentid = 0
     ORDER BY 1, 2
  LOOP
    step := 1;
    statement := pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s%s (%s, %I);',
                                   r.rel, r.conname, r.conname,
                                   CASE r.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END,
                                   CASE WHEN r.nnd THEN ' NULLS NOT DISTINCT' ELSE '' END,
                                   r.cols, r.dist);
    RETURN NEXT;
  END LOOP;

  -- 1c. unique indexes that back no constraint (partial ones): rebuilt the
  -- same way, predicate kept
  FOR r IN
    SELECT i.indexrelid::pg_catalog.regclass AS idx, ic.relname AS idxname, i.indrelid::pg_catalog.regclass AS rel,
           d.attname AS dist, i.indnullsnotdistinct AS nnd,
           (SELECT pg_catalog.string_agg(pg_catalog.pg_get_indexdef(i.indexrelid, k, true), ', ' ORDER BY k)
              FROM pg_catalog.generate_series(1, i.indnkeyatts) AS k) AS cols,
           pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) AS pred
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      JOIN citus_ddl_dist d ON d.oid = i.indrelid
     WHERE i.indisunique AND NOT (d.attnum = ANY (i.indkey::smallint[]))
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conindid = i.indexrelid)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid)
     ORDER BY 2
  LOOP
    step := 1;
    statement := pg_catalog.format('DROP INDEX %s; CREATE UNIQUE INDEX %I ON %s (%s, %I)%s%s;',
                                   r.idx, r.idxname, r.rel, r.cols, r.dist,
                                   CASE WHEN r.nnd THEN ' NULLS NOT DISTINCT' ELSE '' END,
                                   COALESCE(' WHERE ' || r.pred, ''));
    RETURN NEXT;
  END LOOP;

  -- 1d. the foreign keys of 1a again, with the distribution column on both
  -- sides (they now find the widened keys)
  FOR r IN
    SELECT con.conrelid::pg_catalog.regclass AS rel, con.confrelid::pg_catalog.regclass AS prel, con.conname,
           d.attname AS dist, p.attname AS pdist, con.confdeltype, con.confupdtype,
           con.condeferrable, con.condeferred,
           (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord)
              FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols,
           (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.ord)
              FROM pg_catalog.unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS pcols
      FROM pg_catalog.pg_constraint con
      JOIN citus_ddl_dist d ON d.oid = con.conrelid
      JOIN citus_ddl_dist p ON p.oid = con.confrelid
     WHERE con.contype = 'f' AND NOT (d.attnum = ANY (con.conkey)) AND con.conparentid = 0
     ORDER BY 1, 3
  LOOP
    step := 1;
    statement := pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%s, %I) REFERENCES %s (%s, %I)%s%s%s;',
                                   r.rel, r.conname, r.cols, r.dist, r.prel, r.pcols, r.pdist,
                                   CASE r.confdeltype WHEN 'c' THEN ' ON DELETE CASCADE' WHEN 'r' THEN ' ON DELETE RESTRICT'
                                                      WHEN 'n' THEN ' ON DELETE SET NULL' WHEN 'd' THEN ' ON DELETE SET DEFAULT'
                                                      ELSE '' END,
                                   CASE r.confupdtype WHEN 'c' THEN ' ON UPDATE CASCADE' WHEN 'r' THEN ' ON UPDATE RESTRICT'
                                                      ELSE '' END,
                                   CASE WHEN r.condeferred THEN ' DEFERRABLE INITIALLY DEFERRED'
                                        WHEN r.condeferrable THEN ' DEFERRABLE' ELSE '' END);
    RETURN NEXT;
  END LOOP;

  -- 2. reference tables, 3. distributed tables: each after the tables it
  -- refers to (Citus wants the referenced table placed first)
  FOR r IN
    WITH RECURSIVE lay AS (
      SELECT c.oid, l.placement, l.distribution_column
        FROM cobranca.citus_layout() l
        JOIN pg_catalog.pg_class c ON c.relname = l.table_name AND c.relnamespace = 'cobranca'::pg_catalog.regnamespace
    ), depth (oid, d) AS (
      SELECT lay.oid, 0 FROM lay
      UNION ALL
      SELECT con.conrelid, depth.d + 1
        FROM depth
        JOIN pg_catalog.pg_constraint con ON con.confrelid = depth.oid AND con.contype = 'f'
                                          AND con.conrelid <> con.confrelid
       WHERE depth.d < 32
    )
    SELECT lay.oid::pg_catalog.regclass AS rel, lay.placement, lay.distribution_column,
           pg_catalog.max(depth.d) AS d
      FROM lay JOIN depth USING (oid)
     WHERE lay.placement IN ('reference', 'distributed')
     GROUP BY lay.oid, lay.placement, lay.distribution_column
     ORDER BY lay.placement DESC, lay.oid = 'cobranca.payer'::pg_catalog.regclass DESC,
              pg_catalog.max(depth.d), lay.oid::pg_catalog.regclass::text
  LOOP
    IF r.placement = 'reference' THEN
      step := 2;
      statement := pg_catalog.format('SELECT create_reference_table(%L);', r.rel::text);
    ELSE
      step := 3;
      statement := pg_catalog.format('SELECT create_distributed_table(%L, %L, colocate_with => %L);',
                                     r.rel::text, r.distribution_column,
                                     CASE WHEN r.rel = 'cobranca.payer'::pg_catalog.regclass THEN 'none'
                                          ELSE 'cobranca.payer' END);
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION cobranca.citus_ddl() IS
  'The statements that move this schema onto a Citus cluster, in order: step 1 widens the keys of the distributed tables with their distribution column (runs on plain PostgreSQL too), step 2 the create_reference_table calls, step 3 the create_distributed_table calls (co-located with cobranca.payer); see doc/scaling.md';
REVOKE ALL ON FUNCTION cobranca.citus_ddl() FROM PUBLIC;

-- ==== updates/0.1.0--0.2.0/95_sample.sql
-- 95_sample: the sample generator's two helpers, made cheap (they run
-- several times for every generated row).  sample_random loses its SET
-- clause so that the planner inlines it; sample_cpf computes the check
-- digits in PL/pgSQL instead of two subqueries.  Same results for every input.

-- No SET clause: the planner inlines it into the generator's statements
-- (it is called several times for every row), so its operators are
-- schema-qualified instead.
CREATE OR REPLACE FUNCTION cobranca.sample_random(seed integer, n bigint, salt integer)
  RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT (pg_catalog.hashint8extended(n, seed::bigint OPERATOR(pg_catalog.*) 1000003 OPERATOR(pg_catalog.+) salt)
          OPERATOR(pg_catalog.&) 2147483647)::float8
         OPERATOR(pg_catalog./) 2147483648.0::float8
$$;
COMMENT ON FUNCTION cobranca.sample_random(integer, bigint, integer) IS
  'deterministic pseudo-random number in [0,1) from (seed, n, salt), for the sample generator';

CREATE OR REPLACE FUNCTION cobranca.sample_cpf(n bigint) RETURNS text
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- 48271 is prime to 999999999, so distinct n below it give distinct bases
  base text := lpad(((n * 48271 + 7) % 999999999)::text, 9, '0');
  s1   integer := 0;
  s2   integer := 0;
  d    integer;
  c1   integer;
BEGIN
  FOR i IN 1 .. 9 LOOP
    d := substr(base, i, 1)::integer;
    s1 := s1 + d * (11 - i);
    s2 := s2 + d * (12 - i);
  END LOOP;
  c1 := CASE WHEN s1 % 11 < 2 THEN 0 ELSE 11 - s1 % 11 END;
  s2 := (s2 + c1 * 2) % 11;
  RETURN base || c1 || CASE WHEN s2 < 2 THEN 0 ELSE 11 - s2 END;
END
$$;
COMMENT ON FUNCTION cobranca.sample_cpf(bigint) IS
  'a valid CPF (check digits computed) derived from n, for the sample generator';
