-- cobranca 0.2.0: generated from src/sql/*.sql by make; do not edit.
\echo Use "CREATE EXTENSION cobranca" to load this file. \quit

-- ==== src/sql/00_schema.sql
-- Schema and group roles.
--
-- The schema itself is created by CREATE EXTENSION (schema = cobranca in the
-- control file).  Roles are cluster-wide objects: they are created only when
-- missing, are not members of the extension and survive DROP EXTENSION, so
-- that grants made to logins are not lost on a reinstall.

COMMENT ON SCHEMA cobranca IS
  'cobranca: collection of overdue health-plan, clinic and hospital bills (see SPEC.md and doc/)';

DO $roles$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('cobranca_erp',        'ERP and billing systems: write invoices, payments, disputes and claims of their own creditor'),
      ('cobranca_analyst',    'Collection analysts: work the worklist of their assigned portfolios; masked documents, no health data'),
      ('cobranca_supervisor', 'Collection supervisors: their portfolios, KPIs, agreement approval, document reveal with a reason'),
      ('cobranca_legal',      'Legal team: default notices, contracts, invoices of their portfolios and the audit log'),
      ('cobranca_admin',      'Administrators: creditors, portfolios, assignments, cadence rules, tiers and windows'))
    AS t(name, what)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r.name);
      EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r.name, r.what);
    END IF;
  END LOOP;
END
$roles$;

GRANT USAGE ON SCHEMA cobranca TO cobranca_erp, cobranca_analyst, cobranca_supervisor,
  cobranca_legal, cobranca_admin;

-- ==== src/sql/05_checks.sql
-- Value checks (validate.c) and documents (document.c).
--
-- The check_* functions return true or raise an error that names the field
-- and the value; the tables' CHECK constraints are built on them.

CREATE FUNCTION cobranca.check_positive(field text, value numeric) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_positive'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_positive(text, numeric) IS
  'true when value > 0 (and not NaN); otherwise raises 23514 naming the field and value';

CREATE FUNCTION cobranca.check_member(field text, value text, allowed text[]) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_member'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_member(text, text, text[]) IS
  'true when value is one of allowed; otherwise raises 23514 listing the allowed values';

CREATE FUNCTION cobranca.check_not_before(late_field text, late date, early_field text, early date)
  RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_not_before'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_not_before(text, date, text, date) IS
  'true when late >= early; otherwise raises 23514 naming both dates';

CREATE FUNCTION cobranca.check_uf(field text, uf text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_uf'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_uf(text, text) IS
  'true when uf is one of the 26 Brazilian states or DF; otherwise raises 23514';

CREATE FUNCTION cobranca.check_timezone(field text, tz text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_timezone'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_timezone(text, text) IS
  'true when tz is an IANA time zone name known to the server; otherwise raises 22023';

CREATE FUNCTION cobranca.check_channels(field text, channels text[]) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_channels'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_channels(text, text[]) IS
  'true when every element is a contact channel (email, sms, whatsapp, phone, letter); otherwise raises 23514';

CREATE FUNCTION cobranca.check_range(field text, value numeric, low numeric, high numeric)
  RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_range'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_range(text, numeric, numeric, numeric) IS
  'true when low <= value <= high; otherwise raises 23514 naming the field, value and range';

CREATE FUNCTION cobranca.check_rule(ok boolean, message text, detail text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_rule'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_rule(boolean, text, text) IS
  'true unless ok is false, when it raises 23514 with the given message and detail (CHECK constraints over several columns)';

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

CREATE FUNCTION cobranca.cpf_valid(text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_cpf_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.cpf_valid(text) IS
  'true when the text is a CPF (11 digits, punctuation optional) with matching check digits';

CREATE FUNCTION cobranca.cnpj_valid(text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_cnpj_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.cnpj_valid(text) IS
  'true when the text is a CNPJ, numeric or the alphanumeric form of IN RFB 2.229/2024, with matching check digits';

CREATE FUNCTION cobranca.document_normalize(kind text, document text) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_document_normalize'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.document_normalize(text, text) IS
  'canonical CPF (kind person) or CNPJ (kind company) without punctuation; raises 22P02 (malformed) or 23514 (check digits)';

CREATE FUNCTION cobranca.document_normalize(kind text, document text, field text) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_document_normalize'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.document_normalize(text, text, text) IS
  'document_normalize(kind, document) whose errors name the column field (e.g. payer.document)';

CREATE FUNCTION cobranca.document_mask(kind text, normalized text) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_document_mask'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.document_mask(text, text) IS
  'masked form of a normalized document: ***.456.789-** for a CPF, **.ABC.345/****-** for a CNPJ';

-- ==== src/sql/07_crypto.sql
-- Envelope encryption of payer documents (crypto.c).
--
-- The data key is stored only wrapped under the master key (the file named by
-- cobranca.master_key_file); it is created on first use, so that a restore
-- brings back the dumped key instead of making a new one.  See doc/security.md.

CREATE TABLE cobranca.key_ring (
  id            smallint PRIMARY KEY CHECK (id BETWEEN 1 AND 255),
  wrapped       bytea NOT NULL,
  master_key_id bytea NOT NULL CHECK (octet_length(master_key_id) = 8),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  rotated_at    timestamptz
);
COMMENT ON TABLE cobranca.key_ring IS
  'Data keys of the document encryption, each wrapped (AES-256-GCM) under the master key; readable by no role, rewritten only by cobranca.rotate_master_key()';
COMMENT ON COLUMN cobranca.key_ring.id IS 'key id, carried in every ciphertext';
COMMENT ON COLUMN cobranca.key_ring.wrapped IS 'version(1) | iv(12) | tag(16) | encrypted key(32)';
COMMENT ON COLUMN cobranca.key_ring.master_key_id IS 'id of the master key that wraps it: first 8 bytes of a SHA-256 of that key';
COMMENT ON COLUMN cobranca.key_ring.rotated_at IS 'when it was last re-wrapped by rotate_master_key()';
REVOKE ALL ON cobranca.key_ring FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cobranca.key_ring', '');

-- The key material of a data key never changes: only its wrapping does.
CREATE FUNCTION cobranca.key_ring_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
  IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
    RAISE EXCEPTION 'cobranca.key_ring rows cannot be removed'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'Documents encrypted under a removed key could never be read again.',
            HINT = 'Use cobranca.rotate_master_key() to change the master key.';
  END IF;
  IF NEW.id <> OLD.id OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'cobranca.key_ring: only the wrapping of a key may change'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Key %s: id and created_at are fixed.', OLD.id);
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION cobranca.key_ring_guard() IS
  'refuses DELETE, TRUNCATE and changes of id on cobranca.key_ring';
CREATE TRIGGER key_ring_guard BEFORE UPDATE OR DELETE ON cobranca.key_ring
  FOR EACH ROW EXECUTE FUNCTION cobranca.key_ring_guard();
CREATE TRIGGER key_ring_no_truncate BEFORE TRUNCATE ON cobranca.key_ring
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.key_ring_guard();

CREATE FUNCTION cobranca.document_encrypt(normalized text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'cobranca_document_encrypt'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.document_encrypt(text) IS
  'AES-256-GCM ciphertext of a normalized document under the data key (random IV): version | key id | iv | tag | ciphertext';

CREATE FUNCTION cobranca.document_decrypt(cipher bytea) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_document_decrypt'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.document_decrypt(bytea) IS
  'the normalized document in a ciphertext of document_encrypt; raises 22P03 (malformed) or XX001 (altered or foreign key). Not executable by the roles: use cobranca.reveal_document()';

CREATE FUNCTION cobranca.document_digest(normalized text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'cobranca_document_digest'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.document_digest(text) IS
  'keyed digest (HMAC-SHA-256) of a normalized document, the same for the same document in one installation: for lookups';

CREATE FUNCTION cobranca.rotate_master_key() RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_rotate_master_key'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION cobranca.rotate_master_key() IS
  'superuser: draws a new master key, re-wraps the data key under it (no document is re-encrypted) and appends it to the key file as the current key, older keys kept before it; returns the new master key id';

CREATE FUNCTION cobranca.master_key_id() RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_master_key_id'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION cobranca.master_key_id() IS
  'superuser: id (hex, 8 bytes of a SHA-256) of the current master key, to check which key file is in use; never the key';

REVOKE ALL ON FUNCTION cobranca.document_encrypt(text), cobranca.document_decrypt(bytea),
  cobranca.document_digest(text), cobranca.rotate_master_key(), cobranca.master_key_id(),
  cobranca.key_ring_guard() FROM PUBLIC;
-- writers of payer rows (ERP and staff) pass through the payer trigger, which
-- encrypts and digests; decrypting is reserved to reveal_document()
GRANT EXECUTE ON FUNCTION cobranca.document_encrypt(text), cobranca.document_digest(text)
  TO cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_legal, cobranca_admin;

-- ==== src/sql/10_tables.sql
-- The public tables (SPEC §3b).  Column names are the contract with ERPs and
-- BI tools: columns may be added, never renamed.
--
-- Every domain table carries creditor_id, the tenant key: row-level security
-- filters on it and a distributed layout would shard on it.  Where the ERP
-- may omit it, the bookkeeping triggers (15_bookkeeping.sql) fill it from
-- the parent row and refuse a value that disagrees with the parent.

CREATE TABLE cobranca.creditor (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                  text NOT NULL CHECK (cobranca.check_text('creditor.name', name, 200, false)),
  document              text NOT NULL,
  kind                  text NOT NULL
    CHECK (cobranca.check_member('creditor.kind', kind, '{health_plan,clinic,hospital,lab}')),
  ans_registry          text
    CHECK (cobranca.check_pattern('creditor.ans_registry', ans_registry, '^[0-9]{6}$', 'the 6 digits of the operator''s ANS registry')),
  address               text
    CHECK (cobranca.check_text('creditor.address', address, 500, true)),
  city                  text
    CHECK (cobranca.check_text('creditor.city', city, 100, false)),
  uf                    text CHECK (cobranca.check_uf('creditor.uf', uf)),
  pix_key               text CHECK (cobranca.check_pattern('creditor.pix_key', pix_key, '^[!-~]{1,77}$', '1 to 77 printable ASCII characters without blanks: a CPF, CNPJ, e-mail, +55 phone or random key')),
  fine_pct              numeric(5,2) NOT NULL DEFAULT 2.00
    CHECK (cobranca.check_range('creditor.fine_pct', fine_pct, 0, 2)),
  interest_month_pct    numeric(5,2) NOT NULL DEFAULT 1.00
    CHECK (cobranca.check_range('creditor.interest_month_pct', interest_month_pct, 0, 1)),
  timezone              text NOT NULL DEFAULT 'America/Sao_Paulo'
    CHECK (cobranca.check_timezone('creditor.timezone', timezone)),
  service_phone         text
    CHECK (cobranca.check_text('creditor.service_phone', service_phone, 60, false)),
  service_email         text
    CHECK (cobranca.check_text('creditor.service_email', service_email, 254, false)),
  service_site          text
    CHECK (cobranca.check_text('creditor.service_site', service_site, 200, false)),
  notice_day            integer NOT NULL DEFAULT 35
    CHECK (cobranca.check_range('creditor.notice_day', notice_day, 1, 50)),
  carnival_holiday      boolean NOT NULL DEFAULT false,
  claims_break_even_pct numeric(5,2) NOT NULL DEFAULT 70.00
    CHECK (cobranca.check_range('creditor.claims_break_even_pct', claims_break_even_pct, 0.01, 100)),
  created_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT creditor_document_valid
    CHECK (cobranca.check_rule(cobranca.cnpj_valid(document), 'invalid CNPJ in creditor.document',
                               'creditor.document must be a CNPJ with matching check digits.')),
  CONSTRAINT creditor_ans_registry_required
    CHECK (cobranca.check_rule(kind <> 'health_plan' OR ans_registry IS NOT NULL,
                               'creditor.ans_registry is required for a health_plan',
                               'Health-plan operators print their 6-digit ANS registry on notices and protocols.')),
  CONSTRAINT creditor_document_key UNIQUE (document)
);
COMMENT ON TABLE cobranca.creditor IS
  'Who is owed: a health-plan operator, clinic, hospital or lab; the tenant of every other row';
COMMENT ON COLUMN cobranca.creditor.document IS 'CNPJ, normalized (no punctuation); printed on every collection text (CDC art. 42-A)';
COMMENT ON COLUMN cobranca.creditor.ans_registry IS 'ANS operator registry, 6 digits; required for health_plan';
COMMENT ON COLUMN cobranca.creditor.fine_pct IS 'late fine in percent of the overdue amount, at most 2 (CDC art. 52 §1º)';
COMMENT ON COLUMN cobranca.creditor.interest_month_pct IS 'late interest in percent a month, pro rata die, at most 1';
COMMENT ON COLUMN cobranca.creditor.timezone IS 'time zone of the creditor''s own dates (notices, protocols)';
COMMENT ON COLUMN cobranca.creditor.notice_day IS 'day of default on which the RN 593 notice is drafted (≤ 50)';
COMMENT ON COLUMN cobranca.creditor.carnival_holiday IS 'whether Carnival Monday and Tuesday are non-business days';
COMMENT ON COLUMN cobranca.creditor.claims_break_even_pct IS 'claims ratio above which a contract is flagged';

CREATE TABLE cobranca.portfolio (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  name        text NOT NULL CHECK (cobranca.check_text('portfolio.name', name, 200, false)),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT portfolio_name_key UNIQUE (creditor_id, name)
);
COMMENT ON TABLE cobranca.portfolio IS
  'A creditor''s set of payers worked by one team; the unit of assignment and of KPIs';

CREATE TABLE cobranca.assignment (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id  bigint NOT NULL REFERENCES cobranca.creditor,
  login        name NOT NULL,
  portfolio_id bigint NOT NULL REFERENCES cobranca.portfolio ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT assignment_key UNIQUE (login, portfolio_id)
);
CREATE INDEX assignment_portfolio_idx ON cobranca.assignment (portfolio_id);
COMMENT ON TABLE cobranca.assignment IS
  'Which portfolios a login works (analysts, supervisors, legal); creditor_id is taken from the portfolio';

CREATE TABLE cobranca.payer (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id     bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id    bigint NOT NULL REFERENCES cobranca.portfolio,
  external_id     text CHECK (cobranca.check_text('payer.external_id', external_id, 100, false)),
  kind            text NOT NULL DEFAULT 'person'
    CHECK (cobranca.check_member('payer.kind', kind, '{person,company}')),
  document        text NOT NULL,
  document_cipher bytea,
  document_digest bytea,
  document_key    smallint REFERENCES cobranca.key_ring,
  name            text NOT NULL CHECK (cobranca.check_text('payer.name', name, 200, false)),
  email           text CHECK (cobranca.check_text('payer.email', email, 254, false)
    AND cobranca.check_pattern('payer.email', email, '^[^@[:space:]]+@[^@[:space:]]+$', 'an e-mail address such as nome@example.com.br')),
  phone           text CHECK (cobranca.check_pattern('payer.phone', phone, '^\+?[0-9]{10,15}$', '10 to 15 digits, optionally after a +, without punctuation (e.g. +5511987654321)')),
  whatsapp        text CHECK (cobranca.check_pattern('payer.whatsapp', whatsapp, '^\+?[0-9]{10,15}$', '10 to 15 digits, optionally after a +, without punctuation (e.g. +5511987654321)')),
  address         text
    CHECK (cobranca.check_text('payer.address', address, 500, true)),
  uf              text NOT NULL DEFAULT 'SP' CHECK (cobranca.check_uf('payer.uf', uf)),
  timezone        text NOT NULL DEFAULT 'America/Sao_Paulo'
    CHECK (cobranca.check_timezone('payer.timezone', timezone)),
  opt_out         text[] NOT NULL DEFAULT '{}'
    CHECK (cobranca.check_channels('payer.opt_out', opt_out)),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT payer_external_key UNIQUE (creditor_id, external_id)
);
CREATE INDEX payer_portfolio_idx ON cobranca.payer (portfolio_id);
COMMENT ON TABLE cobranca.payer IS
  'Who owes: a beneficiary holder, a patient or a company; the unit of contact';
COMMENT ON COLUMN cobranca.payer.document IS
  'CPF (person) or CNPJ (company): written in clear by the ERP, punctuation optional; stored masked (***.456.789-**), the clear value only encrypted in document_cipher';
COMMENT ON COLUMN cobranca.payer.document_cipher IS 'the normalized document, AES-256-GCM encrypted (see doc/security.md)';
COMMENT ON COLUMN cobranca.payer.document_key IS 'the data key (cobranca.key_ring) under which document_cipher was made';
COMMENT ON COLUMN cobranca.payer.document_digest IS 'keyed digest (HMAC-SHA-256) of the normalized document, for cobranca.find_payer';
COMMENT ON COLUMN cobranca.payer.uf IS 'state of residence: decides contact hours and state holidays';
COMMENT ON COLUMN cobranca.payer.timezone IS 'the payer''s time zone: business-rule dates and contact hours are local to it';
COMMENT ON COLUMN cobranca.payer.opt_out IS 'channels the payer refused (LGPD art. 18): never used for contacts';

CREATE TABLE cobranca.contract (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id       bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id      bigint NOT NULL REFERENCES cobranca.portfolio,
  payer_id          bigint NOT NULL REFERENCES cobranca.payer,
  external_id       text CHECK (cobranca.check_text('contract.external_id', external_id, 100, false)),
  number            text NOT NULL CHECK (cobranca.check_text('contract.number', number, 60, false)),
  plan_name         text NOT NULL CHECK (cobranca.check_text('contract.plan_name', plan_name, 200, false)),
  plan_ans_registry text CHECK (cobranca.check_pattern('contract.plan_ans_registry', plan_ans_registry, '^[0-9]{6,9}$', 'the plan''s ANS registry, 6 to 9 digits')),
  plan_type         text NOT NULL
    CHECK (cobranca.check_member('contract.plan_type', plan_type,
           '{individual,family,collective_membership,collective_business}')),
  paid_by_person    boolean,
  starts_on         date NOT NULL
    CHECK (cobranca.check_date('contract.starts_on', starts_on)),
  status            text NOT NULL DEFAULT 'active'
    CHECK (cobranca.check_member('contract.status', status, '{active,suspended,cancelled}')),
  status_reason     text
    CHECK (cobranca.check_member('contract.status_reason', status_reason, '{default,fraud,request,other}')),
  status_changed_at timestamptz,
  created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT contract_external_key UNIQUE (creditor_id, external_id),
  CONSTRAINT contract_reason_required
    CHECK (cobranca.check_rule(status NOT IN ('suspended', 'cancelled') OR status_reason IS NOT NULL,
                               'contract.status_reason is required for a suspended or cancelled contract',
                               'contract.status is ' || status || '; give the reason: default, fraud, request or other.'))
);
CREATE INDEX contract_payer_idx ON cobranca.contract (payer_id);
COMMENT ON TABLE cobranca.contract IS
  'A health-plan contract (or a clinic''s service contract); status changes for default pass the RN 593 guard';
COMMENT ON COLUMN cobranca.contract.paid_by_person IS
  'a natural person pays the operator directly (RN 593 applies); defaults to true for individual and family plans, false otherwise';
COMMENT ON COLUMN cobranca.contract.status_reason IS 'why the contract is suspended or cancelled: default, fraud, request, other';

CREATE TABLE cobranca.hospitalization (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id   bigint NOT NULL REFERENCES cobranca.creditor,
  contract_id   bigint NOT NULL REFERENCES cobranca.contract,
  external_id   text CHECK (cobranca.check_text('hospitalization.external_id', external_id, 100, false)),
  admitted_on   date NOT NULL
    CHECK (cobranca.check_date('hospitalization.admitted_on', admitted_on)),
  discharged_on date
    CHECK (cobranca.check_date('hospitalization.discharged_on', discharged_on)),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT hospitalization_external_key UNIQUE (creditor_id, external_id),
  CONSTRAINT hospitalization_dates
    CHECK (cobranca.check_not_before('hospitalization.discharged_on', discharged_on,
                                     'hospitalization.admitted_on', admitted_on))
);
CREATE INDEX hospitalization_open_idx ON cobranca.hospitalization (contract_id)
  WHERE discharged_on IS NULL;
COMMENT ON TABLE cobranca.hospitalization IS
  'Hospital stays of a contract''s holder: no cancellation while one is open (Lei 9.656 art. 13 par. único III). Health data: never shown to analysts, never used for scoring';

CREATE TABLE cobranca.invoice (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id     bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id    bigint NOT NULL REFERENCES cobranca.portfolio,
  payer_id        bigint NOT NULL REFERENCES cobranca.payer,
  contract_id     bigint REFERENCES cobranca.contract,
  external_id     text CHECK (cobranca.check_text('invoice.external_id', external_id, 100, false)),
  kind            text NOT NULL
    CHECK (cobranca.check_member('invoice.kind', kind, '{premium,copay,private,disallowance,installment}')),
  competence      date
    CHECK (cobranca.check_date('invoice.competence', competence)),
  issued_on       date NOT NULL DEFAULT CURRENT_DATE
    CHECK (cobranca.check_date('invoice.issued_on', issued_on)),
  due_on          date NOT NULL
    CHECK (cobranca.check_date('invoice.due_on', due_on)),
  amount          numeric(14,2) NOT NULL CHECK (cobranca.check_positive('invoice.amount', amount)),
  paid_total      numeric(14,2) NOT NULL DEFAULT 0,
  balance         numeric(14,2) NOT NULL DEFAULT 0,
  credit          numeric(14,2) NOT NULL DEFAULT 0,
  status          text NOT NULL DEFAULT 'open'
    CHECK (cobranca.check_member('invoice.status', status,
           '{open,paid,disputed,in_agreement,cancelled,written_off}')),
  open_disputes   integer NOT NULL DEFAULT 0,
  agreement_id    bigint,
  last_payment_on date,
  paid_on         date,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT invoice_external_key UNIQUE (creditor_id, external_id),
  CONSTRAINT invoice_due_after_issue
    CHECK (cobranca.check_not_before('invoice.due_on', due_on, 'invoice.issued_on', issued_on)),
  CONSTRAINT invoice_competence_first_day
    CHECK (cobranca.check_rule(competence = date_trunc('month', competence)::date,
                               'invoice.competence must be the first day of a month',
                               'For example 2026-03-01 for the premium of March 2026.')),
  CONSTRAINT invoice_premium_needs_contract
    CHECK (cobranca.check_rule(kind <> 'premium' OR (contract_id IS NOT NULL AND competence IS NOT NULL),
                               'a premium needs invoice.contract_id and invoice.competence',
                               'A premium bills one month of a contract: both must be given.')),
  CONSTRAINT invoice_bookkeeping
    CHECK (paid_total >= 0 AND balance >= 0 AND credit >= 0 AND open_disputes >= 0)
);
CREATE INDEX invoice_payer_idx ON cobranca.invoice (payer_id);
CREATE INDEX invoice_contract_idx ON cobranca.invoice (contract_id, due_on) WHERE contract_id IS NOT NULL;
CREATE INDEX invoice_open_due_idx ON cobranca.invoice (due_on)
  WHERE status IN ('open', 'disputed', 'in_agreement');
CREATE INDEX invoice_portfolio_idx ON cobranca.invoice (portfolio_id, status);
COMMENT ON TABLE cobranca.invoice IS
  'A bill (título): premium, copay, private bill, disallowance charged to the payer, or agreement installment';
COMMENT ON COLUMN cobranca.invoice.competence IS 'first day of the billed month (required for premiums)';
COMMENT ON COLUMN cobranca.invoice.amount IS 'amount billed, BRL, > 0';
COMMENT ON COLUMN cobranca.invoice.paid_total IS 'sum of the payments recorded against it (maintained)';
COMMENT ON COLUMN cobranca.invoice.balance IS 'amount − payments, never below zero (maintained)';
COMMENT ON COLUMN cobranca.invoice.credit IS 'payments beyond the amount: an overpayment owed back or to be applied (maintained)';
COMMENT ON COLUMN cobranca.invoice.status IS
  'open, paid (balance 0), disputed (a dispute is open), in_agreement (covered by an active agreement), cancelled, written_off; maintained except for the final cancelled and written_off, which staff or the ERP set';
COMMENT ON COLUMN cobranca.invoice.open_disputes IS 'number of unanswered disputes (maintained)';
COMMENT ON COLUMN cobranca.invoice.agreement_id IS 'the active agreement covering it, if any';
COMMENT ON COLUMN cobranca.invoice.last_payment_on IS 'date of the latest payment, in the payer''s time zone (maintained)';
COMMENT ON COLUMN cobranca.invoice.updated_at IS 'last direct change of the row (payments and disputes are recorded in their own rows)';
COMMENT ON COLUMN cobranca.invoice.paid_on IS 'date on which it was settled, in the payer''s time zone (maintained)';

CREATE TABLE cobranca.payment (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  invoice_id  bigint NOT NULL REFERENCES cobranca.invoice,
  external_id text CHECK (cobranca.check_text('payment.external_id', external_id, 100, false)),
  paid_at     timestamptz NOT NULL DEFAULT pg_catalog.now()
    CHECK (cobranca.check_timestamp('payment.paid_at', paid_at)),
  amount      numeric(14,2) NOT NULL CHECK (cobranca.check_positive('payment.amount', amount)),
  method      text NOT NULL
    CHECK (cobranca.check_member('payment.method', method, '{pix,boleto,card,cash,transfer}')),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT payment_external_key UNIQUE (creditor_id, external_id)
);
CREATE INDEX payment_invoice_idx ON cobranca.payment (invoice_id);
CREATE INDEX payment_paid_at_idx ON cobranca.payment USING brin (paid_at);
COMMENT ON TABLE cobranca.payment IS
  'Money received against an invoice; keeps the invoice''s balance and status right in the same transaction';

CREATE TABLE cobranca.dispute (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  invoice_id  bigint NOT NULL REFERENCES cobranca.invoice,
  external_id text CHECK (cobranca.check_text('dispute.external_id', external_id, 100, false)),
  opened_on   date NOT NULL DEFAULT CURRENT_DATE
    CHECK (cobranca.check_date('dispute.opened_on', opened_on)),
  reason      text NOT NULL CHECK (cobranca.check_text('dispute.reason', reason, 2000, true)),
  answered_on date
    CHECK (cobranca.check_date('dispute.answered_on', answered_on)),
  outcome     text CHECK (cobranca.check_member('dispute.outcome', outcome, '{upheld,rejected}')),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT dispute_external_key UNIQUE (creditor_id, external_id),
  CONSTRAINT dispute_dates
    CHECK (cobranca.check_not_before('dispute.answered_on', answered_on, 'dispute.opened_on', opened_on)),
  CONSTRAINT dispute_answer_complete CHECK ((answered_on IS NULL) = (outcome IS NULL))
);
CREATE INDEX dispute_invoice_idx ON cobranca.dispute (invoice_id);
COMMENT ON TABLE cobranca.dispute IS
  'A contestation (glosa, contestação) of an invoice: while unanswered the invoice is disputed, never contacted nor noticed';
COMMENT ON COLUMN cobranca.dispute.outcome IS
  'upheld (the payer was right: the ERP corrects or cancels the invoice) or rejected (the debt stands)';

CREATE TABLE cobranca.claim (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  contract_id bigint NOT NULL REFERENCES cobranca.contract,
  external_id text CHECK (cobranca.check_text('claim.external_id', external_id, 100, false)),
  occurred_on date NOT NULL
    CHECK (cobranca.check_date('claim.occurred_on', occurred_on)),
  amount      numeric(14,2) NOT NULL CHECK (cobranca.check_positive('claim.amount', amount)),
  category    text CHECK (cobranca.check_text('claim.category', category, 60, false)),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT claim_external_key UNIQUE (creditor_id, external_id)
);
CREATE INDEX claim_contract_idx ON cobranca.claim (contract_id, occurred_on);
COMMENT ON TABLE cobranca.claim IS
  'Cost of care paid by the operator under a contract (sinistro), for the claims ratio only. Health data: never shown to analysts, never used for scoring';
COMMENT ON COLUMN cobranca.claim.category IS 'broad cost category (consultation, exam, therapy, hospital, other); never a diagnosis or procedure';

CREATE TABLE cobranca.cadence_rule (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id   bigint REFERENCES cobranca.creditor,
  name          text NOT NULL CHECK (cobranca.check_text('cadence_rule.name', name, 200, false)),
  offset_days   integer NOT NULL CHECK (cobranca.check_range('cadence_rule.offset_days', offset_days, -60, 1825)),
  channel       text NOT NULL
    CHECK (cobranca.check_member('cadence_rule.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  invoice_kinds text[] NOT NULL DEFAULT '{premium,copay,private,disallowance,installment}'
    CHECK (cobranca.check_members('cadence_rule.invoice_kinds', invoice_kinds,
                                   '{premium,copay,private,disallowance,installment}')
           AND cobranca.check_rule(cardinality(invoice_kinds) > 0, 'cadence_rule.invoice_kinds is empty',
                                   'List at least one of premium, copay, private, disallowance, installment.')),
  min_probability float8 CHECK (cobranca.check_range('cadence_rule.min_probability', min_probability::numeric, 0, 1)),
  max_probability float8 CHECK (cobranca.check_range('cadence_rule.max_probability', max_probability::numeric, 0, 1)),
  template      text
    CHECK (cobranca.check_text('cadence_rule.template', template, 4000, true)),
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX cadence_rule_creditor_idx ON cobranca.cadence_rule (creditor_id) WHERE active;
COMMENT ON TABLE cobranca.cadence_rule IS
  'A step of the contact cadence (régua): offset in days from the due date, channel, invoice kinds; creditor_id null applies to every creditor';
COMMENT ON COLUMN cobranca.cadence_rule.offset_days IS 'days from the due date: negative is a reminder before it';
COMMENT ON COLUMN cobranca.cadence_rule.min_probability IS 'optional score band: the rule applies only at or above this payment probability';
COMMENT ON COLUMN cobranca.cadence_rule.max_probability IS 'optional score band: the rule applies only at or below this payment probability';

CREATE TABLE cobranca.contact (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id  bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id bigint NOT NULL REFERENCES cobranca.portfolio,
  payer_id     bigint NOT NULL REFERENCES cobranca.payer,
  invoice_ids  bigint[] NOT NULL
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'contact.invoice_ids is empty',
                               'A contact covers at least one invoice.')),
  rule_id      bigint REFERENCES cobranca.cadence_rule,
  channel      text NOT NULL
    CHECK (cobranca.check_member('contact.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  contact_on   date NOT NULL
    CHECK (cobranca.check_date('contact.contact_on', contact_on)),
  scheduled_at timestamptz NOT NULL
    CHECK (cobranca.check_timestamp('contact.scheduled_at', scheduled_at)),
  status       text NOT NULL DEFAULT 'scheduled'
    CHECK (cobranca.check_member('contact.status', status,
           '{scheduled,sent,delivered,read,replied,failed,cancelled,done}')),
  outcome      text CHECK (cobranca.check_text('contact.outcome', outcome, 200, false)),
  protocol     text CHECK (cobranca.check_pattern('contact.protocol', protocol, '^[0-9]{20}$', '20 digits: ANS registry (6), date yyyymmdd (8), sequence (6)')),
  attempt      integer NOT NULL DEFAULT 1 CHECK (cobranca.check_range('contact.attempt', attempt, 1, 5)),
  notes        text CHECK (cobranca.check_text('contact.notes', notes, 4000, true)),
  message      text,
  claimed_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT contact_one_per_channel_day UNIQUE (payer_id, channel, contact_on)
);
CREATE INDEX contact_due_idx ON cobranca.contact (channel, scheduled_at)
  WHERE status = 'scheduled' AND claimed_at IS NULL;
CREATE INDEX contact_invoices_idx ON cobranca.contact USING gin (invoice_ids);
CREATE INDEX contact_capacity_idx ON cobranca.contact (creditor_id, channel, contact_on)
  WHERE status <> 'cancelled';
COMMENT ON TABLE cobranca.contact IS
  'A contact of the cadence: one per payer, channel and local day, covering all of the payer''s due invoices';
COMMENT ON COLUMN cobranca.contact.contact_on IS 'the payer''s local day of the contact: at most one per payer, channel and day';
COMMENT ON COLUMN cobranca.contact.message IS 'the rendered text, written when a sender claims the contact';
COMMENT ON COLUMN cobranca.contact.claimed_at IS 'when a sender claimed it through cobranca.claim_contacts (handed out once)';
COMMENT ON COLUMN cobranca.contact.protocol IS 'ANS protocol number of a human contact (RN 395/2016): registry(6) + yyyymmdd + sequence(6)';

CREATE TABLE cobranca.default_notice (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id          bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id         bigint NOT NULL REFERENCES cobranca.portfolio,
  contract_id          bigint NOT NULL REFERENCES cobranca.contract,
  invoice_ids          bigint[] NOT NULL
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'default_notice.invoice_ids is empty',
                               'A notice lists at least one overdue premium.')),
  amount_due           numeric(14,2) NOT NULL CHECK (cobranca.check_positive('default_notice.amount_due', amount_due)),
  default_since        date NOT NULL,
  drafted_on           date NOT NULL DEFAULT CURRENT_DATE,
  status               text NOT NULL DEFAULT 'draft'
    CHECK (cobranca.check_member('default_notice.status', status,
           '{draft,sent,confirmed,unreachable,cured,expired,void}')),
  body                 text NOT NULL,
  channel              text
    CHECK (cobranca.check_member('default_notice.channel', channel,
           '{email,sms,whatsapp,phone,ivr,letter,agent}')),
  confirmed_at         timestamptz,
  proof                jsonb
    CHECK (cobranca.check_rule(octet_length(proof::text) <= 65536, 'default_notice.proof is too large',
                               'default_notice.proof has ' || octet_length(proof::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.')),
  attempts             jsonb
    CHECK (cobranca.check_rule(octet_length(attempts::text) <= 65536, 'default_notice.attempts is too large',
                               'default_notice.attempts has ' || octet_length(attempts::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.')),
  term_start_on        date,
  deadline_on          date,
  confirmed_by_day_50  boolean,
  closed_at            timestamptz,
  created_at           timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at           timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX default_notice_contract_idx ON cobranca.default_notice (contract_id);
-- One live notice per contract: it serves one default episode until it is
-- cured or voided; concurrent drafting runs meet on this index.
CREATE UNIQUE INDEX default_notice_live_key ON cobranca.default_notice (contract_id)
  WHERE status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired');
CREATE INDEX default_notice_invoices_idx ON cobranca.default_notice USING gin (invoice_ids)
  WHERE status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired');
COMMENT ON TABLE cobranca.default_notice IS
  'An ANS RN 593/2023 default notice: drafted by the jobs, confirmed with proof of receipt; its deadline gates cancellation for default (see doc/rn593.md)';
COMMENT ON COLUMN cobranca.default_notice.invoice_ids IS 'the overdue premiums listed in the notice';
COMMENT ON COLUMN cobranca.default_notice.amount_due IS 'sum of the listed premiums'' balances when drafted, BRL (without fine and interest)';
COMMENT ON COLUMN cobranca.default_notice.default_since IS 'due date of the oldest listed unpaid premium; day n of the default is default_since + n';
COMMENT ON COLUMN cobranca.default_notice.drafted_on IS 'the payer''s local date as of which the notice was drafted (the jobs always give it)';
COMMENT ON COLUMN cobranca.default_notice.status IS
  'draft, sent, confirmed (receipt proved), unreachable (every registered channel failed), expired (deadline passed unpaid), cured (paid or no longer two listed premiums unpaid), void (debt renegotiated)';
COMMENT ON COLUMN cobranca.default_notice.body IS 'the pt-BR text of the notice, as rendered when drafted; never health data';
COMMENT ON COLUMN cobranca.default_notice.channel IS 'channel through which receipt was confirmed (RN 593 art. 8)';
COMMENT ON COLUMN cobranca.default_notice.confirmed_at IS 'when the beneficiary received the notice';
COMMENT ON COLUMN cobranca.default_notice.proof IS 'evidence of receipt, keys per channel (read_receipt or certificate, reply, recording and data_confirmed, ar, signed_receipt)';
COMMENT ON COLUMN cobranca.default_notice.attempts IS 'failed delivery attempts, [{channel, at, result}], for an unreachable notice';
COMMENT ON COLUMN cobranca.default_notice.term_start_on IS 'local date from which the 10 days run: confirmation date, or last failed attempt (computed)';
COMMENT ON COLUMN cobranca.default_notice.deadline_on IS 'last day of the 10-day term (term start + 10, moved to a dispute answer + 10; null while a dispute is pending): computed by trigger, never written by hand';
COMMENT ON COLUMN cobranca.default_notice.confirmed_by_day_50 IS 'the term started by day 50 of the default (RN 593): staff KPI (computed)';
COMMENT ON COLUMN cobranca.default_notice.closed_at IS 'when the notice was cured, voided or expired';

-- The job runner's registry: each periodic job is one row, so that a new
-- capability plugs into run_jobs() and the background worker by inserting
-- its row.  A job function takes the cycle's instant and returns how many
-- rows it touched.
CREATE TABLE cobranca.job (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z_]+$'),
  position    integer NOT NULL UNIQUE,
  function    regprocedure NOT NULL,
  description text NOT NULL,
  enabled     boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE cobranca.job IS
  'Periodic jobs run in position order by cobranca.run_jobs() and the background worker; function(as_of timestamptz) returns bigint';

-- pg_dump keeps the rows of extension tables only when told to.
SELECT pg_catalog.pg_extension_config_dump('cobranca.creditor', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.portfolio', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.assignment', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.payer', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contract', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.hospitalization', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.invoice', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.payment', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.dispute', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.claim', '');
-- rules shipped with the extension have creditor_id null and are recreated by
-- CREATE EXTENSION; only the creditors' own rules are dumped
SELECT pg_catalog.pg_extension_config_dump('cobranca.cadence_rule', 'WHERE creditor_id IS NOT NULL');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.default_notice', '');

-- Identity sequences are dumped with their tables, so that ids handed out
-- after a restore do not collide with restored rows.
SELECT pg_catalog.pg_extension_config_dump('cobranca.creditor_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.portfolio_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.assignment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.payer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contract_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.hospitalization_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.invoice_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.payment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.dispute_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.claim_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.cadence_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.default_notice_id_seq', '');

-- ==== src/sql/15_bookkeeping.sql
-- Bookkeeping triggers: the tenant key taken from parent rows, payer
-- documents validated and protected, and each invoice's balance, credit,
-- status and settlement date kept right by its payments and disputes, in the
-- same transaction as the write that changed them.

-- The tenant key of child rows (tenant.c): creditor_id, and portfolio_id
-- where the table has one, are taken from the parent row; a value the writer
-- supplied must agree with it.
CREATE FUNCTION cobranca.inherit_tenant() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_inherit_tenant'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.inherit_tenant() IS
  'trigger (parent, fk_column [, ''portfolio'']): fills creditor_id (and portfolio_id) from the parent row, read under the writer''s row-level security';

CREATE TRIGGER assignment_tenant BEFORE INSERT OR UPDATE ON cobranca.assignment
  FOR EACH ROW EXECUTE FUNCTION cobranca.inherit_tenant('portfolio', 'portfolio_id');
CREATE TRIGGER contract_tenant BEFORE INSERT OR UPDATE ON cobranca.contract
  FOR EACH ROW EXECUTE FUNCTION cobranca.inherit_tenant('payer', 'payer_id', 'portfolio');
CREATE TRIGGER hospitalization_tenant BEFORE INSERT OR UPDATE ON cobranca.hospitalization
  FOR EACH ROW EXECUTE FUNCTION cobranca.inherit_tenant('contract', 'contract_id');
CREATE TRIGGER claim_tenant BEFORE INSERT OR UPDATE ON cobranca.claim
  FOR EACH ROW EXECUTE FUNCTION cobranca.inherit_tenant('contract', 'contract_id');
CREATE TRIGGER payment_tenant BEFORE INSERT OR UPDATE ON cobranca.payment
  FOR EACH ROW EXECUTE FUNCTION cobranca.inherit_tenant('invoice', 'invoice_id');
CREATE TRIGGER dispute_tenant BEFORE INSERT OR UPDATE ON cobranca.dispute
  FOR EACH ROW EXECUTE FUNCTION cobranca.inherit_tenant('invoice', 'invoice_id');
-- creditor: the CNPJ is kept in canonical form (no punctuation, upper case)
CREATE FUNCTION cobranca.creditor_document() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  NEW.document := cobranca.document_normalize('company', NEW.document, 'creditor.document');
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION cobranca.creditor_document() IS
  'trigger: validates the creditor''s CNPJ and stores it without punctuation';

CREATE TRIGGER creditor_document BEFORE INSERT OR UPDATE OF document ON cobranca.creditor
  FOR EACH ROW EXECUTE FUNCTION cobranca.creditor_document();

CREATE TRIGGER payer_tenant BEFORE INSERT OR UPDATE ON cobranca.payer
  FOR EACH ROW EXECUTE FUNCTION cobranca.inherit_tenant('portfolio', 'portfolio_id');

-- Payer documents: the ERP writes the CPF or CNPJ in clear, with or without
-- punctuation; what is stored is the masked form in "document", the
-- encrypted canonical form and its keyed digest.  The clear value never
-- reaches a table, a WAL record or a dump.
CREATE FUNCTION cobranca.payer_document() RETURNS trigger
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
COMMENT ON FUNCTION cobranca.payer_document() IS
  'trigger: validates the payer''s CPF/CNPJ, stores it masked, encrypted and digested, never in clear';

CREATE TRIGGER payer_document BEFORE INSERT OR UPDATE ON cobranca.payer
  FOR EACH ROW EXECUTE FUNCTION cobranca.payer_document();

-- contract: tenant from the payer; RN 593 applies by default to plans a
-- person pays directly
CREATE FUNCTION cobranca.contract_defaults() RETURNS trigger
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
COMMENT ON FUNCTION cobranca.contract_defaults() IS
  'trigger: paid_by_person defaults by plan type; status_changed_at kept';

CREATE TRIGGER contract_defaults BEFORE INSERT OR UPDATE ON cobranca.contract
  FOR EACH ROW EXECUTE FUNCTION cobranca.contract_defaults();

-- invoice: tenant from the payer; balance, credit, status and paid_on derived
-- from what was paid and disputed.
ALTER TABLE cobranca.invoice ADD COLUMN cancelled_at timestamptz;
COMMENT ON COLUMN cobranca.invoice.cancelled_at IS 'when the invoice was cancelled (maintained); later payments are refused';

CREATE TRIGGER invoice_tenant BEFORE INSERT OR UPDATE ON cobranca.invoice
  FOR EACH ROW EXECUTE FUNCTION cobranca.inherit_tenant('payer', 'payer_id', 'portfolio');

CREATE FUNCTION cobranca.invoice_bookkeeping() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_invoice_bookkeeping'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.invoice_bookkeeping() IS
  'trigger (bookkeeping.c): derives balance, credit, status and paid_on; cancelled and written_off are final; paid_total, open_disputes and last_payment_on are written by the payment and dispute triggers only';

-- named so that it fires after invoice_tenant (triggers fire in name order)
CREATE TRIGGER invoice_zbookkeeping BEFORE INSERT OR UPDATE ON cobranca.invoice
  FOR EACH ROW EXECUTE FUNCTION cobranca.invoice_bookkeeping();

-- payment: adds to (or takes from) the invoice's paid total.  The update
-- uses the latest row version, so concurrent payments on one invoice all
-- count; a payment dated at or after the invoice's cancellation is refused.
CREATE FUNCTION cobranca.payment_book() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_payment_book'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.payment_book() IS
  'trigger (bookkeeping.c): keeps invoice.paid_total and last_payment_on; refuses payments after a cancellation';

CREATE TRIGGER payment_book AFTER INSERT OR UPDATE OF amount, invoice_id, paid_at OR DELETE
  ON cobranca.payment FOR EACH ROW EXECUTE FUNCTION cobranca.payment_book();

-- dispute: counts the invoice's unanswered disputes
CREATE FUNCTION cobranca.dispute_book() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_dispute_book'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.dispute_book() IS
  'trigger (bookkeeping.c): keeps invoice.open_disputes, and so the disputed status';

CREATE TRIGGER dispute_book AFTER INSERT OR UPDATE OF answered_on, invoice_id OR DELETE
  ON cobranca.dispute FOR EACH ROW EXECUTE FUNCTION cobranca.dispute_book();

-- Overpayments: what payers paid beyond what they owed, never dropped, until
-- the creditor refunds it or applies it to another invoice.  The reader's
-- row-level security applies (security_invoker).
CREATE VIEW cobranca.credit WITH (security_invoker = true) AS
SELECT i.creditor_id, i.portfolio_id, i.payer_id, y.name AS payer_name, y.document,
       i.id AS invoice_id, i.external_id, i.kind, i.due_on, i.amount, i.paid_total, i.credit,
       i.last_payment_on
  FROM cobranca.invoice i
  JOIN cobranca.payer y ON y.id = i.payer_id
 WHERE i.credit > 0;
COMMENT ON VIEW cobranca.credit IS
  'invoices paid beyond their amount: the overpayment owed back to the payer or to be applied elsewhere (SPEC §2.1)';
COMMENT ON COLUMN cobranca.credit.document IS 'the payer''s document, masked';
COMMENT ON COLUMN cobranca.credit.credit IS 'paid_total − amount';
GRANT SELECT ON cobranca.credit TO cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_admin;

-- ==== src/sql/17_load.sql
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

-- ==== src/sql/20_roles.sql
-- Who a login is: ERP logins are tied to one creditor (cobranca.erp_login);
-- analysts, supervisors and legal work the portfolios of cobranca.assignment.
-- Row-level security, grants and audit triggers are applied to every table
-- by 97_security.sql; the matrix is in doc/security.md.

CREATE TABLE cobranca.erp_login (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login       name NOT NULL,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT erp_login_key UNIQUE (login)
);
CREATE INDEX erp_login_creditor_idx ON cobranca.erp_login (creditor_id);
COMMENT ON TABLE cobranca.erp_login IS
  'The creditor an ERP login (a member of cobranca_erp) writes for: it sees and writes that creditor''s rows only; kept by cobranca_admin';
COMMENT ON COLUMN cobranca.erp_login.login IS 'the login role (current_user) of the ERP';
SELECT pg_catalog.pg_extension_config_dump('cobranca.erp_login', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.erp_login_id_seq', '');

-- Visibility helpers for views and functions that read as their owner (who
-- is not subject to row-level security): they answer for the role calling.
-- Superusers and BYPASSRLS roles see everything, as they do in the tables.
CREATE FUNCTION cobranca.visible_portfolio(portfolio_id bigint) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
      OR EXISTS (SELECT 1 FROM cobranca.assignment a
                  WHERE a.login = CURRENT_USER AND a.portfolio_id = $1)
      OR EXISTS (SELECT 1 FROM cobranca.erp_login e JOIN cobranca.portfolio p ON p.creditor_id = e.creditor_id
                  WHERE e.login = CURRENT_USER AND p.id = $1)
$$;
COMMENT ON FUNCTION cobranca.visible_portfolio(bigint) IS
  'true when the current role may see rows of this portfolio (assigned to it, its ERP''s creditor, or a role that bypasses row-level security): for views that aggregate as their owner';

CREATE FUNCTION cobranca.visible_creditor(creditor_id bigint) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
      OR EXISTS (SELECT 1 FROM cobranca.assignment a
                  WHERE a.login = CURRENT_USER AND a.creditor_id = $1)
      OR EXISTS (SELECT 1 FROM cobranca.erp_login e
                  WHERE e.login = CURRENT_USER AND e.creditor_id = $1)
$$;
COMMENT ON FUNCTION cobranca.visible_creditor(bigint) IS
  'true when the current role works a portfolio of this creditor, is its ERP, or bypasses row-level security: for views that aggregate as their owner';

GRANT EXECUTE ON FUNCTION cobranca.visible_portfolio(bigint), cobranca.visible_creditor(bigint)
  TO cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_legal, cobranca_admin;

-- ==== src/sql/30_audit.sql
-- The audit log (audit.c): append-only, captured in the writing transaction,
-- sealed into per-creditor SHA-256 hash chains shortly after commit.
-- The capture trigger is put on every domain table by 97_security.sql.

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
COMMENT ON TABLE cobranca.audit_log IS
  'Who did what, when: one row per INSERT, UPDATE and DELETE on a domain table and per document reveal, written in the same transaction; append-only, sealed into hash chains by cobranca.audit_seal()';
COMMENT ON COLUMN cobranca.audit_log.id IS 'capture order (not commit order); the chain order is in cobranca.audit_seal';
COMMENT ON COLUMN cobranca.audit_log.logged_at IS 'clock time of the change';
COMMENT ON COLUMN cobranca.audit_log.txid IS 'top-level transaction id (pg_current_xact_id, as a number)';
COMMENT ON COLUMN cobranca.audit_log.session_user_name IS 'the login that connected (session_user)';
COMMENT ON COLUMN cobranca.audit_log.current_user_name IS 'the role in effect (current_user): differs under SET ROLE or inside a SECURITY DEFINER function';
COMMENT ON COLUMN cobranca.audit_log.application_name IS 'application_name of the session';
COMMENT ON COLUMN cobranca.audit_log.client_addr IS 'client IP address; null over a Unix socket';
COMMENT ON COLUMN cobranca.audit_log.table_name IS 'table changed (or read, for REVEAL)';
COMMENT ON COLUMN cobranca.audit_log.operation IS 'INSERT, UPDATE, DELETE, or REVEAL (a document shown by reveal_document)';
COMMENT ON COLUMN cobranca.audit_log.row_id IS 'id of the row';
COMMENT ON COLUMN cobranca.audit_log.creditor_id IS 'tenant of the row: selects the hash chain and who may read the entry';
COMMENT ON COLUMN cobranca.audit_log.old_values IS 'row before (DELETE) or changed columns before (UPDATE); encrypted and digested documents never appear';
COMMENT ON COLUMN cobranca.audit_log.new_values IS 'row after (INSERT) or changed columns after (UPDATE); encrypted and digested documents never appear';
COMMENT ON COLUMN cobranca.audit_log.reason IS 'stated reason of a REVEAL';

CREATE TABLE cobranca.audit_seal (
  audit_id  bigint PRIMARY KEY,
  chain_id  bigint NOT NULL,
  seq       bigint NOT NULL CHECK (seq > 0),
  sealed_at timestamptz NOT NULL,
  prev_hash bytea NOT NULL,
  hash      bytea NOT NULL,
  CONSTRAINT audit_seal_position UNIQUE (chain_id, seq)
);
COMMENT ON TABLE cobranca.audit_seal IS
  'The hash chains over cobranca.audit_log, one per creditor (chain 0: rows without creditor); append-only';
COMMENT ON COLUMN cobranca.audit_seal.audit_id IS 'the audit_log row sealed';
COMMENT ON COLUMN cobranca.audit_seal.chain_id IS 'creditor_id of the row, 0 when it has none';
COMMENT ON COLUMN cobranca.audit_seal.seq IS 'position in the chain, from 1, in seal order';
COMMENT ON COLUMN cobranca.audit_seal.prev_hash IS 'hash of the previous position (32 zero bytes at position 1)';
COMMENT ON COLUMN cobranca.audit_seal.hash IS 'SHA-256 of label, chain, position, prev_hash and the canonical audit_log row';

CREATE TABLE cobranca.audit_seal_state (
  one           boolean PRIMARY KEY DEFAULT true CHECK (one),
  last_snapshot pg_snapshot NOT NULL DEFAULT '1:1:',
  sealed_at     timestamptz,
  last_count    bigint
);
INSERT INTO cobranca.audit_seal_state DEFAULT VALUES;
COMMENT ON TABLE cobranca.audit_seal_state IS
  'One row: the snapshot the last seal started from; rows of transactions not visible in it are sealed next';

CREATE TABLE cobranca.audit_hold (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint REFERENCES cobranca.creditor,
  reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  until       date,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE cobranca.audit_hold IS
  'Legal holds: while one is in force (until null or not past), the retention purge keeps every audit row of the creditor (all creditors when creditor_id is null)';

CREATE FUNCTION cobranca.audit_capture() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_audit_capture'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.audit_capture() IS
  'AFTER ROW trigger: appends the change to cobranca.audit_log (documents redacted, changed columns only on UPDATE)';

CREATE FUNCTION cobranca.audit_refuse() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_audit_refuse'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.audit_refuse() IS
  'refuses UPDATE, DELETE and TRUNCATE on the audit tables, for every role';

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON cobranca.audit_log
  FOR EACH ROW EXECUTE FUNCTION cobranca.audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON cobranca.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.audit_refuse();
CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON cobranca.audit_seal
  FOR EACH ROW EXECUTE FUNCTION cobranca.audit_refuse();
CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON cobranca.audit_seal
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.audit_refuse();
-- ALWAYS: they fire under session_replication_role = replica too
ALTER TABLE cobranca.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
ALTER TABLE cobranca.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
ALTER TABLE cobranca.audit_seal ENABLE ALWAYS TRIGGER audit_seal_append_only;
ALTER TABLE cobranca.audit_seal ENABLE ALWAYS TRIGGER audit_seal_no_truncate;

CREATE FUNCTION cobranca.audit_note(table_name text, operation text, row_id bigint,
                                    creditor_id bigint, reason text, detail jsonb)
  RETURNS bigint
  AS 'MODULE_PATHNAME', 'cobranca_audit_note'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cobranca.audit_note(text, text, bigint, bigint, text, jsonb) IS
  'appends an audit row for an access that is not a row change (REVEAL); owner only, called by reveal_document()';

CREATE FUNCTION cobranca.audit_seal() RETURNS bigint
  AS 'MODULE_PATHNAME', 'cobranca_audit_seal'
  LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.audit_seal() IS
  'seals the audit rows committed since the last seal into their creditor''s hash chain, in id order, at most 100000 per call; returns how many';

CREATE FUNCTION cobranca.audit_verify(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint)
  AS 'MODULE_PATHNAME', 'cobranca_audit_verify'
  LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.audit_verify() IS
  'recomputes every hash chain; ok is false when a sealed row, a seal or a position was changed or removed, or a committed row escaped the seal; first_bad_id is the smallest audit id where that happens';

CREATE FUNCTION cobranca.audit_purge(before timestamptz) RETURNS bigint
  AS 'MODULE_PATHNAME', 'cobranca_audit_purge'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.audit_purge(timestamptz) IS
  'retention: removes sealed audit rows logged before the given time, per chain a prefix only and never the newest row, never unsealed rows nor rows of a creditor under legal hold; returns how many';

CREATE FUNCTION cobranca.audit_head()
  RETURNS TABLE (chain_id bigint, seq bigint, hash text, sealed_at timestamptz)
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT DISTINCT ON (s.chain_id) s.chain_id, s.seq, pg_catalog.encode(s.hash, 'hex'), s.sealed_at
  FROM cobranca.audit_seal s
  ORDER BY s.chain_id, s.seq DESC
$$;
COMMENT ON FUNCTION cobranca.audit_head() IS
  'the newest position and hash of every chain the caller may read (row-level security applies): publish them outside the database (e.g. to a notary or a write-once store) so that even a rewrite of the whole chain by a superuser shows';

CREATE FUNCTION cobranca.job_seal_audit(as_of timestamptz) RETURNS bigint
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  n bigint;
BEGIN
  n := cobranca.audit_seal();
  IF cobranca.audit_retention_days() > 0 THEN
    PERFORM cobranca.audit_purge(as_of - pg_catalog.make_interval(days => cobranca.audit_retention_days()));
  END IF;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.job_seal_audit(timestamptz) IS
  'job seal_audit: seals pending audit rows (returns how many), then applies cobranca.audit_retention_days';

CREATE FUNCTION cobranca.audit_retention_days() RETURNS integer
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$ SELECT COALESCE(pg_catalog.current_setting('cobranca.audit_retention_days', true), '0')::integer $$;
COMMENT ON FUNCTION cobranca.audit_retention_days() IS
  'the GUC cobranca.audit_retention_days: days after which sealed audit rows may be purged; 0 keeps them forever';

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('seal_audit', 50, 'cobranca.job_seal_audit(timestamptz)',
        'seal the audit rows committed since the last seal into the hash chains; apply audit retention');

REVOKE ALL ON FUNCTION cobranca.audit_capture(), cobranca.audit_refuse(),
  cobranca.audit_note(text, text, bigint, bigint, text, jsonb), cobranca.audit_seal(),
  cobranca.audit_verify(), cobranca.audit_purge(timestamptz), cobranca.audit_head(),
  cobranca.job_seal_audit(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.audit_seal(), cobranca.audit_verify(), cobranca.audit_head()
  TO cobranca_legal, cobranca_admin;

SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_seal', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_hold', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_hold_id_seq', '');

-- ==== src/sql/35_documents.sql
-- Finding a payer by document and revealing a document (reveal.c).

-- find_payer compares keyed digests; this index serves it whatever the tenant.
CREATE INDEX payer_document_digest_idx ON cobranca.payer (document_digest);

CREATE FUNCTION cobranca.find_payer(document text) RETURNS bigint
  LANGUAGE sql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS
$$
  WITH d AS MATERIALIZED (
    SELECT cobranca.document_digest(cobranca.document_normalize(
             CASE WHEN pg_catalog.length(pg_catalog.regexp_replace($1, '[^0-9A-Za-z]', '', 'g')) = 11
                  THEN 'person' ELSE 'company' END, $1)) AS digest)
  SELECT p.id FROM cobranca.payer p, d WHERE p.document_digest = d.digest ORDER BY p.id LIMIT 1
$$;
COMMENT ON FUNCTION cobranca.find_payer(text) IS
  'id of the payer with this CPF (11 digits) or CNPJ, punctuation optional, among the payers the caller may see (row-level security applies); the lowest id when several creditors have it; null when none';

CREATE FUNCTION cobranca.reveal_document(payer_id bigint, reason text) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_reveal_document'
  LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cobranca.reveal_document(bigint, text) IS
  'the payer''s CPF/CNPJ in clear (normalized), for cobranca_supervisor and cobranca_legal on payers of their portfolios; the reason is required and the access (who, when, why) is written to cobranca.audit_log as REVEAL';

REVOKE ALL ON FUNCTION cobranca.find_payer(text), cobranca.reveal_document(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.find_payer(text)
  TO cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_legal, cobranca_admin;
GRANT EXECUTE ON FUNCTION cobranca.reveal_document(bigint, text) TO cobranca_supervisor, cobranca_legal;

-- ==== src/sql/40_calendar.sql
-- The lawful contact calendar (calendar.c): national holidays computed for
-- any year, state holidays and contact windows from two small tables that
-- every backend caches (a statement trigger tells the backends to reload).

CREATE TABLE cobranca.holiday (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uf            text NOT NULL CHECK (cobranca.check_uf('holiday.uf', uf)),
  month         smallint CHECK (cobranca.check_range('holiday.month', month, 1, 12)),
  day           smallint CHECK (cobranca.check_range('holiday.day', day, 1, 31)),
  easter_offset smallint CHECK (cobranca.check_range('holiday.easter_offset', easter_offset, -100, 100)),
  name          text NOT NULL CHECK (cobranca.check_text('holiday.name', name, 200, false)),
  law           text
    CHECK (cobranca.check_text('holiday.law', law, 300, true)),
  shipped       boolean NOT NULL DEFAULT false,
  CONSTRAINT holiday_date_or_easter
    CHECK ((month IS NOT NULL AND day IS NOT NULL AND easter_offset IS NULL)
        OR (month IS NULL AND day IS NULL AND easter_offset IS NOT NULL)),
  CONSTRAINT holiday_real_date
    CHECK (month IS NULL OR day <= (ARRAY[31,29,31,30,31,30,31,31,30,31,30,31])[month]),
  CONSTRAINT holiday_key UNIQUE NULLS NOT DISTINCT (uf, month, day, easter_offset)
);
COMMENT ON TABLE cobranca.holiday IS
  'State holidays (national ones are computed): a fixed month and day, or a number of days from Easter Sunday; no contact is made on them';
COMMENT ON COLUMN cobranca.holiday.uf IS 'state whose payers observe the holiday';
COMMENT ON COLUMN cobranca.holiday.month IS 'month of a fixed-date holiday (with day)';
COMMENT ON COLUMN cobranca.holiday.day IS 'day of the month of a fixed-date holiday';
COMMENT ON COLUMN cobranca.holiday.easter_offset IS 'days from Easter Sunday of a moving holiday (instead of month and day)';
COMMENT ON COLUMN cobranca.holiday.law IS 'the state law that makes it a holiday';
COMMENT ON COLUMN cobranca.holiday.shipped IS 'a row shipped with the extension (recreated by CREATE EXTENSION, so not dumped)';

INSERT INTO cobranca.holiday (uf, month, day, name, law, shipped) SELECT *, true FROM (VALUES
  ('SP', 7, 9, 'Revolução Constitucionalista de 1932', 'Lei estadual 9.497/1997'),
  ('RJ', 4, 23, 'Dia de São Jorge', 'Lei estadual 5.198/2008'),
  ('RJ', 11, 20, 'Dia de Zumbi dos Palmares', 'Lei estadual 4.007/2002'),
  ('MG', 4, 21, 'Data Magna de Minas Gerais', NULL),
  ('BA', 7, 2, 'Independência da Bahia', NULL),
  ('PE', 3, 6, 'Data Magna de Pernambuco (Revolução de 1817)', NULL),
  ('RS', 9, 20, 'Revolução Farroupilha', 'Lei estadual 4.850/1964'),
  ('PR', 12, 19, 'Emancipação Política do Paraná', NULL),
  ('AL', 6, 24, 'São João', NULL),
  ('AL', 6, 29, 'São Pedro', NULL),
  ('AL', 9, 16, 'Emancipação Política de Alagoas', NULL),
  ('AL', 11, 20, 'Dia de Zumbi dos Palmares', NULL),
  ('AM', 9, 5, 'Elevação do Amazonas a Província', NULL),
  ('CE', 3, 25, 'Data Magna do Ceará (Abolição)', NULL),
  ('MA', 7, 28, 'Adesão do Maranhão à Independência', NULL),
  ('MS', 10, 11, 'Criação do Estado de Mato Grosso do Sul', NULL),
  ('PA', 8, 15, 'Adesão do Pará à Independência', NULL),
  ('PB', 8, 5, 'Fundação do Estado da Paraíba', NULL),
  ('PI', 10, 19, 'Dia do Piauí', NULL),
  ('RN', 10, 3, 'Mártires de Cunhaú e Uruaçu', NULL),
  ('SE', 7, 8, 'Emancipação Política de Sergipe', NULL),
  ('TO', 10, 5, 'Criação do Estado do Tocantins', NULL),
  ('DF', 11, 30, 'Dia do Evangélico', NULL)) AS v;
INSERT INTO cobranca.holiday (uf, easter_offset, name, law, shipped) VALUES
  ('ES', 8, 'Nossa Senhora da Penha', NULL, true);

-- Contact windows.  Rows with creditor_id null are the law; a creditor's own
-- rows can only narrow them (checked on write, and the calendar intersects
-- the two whatever is stored).  uf null is the default for states without a
-- row, channel null applies to every channel.
CREATE TABLE cobranca.contact_window (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id    bigint REFERENCES cobranca.creditor ON DELETE CASCADE,
  uf             text CHECK (cobranca.check_uf('contact_window.uf', uf)),
  channel        text
    CHECK (cobranca.check_member('contact_window.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  weekday_from   time NOT NULL,
  weekday_until  time NOT NULL,
  saturday_from  time,
  saturday_until time,
  law            text
    CHECK (cobranca.check_text('contact_window.law', law, 300, true)),
  CONSTRAINT contact_window_weekday CHECK (weekday_from < weekday_until),
  CONSTRAINT contact_window_saturday
    CHECK ((saturday_from IS NULL) = (saturday_until IS NULL)
           AND (saturday_from IS NULL OR saturday_from < saturday_until)),
  CONSTRAINT contact_window_key UNIQUE NULLS NOT DISTINCT (creditor_id, uf, channel)
);
CREATE INDEX contact_window_creditor_idx ON cobranca.contact_window (creditor_id);
COMMENT ON TABLE cobranca.contact_window IS
  'Lawful hours for contacting payers, local to the payer, per state and channel; never on Sundays or holidays. creditor_id null rows are the law, a creditor''s rows narrow them';
COMMENT ON COLUMN cobranca.contact_window.creditor_id IS 'null: the statutory window; otherwise a creditor''s narrower window';
COMMENT ON COLUMN cobranca.contact_window.uf IS 'state of the payer; null: every state without a row of its own';
COMMENT ON COLUMN cobranca.contact_window.channel IS 'channel; null: every channel';
COMMENT ON COLUMN cobranca.contact_window.weekday_from IS 'Monday to Friday: first lawful local time';
COMMENT ON COLUMN cobranca.contact_window.weekday_until IS 'Monday to Friday: end of the window (exclusive)';
COMMENT ON COLUMN cobranca.contact_window.saturday_from IS 'Saturday: first lawful local time; null: no contact on Saturdays';
COMMENT ON COLUMN cobranca.contact_window.saturday_until IS 'Saturday: end of the window (exclusive)';
COMMENT ON COLUMN cobranca.contact_window.law IS 'the law that sets the window';

INSERT INTO cobranca.contact_window (uf, weekday_from, weekday_until, saturday_from, saturday_until, law) VALUES
  (NULL, '08:00', '20:00', '08:00', '14:00', 'default: the rule of Lei estadual SP 15.426/2014'),
  ('SP', '08:00', '20:00', '08:00', '14:00', 'Lei estadual SP 15.426/2014'),
  ('AL', '08:00', '20:00', '08:00', '14:00', 'Lei estadual AL 7.782/2016'),
  ('RJ', '09:00', '19:00', NULL, NULL, 'Lei estadual RJ 7.868/2018'),
  ('ES', '08:00', '19:00', NULL, NULL, 'Lei estadual ES 10.626/2017');

-- The statutory window that applies to a state and channel.
CREATE FUNCTION cobranca.statutory_window(uf text, channel text)
  RETURNS cobranca.contact_window
  LANGUAGE sql STABLE
  AS $$
    SELECT w FROM cobranca.contact_window w
     WHERE w.creditor_id IS NULL
       AND (w.uf IS NULL OR w.uf = $1)
       AND (w.channel IS NULL OR w.channel = $2)
     ORDER BY (w.uf IS NOT NULL) DESC, (w.channel IS NOT NULL) DESC
     LIMIT 1
  $$;
COMMENT ON FUNCTION cobranca.statutory_window(text, text) IS
  'the statutory contact window (creditor_id null) that applies to a state and channel: the most specific row';

-- A creditor may narrow the law, never widen it.
CREATE FUNCTION cobranca.contact_window_guard() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  law cobranca.contact_window;
  who text;
BEGIN
  IF NEW.creditor_id IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT c.name INTO who FROM cobranca.creditor c WHERE c.id = NEW.creditor_id;
  law := cobranca.statutory_window(NEW.uf, coalesce(NEW.channel, 'phone'));
  IF law.id IS NULL THEN
    RETURN NEW;
  END IF;
  IF NEW.weekday_from < law.weekday_from OR NEW.weekday_until > law.weekday_until THEN
    RAISE EXCEPTION 'contact window of creditor "%" widens the law', who
      USING ERRCODE = 'check_violation',
            DETAIL = format('contact_window weekday %s-%s is outside the statutory %s-%s for %s (%s).',
                            NEW.weekday_from, NEW.weekday_until, law.weekday_from, law.weekday_until,
                            coalesce(NEW.uf, 'every state'), law.law),
            HINT = 'A creditor may only narrow the statutory contact hours.';
  END IF;
  IF NEW.saturday_from IS NOT NULL AND
     (law.saturday_from IS NULL OR NEW.saturday_from < law.saturday_from
      OR NEW.saturday_until > law.saturday_until) THEN
    RAISE EXCEPTION 'contact window of creditor "%" widens the law', who
      USING ERRCODE = 'check_violation',
            DETAIL = format('contact_window saturday %s-%s is outside the statutory %s for %s (%s).',
                            NEW.saturday_from, NEW.saturday_until,
                            coalesce(law.saturday_from || '-' || law.saturday_until, 'none'),
                            coalesce(NEW.uf, 'every state'), law.law),
            HINT = 'A creditor may only narrow the statutory contact hours.';
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION cobranca.contact_window_guard() IS
  'refuses a creditor''s contact window that is wider than the statutory one for its state and channel';
CREATE TRIGGER contact_window_guard
  BEFORE INSERT OR UPDATE ON cobranca.contact_window
  FOR EACH ROW EXECUTE FUNCTION cobranca.contact_window_guard();

CREATE FUNCTION cobranca.calendar_changed() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_calendar_changed'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.calendar_changed() IS
  'statement trigger: tells every backend to reload its cached holidays and contact windows';
CREATE TRIGGER calendar_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cobranca.holiday
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.calendar_changed();
CREATE TRIGGER calendar_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cobranca.contact_window
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.calendar_changed();
CREATE TRIGGER calendar_changed
  AFTER INSERT OR UPDATE OF carnival_holiday OR DELETE ON cobranca.creditor
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.calendar_changed();

CREATE FUNCTION cobranca.easter(year integer) RETURNS date
  AS 'MODULE_PATHNAME', 'cobranca_easter'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.easter(integer) IS
  'Easter Sunday of a Gregorian year; Good Friday is 2 days before, Corpus Christi 60 after, Carnival 48 and 47 before';

CREATE FUNCTION cobranca.holiday_name(day date, uf text, carnival boolean DEFAULT false)
  RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_holiday_name'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.holiday_name(date, text, boolean) IS
  'name of the national or state holiday on day for a payer in uf (Carnival Monday and Tuesday only when carnival), or null';

CREATE FUNCTION cobranca.holidays(year integer, uf text, carnival boolean DEFAULT false)
  RETURNS TABLE (day date, name text)
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT d::date, cobranca.holiday_name(d::date, $2, $3)
      FROM pg_catalog.generate_series(pg_catalog.make_date($1, 1, 1),
                                      pg_catalog.make_date($1, 12, 31), interval '1 day') AS d
     WHERE cobranca.holiday_name(d::date, $2, $3) IS NOT NULL
     ORDER BY 1
  $$;
COMMENT ON FUNCTION cobranca.holidays(integer, text, boolean) IS
  'the national and state holidays of a year for a payer in uf';

CREATE FUNCTION cobranca.business_day(day date, uf text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_business_day'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.business_day(date, text) IS
  'true on Monday to Friday when day is not a national or state holiday in uf';

CREATE FUNCTION cobranca.add_business_days(day date, n integer, uf text) RETURNS date
  AS 'MODULE_PATHNAME', 'cobranca_add_business_days'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.add_business_days(date, integer, text) IS
  'the date n business days after day in uf (before it when n is negative; day itself when n is 0)';

CREATE FUNCTION cobranca.contact_day(day date, channel text, uf text, creditor_id bigint DEFAULT NULL)
  RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_contact_day'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.contact_day(date, text, text, bigint) IS
  'true when the day has a lawful contact window for channel in uf (and for the creditor''s own windows and Carnival option)';

CREATE FUNCTION cobranca.cadence_day(due_on date, offset_days integer, channel text, uf text,
                                     creditor_id bigint DEFAULT NULL)
  RETURNS date
  AS 'MODULE_PATHNAME', 'cobranca_cadence_day'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.cadence_day(date, integer, text, text, bigint) IS
  'local day of a cadence step: due_on + offset_days; a reminder (negative offset) falling on a day without a lawful window moves back to the previous day that has one';

CREATE FUNCTION cobranca.next_contact_slot(ts timestamptz, channel text, tz text, uf text)
  RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'cobranca_next_contact_slot'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.next_contact_slot(timestamptz, text, text, text) IS
  'the first lawful instant at or after ts for channel, for a payer in uf whose time zone is tz: the statutory window, never on Sundays or holidays';

CREATE FUNCTION cobranca.next_contact_slot(ts timestamptz, channel text, tz text, uf text, creditor_id bigint)
  RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'cobranca_next_contact_slot'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.next_contact_slot(timestamptz, text, text, text, bigint) IS
  'next_contact_slot narrowed by the creditor''s own contact windows and its Carnival option';

-- Rows shipped with the extension are recreated by CREATE EXTENSION; only
-- the ones added later are dumped.
SELECT pg_catalog.pg_extension_config_dump('cobranca.holiday', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('cobranca.holiday_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_window', 'WHERE creditor_id IS NOT NULL');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_window_id_seq', '');

-- ==== src/sql/50_cadence.sql
-- The contact cadence (régua de cobrança): templates, the shipped rules,
-- contact generation (cadence.c), the outbox for external senders, ANS
-- protocol numbers, and the trigger that stops contacts a payment, dispute
-- or agreement made pointless.

-- ---- templates (template.c holds the forbidden wording, in one place)

CREATE FUNCTION cobranca.check_template(field text, template text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_check_template'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.check_template(text, text) IS
  'true for a usable message template; raises 23514 when it mentions health data, threatens or embarrasses, or uses an unknown placeholder';

CREATE FUNCTION cobranca.render_template(template text, vars jsonb) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_render_template'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.render_template(text, jsonb) IS
  'substitutes {{placeholders}} from vars (a line whose placeholders all came out empty is dropped); refuses templates that check_template refuses';

ALTER TABLE cobranca.cadence_rule
  ADD CONSTRAINT cadence_rule_template_allowed
  CHECK (cobranca.check_template('cadence_rule.template', template));
COMMENT ON COLUMN cobranca.cadence_rule.template IS
  'pt-BR message with {{placeholders}} (nome, credor, credor_cnpj, credor_endereco, credor_contato, registro_ans, total, quantidade, titulos, vencimento, pix, protocolo); null: the channel''s default text';

CREATE FUNCTION cobranca.default_template(channel text, overdue boolean) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN $1 = 'email' AND NOT $2 THEN $t$Olá, {{nome}}.
Este é um lembrete de {{credor}}: {{quantidade}} título(s) com vencimento em {{vencimento}}.
{{titulos}}
Total: {{total}}.
{{pix}}
Se o pagamento já foi feito, por favor desconsidere esta mensagem.
{{credor}} · CNPJ {{credor_cnpj}} · {{credor_endereco}}
Atendimento: {{credor_contato}}$t$
      WHEN $1 = 'email' THEN $t$Olá, {{nome}}.
Não identificamos o pagamento de {{quantidade}} título(s) de {{credor}}, com vencimento a partir de {{vencimento}}:
{{titulos}}
Total em aberto: {{total}}.
{{pix}}
Se o pagamento já foi feito, por favor desconsidere esta mensagem.
{{credor}} · CNPJ {{credor_cnpj}} · {{credor_endereco}}
Atendimento: {{credor_contato}}$t$
      WHEN $1 IN ('sms', 'whatsapp') AND NOT $2 THEN $t${{credor}} (CNPJ {{credor_cnpj}}): olá, {{nome}}. Lembrete: {{total}} com vencimento em {{vencimento}}.
{{pix}}
Se já pagou, desconsidere. Atendimento: {{credor_contato}}. {{credor_endereco}}.$t$
      WHEN $1 IN ('sms', 'whatsapp') THEN $t${{credor}} (CNPJ {{credor_cnpj}}): olá, {{nome}}. Não identificamos o pagamento de {{total}}, com vencimento a partir de {{vencimento}}.
{{pix}}
Se já pagou, desconsidere. Atendimento: {{credor_contato}}. {{credor_endereco}}.$t$
      WHEN $1 = 'phone' THEN $t$Roteiro de ligação: {{credor}}, CNPJ {{credor_cnpj}}, {{credor_endereco}}.
Protocolo de atendimento: {{protocolo}}
Falar somente com {{nome}} e confirmar a identidade antes de tratar do débito.
Títulos em aberto:
{{titulos}}
O valor total em aberto é de {{total}}.
{{pix}}
Atendimento: {{credor_contato}}.$t$
      ELSE $t${{credor}}
CNPJ {{credor_cnpj}}
{{credor_endereco}}

Prezado(a) {{nome}},

Não identificamos, até esta data, o pagamento do(s) título(s) abaixo:
{{titulos}}

Valor total em aberto: {{total}}.
{{pix}}
Caso o pagamento já tenha sido feito, por favor desconsidere este aviso. Para negociar ou esclarecer dúvidas: {{credor_contato}}.

Atenciosamente,
{{credor}}$t$
    END
  $$;
COMMENT ON FUNCTION cobranca.default_template(text, boolean) IS
  'the shipped pt-BR text of a channel, as a reminder (overdue false) or for an overdue debt';

-- ---- the shipped cadence (creditor_id null: every creditor without rules of its own)

-- (created_at is the release's, so that a restored database is identical)
INSERT INTO cobranca.cadence_rule (name, offset_days, channel, created_at)
SELECT name, offset_days, channel, timestamptz '2026-11-28 00:00:00+00' FROM (VALUES
  ('D-3 lembrete por e-mail', -3, 'email'),
  ('D-1 lembrete por WhatsApp', -1, 'whatsapp'),
  ('D-1 lembrete por SMS', -1, 'sms'),
  ('D+3 WhatsApp', 3, 'whatsapp'),
  ('D+10 ligação', 10, 'phone'),
  ('D+30 ligação', 30, 'phone'),
  ('D+31 carta', 31, 'letter'),
  ('D+45 ligação', 45, 'phone')) AS r(name, offset_days, channel);

-- ---- daily capacity of a channel (a dialer's seats, a messaging quota)

CREATE TABLE cobranca.channel_capacity (
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor ON DELETE CASCADE,
  channel     text NOT NULL
    CHECK (cobranca.check_member('channel_capacity.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  daily_limit integer NOT NULL CHECK (cobranca.check_range('channel_capacity.daily_limit', daily_limit, 0, 1000000)),
  PRIMARY KEY (creditor_id, channel)
);
COMMENT ON TABLE cobranca.channel_capacity IS
  'Most contacts a creditor can make on a channel in one day; generate_contacts fills it highest priority first';
COMMENT ON COLUMN cobranca.channel_capacity.daily_limit IS 'contacts per local day, cancelled ones not counted';

-- ---- what senders report back

CREATE TABLE cobranca.contact_event (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  contact_id  bigint NOT NULL REFERENCES cobranca.contact ON DELETE CASCADE,
  outcome     text NOT NULL,
  at          timestamptz NOT NULL
    CHECK (cobranca.check_timestamp('contact_event.at', at)),
  details     jsonb NOT NULL DEFAULT '{}'
    CHECK (cobranca.check_rule(octet_length(details::text) <= 65536, 'contact_event.details is too large',
                               'contact_event.details has ' || octet_length(details::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.')),
  recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX contact_event_contact_idx ON cobranca.contact_event (contact_id);
COMMENT ON TABLE cobranca.contact_event IS
  'Every result a sender or analyst reported for a contact (delivery, read, reply, call outcome), in arrival order';
COMMENT ON COLUMN cobranca.contact_event.at IS 'when it happened, as the sender saw it';
COMMENT ON COLUMN cobranca.contact_event.details IS 'the sender''s own data (message id, call recording reference ...)';

-- ---- ANS protocol numbers (RN 395/2016)

CREATE TABLE cobranca.protocol_counter (
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor ON DELETE CASCADE,
  day         date NOT NULL,
  last_seq    integer NOT NULL CHECK (last_seq BETWEEN 1 AND 999999),
  PRIMARY KEY (creditor_id, day)
);
COMMENT ON TABLE cobranca.protocol_counter IS
  'Last protocol sequence handed out per creditor and day; updated in the caller''s transaction, so numbers are gap-free';

CREATE FUNCTION cobranca.next_protocol(creditor_id bigint) RETURNS text
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  reg text;
  zone text;
  d date;
  seq integer;
BEGIN
  SELECT c.ans_registry, c.timezone INTO reg, zone
    FROM cobranca.creditor c WHERE c.id = next_protocol.creditor_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'creditor % does not exist', next_protocol.creditor_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF reg IS NULL THEN
    RAISE EXCEPTION 'creditor % has no ANS registry', next_protocol.creditor_id
      USING ERRCODE = 'check_violation',
            DETAIL = 'creditor.ans_registry is null; ANS protocol numbers (RN 395/2016) are given by health-plan operators.',
            HINT = 'Set creditor.ans_registry (6 digits).';
  END IF;
  d := (pg_catalog.now() AT TIME ZONE zone)::date;
  INSERT INTO cobranca.protocol_counter AS p (creditor_id, day, last_seq)
    VALUES (next_protocol.creditor_id, d, 1)
    ON CONFLICT ON CONSTRAINT protocol_counter_pkey
    DO UPDATE SET last_seq = p.last_seq + 1 WHERE p.last_seq < 999999
    RETURNING p.last_seq INTO seq;
  IF seq IS NULL THEN
    RAISE EXCEPTION 'protocol numbers of creditor % exhausted for %', next_protocol.creditor_id, d
      USING ERRCODE = 'program_limit_exceeded',
            DETAIL = 'The daily sequence has 6 digits: at most 999999 protocols a day.';
  END IF;
  RETURN reg || pg_catalog.to_char(d, 'YYYYMMDD') || pg_catalog.lpad(seq::text, 6, '0');
END
$$;
COMMENT ON FUNCTION cobranca.next_protocol(bigint) IS
  'next ANS protocol number of a creditor (RN 395/2016): registry (6) + yyyymmdd (creditor''s time zone) + daily sequence (6); unique and gap-free, the counter row being updated in the caller''s transaction';

-- ---- rendering a contact

CREATE FUNCTION cobranca.format_brl(amount numeric) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
    SELECT 'R$ ' || pg_catalog.translate(pg_catalog.to_char($1, 'FM999,999,999,990.00'), ',.', '.,')
  $$;
COMMENT ON FUNCTION cobranca.format_brl(numeric) IS 'an amount in pt-BR: R$ 1.234,56';

CREATE FUNCTION cobranca.format_cnpj(document text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$
    SELECT CASE WHEN length($1) = 14
      THEN substr($1, 1, 2) || '.' || substr($1, 3, 3) || '.' || substr($1, 6, 3) || '/'
           || substr($1, 9, 4) || '-' || substr($1, 13, 2)
      ELSE $1 END
  $$;
COMMENT ON FUNCTION cobranca.format_cnpj(text) IS 'a normalized CNPJ with its punctuation: 11.222.333/0001-81';

-- PIX: the place where the copy-and-paste code of a contact comes from.
-- It uses cobranca.invoice_pix(invoice_id) when that function is installed
-- and the contact covers exactly one invoice; otherwise there is none and
-- the {{pix}} line is left out of the message.
CREATE FUNCTION cobranca.contact_pix(contact_id bigint) RETURNS text
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  ids bigint[];
  code text;
BEGIN
  IF pg_catalog.to_regprocedure('cobranca.invoice_pix(bigint)') IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT k.invoice_ids INTO ids FROM cobranca.contact k WHERE k.id = contact_pix.contact_id;
  IF pg_catalog.cardinality(ids) IS DISTINCT FROM 1 THEN
    RETURN NULL;
  END IF;
  EXECUTE 'SELECT cobranca.invoice_pix($1)' INTO code USING ids[1];
  RETURN code;
END
$$;
COMMENT ON FUNCTION cobranca.contact_pix(bigint) IS
  'PIX copy-and-paste code for a contact: cobranca.invoice_pix of its invoice when it covers one invoice and that function exists; otherwise null';

CREATE FUNCTION cobranca.contact_vars(contact_id bigint) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$
    SELECT pg_catalog.jsonb_build_object(
      'nome', p.name,
      'credor', c.name,
      'credor_cnpj', cobranca.format_cnpj(c.document),
      'credor_endereco', pg_catalog.concat_ws(', ', c.address, c.city || coalesce('/' || c.uf, '')),
      'credor_contato', pg_catalog.concat_ws(' · ', c.service_phone, c.service_email, c.service_site),
      'registro_ans', c.ans_registry,
      'total', cobranca.format_brl(inv.total),
      'quantidade', inv.n,
      'titulos', inv.lines,
      'vencimento', pg_catalog.to_char(inv.first_due, 'DD/MM/YYYY'),
      'pix', 'PIX copia e cola: ' || cobranca.contact_pix(k.id),
      'protocolo', k.protocol)
    FROM cobranca.contact k
    JOIN cobranca.payer p ON p.id = k.payer_id
    JOIN cobranca.creditor c ON c.id = k.creditor_id
    CROSS JOIN LATERAL (
      SELECT count(*) AS n, sum(i.balance) AS total, min(i.due_on) AS first_due,
             pg_catalog.string_agg(
               '• ' || CASE i.kind WHEN 'premium' THEN 'Mensalidade'
                                   WHEN 'copay' THEN 'Coparticipação'
                                   WHEN 'private' THEN 'Atendimento particular'
                                   WHEN 'disallowance' THEN 'Valor não coberto'
                                   ELSE 'Parcela de acordo' END
               || coalesce(' ' || pg_catalog.to_char(i.competence, 'MM/YYYY'), '')
               || ', vencimento ' || pg_catalog.to_char(i.due_on, 'DD/MM/YYYY')
               || ': ' || cobranca.format_brl(i.balance),
               E'\n' ORDER BY i.due_on, i.id) AS lines
        FROM cobranca.invoice i
       WHERE i.id = ANY (k.invoice_ids) AND i.status = 'open') inv
    WHERE k.id = $1
  $$;
COMMENT ON FUNCTION cobranca.contact_vars(bigint) IS
  'the values a contact''s message may show: creditor name, address and CNPJ (CDC art. 42-A), amounts, competences, due dates, PIX, protocol; never health data';

CREATE FUNCTION cobranca.contact_template(contact_id bigint) RETURNS text
  LANGUAGE sql STABLE
  AS $$
    SELECT coalesce(r.template,
                    cobranca.default_template(k.channel,
                                              coalesce(r.offset_days, 0) >= 0))
      FROM cobranca.contact k
      LEFT JOIN cobranca.cadence_rule r ON r.id = k.rule_id
     WHERE k.id = $1
  $$;
COMMENT ON FUNCTION cobranca.contact_template(bigint) IS
  'the template of a contact: its rule''s own, or the channel''s default';

CREATE FUNCTION cobranca.contact_message(contact_id bigint) RETURNS text
  LANGUAGE sql STABLE
  AS $$
    SELECT cobranca.render_template(cobranca.contact_template($1), cobranca.contact_vars($1))
  $$;
COMMENT ON FUNCTION cobranca.contact_message(bigint) IS
  'the pt-BR text of a contact, rendered from its template; only the invoices still open are listed';

-- ---- generation

CREATE FUNCTION cobranca.generate_contacts(as_of timestamptz) RETURNS integer
  AS 'MODULE_PATHNAME', 'cobranca_generate_contacts'
  LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION cobranca.generate_contacts(timestamptz) IS
  'creates the contacts due on the payers'' local day of as_of: one per payer, channel and day covering all due invoices, at the next lawful slot, at most cobranca.max_contacts_per_day per payer; returns how many were created or extended (0 when run again); NOTIFY cobranca_contact';

CREATE FUNCTION cobranca.generate_contacts_job(as_of timestamptz) RETURNS bigint
  LANGUAGE sql VOLATILE STRICT
  AS $$ SELECT cobranca.generate_contacts($1)::bigint $$;
COMMENT ON FUNCTION cobranca.generate_contacts_job(timestamptz) IS
  'job wrapper of generate_contacts for cobranca.run_jobs()';

INSERT INTO cobranca.job (name, position, function, description) VALUES
  ('generate_contacts', 30, 'cobranca.generate_contacts_job(timestamptz)'::regprocedure,
   'contacts due today by the cadence rules, at lawful hours, one per payer, channel and day');

-- ---- a payment, dispute or agreement stops the contacts it made pointless

CREATE FUNCTION cobranca.invoice_stop_contacts() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  -- a contact still covering another open invoice loses this one; one left
  -- with nothing to collect is cancelled (its invoice_ids kept as history)
  UPDATE cobranca.contact k
     SET status = CASE WHEN o.other_open THEN k.status ELSE 'cancelled' END,
         invoice_ids = CASE WHEN o.other_open THEN pg_catalog.array_remove(k.invoice_ids, NEW.id)
                            ELSE k.invoice_ids END,
         updated_at = pg_catalog.now()
    FROM (SELECT k2.id,
                 EXISTS (SELECT 1 FROM cobranca.invoice i
                          WHERE i.id = ANY (k2.invoice_ids) AND i.id <> NEW.id
                            AND i.status = 'open') AS other_open
            FROM cobranca.contact k2
           WHERE k2.payer_id = NEW.payer_id AND k2.status = 'scheduled'
             AND k2.invoice_ids @> ARRAY[NEW.id]) o
   WHERE k.id = o.id;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.invoice_stop_contacts() IS
  'trigger: when an invoice stops being open (paid, disputed, in agreement, cancelled, written off), its scheduled contacts drop it or are cancelled, in the same transaction; runs as the owner (it touches only the contacts of the updated invoice), whoever wrote the payment or dispute';
REVOKE ALL ON FUNCTION cobranca.invoice_stop_contacts() FROM PUBLIC;
CREATE TRIGGER invoice_stop_contacts
  AFTER UPDATE ON cobranca.invoice
  FOR EACH ROW WHEN (OLD.status = 'open' AND NEW.status <> 'open')
  EXECUTE FUNCTION cobranca.invoice_stop_contacts();

-- ---- the outbox

CREATE FUNCTION cobranca.claim_contacts(channel text, n integer) RETURNS SETOF cobranca.contact
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

CREATE FUNCTION cobranca.record_contact_result(contact_id bigint, outcome text,
                                               at timestamptz DEFAULT pg_catalog.now(),
                                               details jsonb DEFAULT '{}')
  RETURNS cobranca.contact
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  k cobranca.contact;
  st text;
  ranks constant text[] := '{scheduled,sent,failed,delivered,read,replied,done}';
BEGIN
  PERFORM cobranca.check_member('outcome', record_contact_result.outcome,
    '{sent,delivered,read,replied,failed,done,no_answer,busy,wrong_number,promise_to_pay,refused}');
  SELECT * INTO k FROM cobranca.contact c WHERE c.id = record_contact_result.contact_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'contact % does not exist', record_contact_result.contact_id
      USING ERRCODE = 'no_data_found';
  END IF;
  INSERT INTO cobranca.contact_event (creditor_id, contact_id, outcome, at, details)
    VALUES (k.creditor_id, k.id, record_contact_result.outcome,
            coalesce(record_contact_result.at, pg_catalog.now()),
            coalesce(record_contact_result.details, '{}'));
  st := CASE WHEN record_contact_result.outcome IN ('no_answer', 'busy', 'wrong_number') THEN 'failed'
             WHEN record_contact_result.outcome IN ('promise_to_pay', 'refused') THEN 'done'
             ELSE record_contact_result.outcome END;
  -- a status only moves forward (a late "delivered" never undoes a "read");
  -- a cancelled contact stays cancelled
  IF k.status <> 'cancelled'
     AND pg_catalog.array_position(ranks, st) > pg_catalog.array_position(ranks, k.status) THEN
    k.status := st;
  END IF;
  UPDATE cobranca.contact c
     SET status = k.status, outcome = record_contact_result.outcome, updated_at = pg_catalog.now()
   WHERE c.id = k.id
   RETURNING c.* INTO k;
  RETURN k;
END
$$;
COMMENT ON FUNCTION cobranca.record_contact_result(bigint, text, timestamptz, jsonb) IS
  'a sender''s or analyst''s report on a contact: outcome sent, delivered, read, replied, failed, done, or a call''s no_answer, busy, wrong_number (failed), promise_to_pay, refused (done); logged in contact_event';

SELECT pg_catalog.pg_extension_config_dump('cobranca.channel_capacity', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_event', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.protocol_counter', '');

-- ==== src/sql/60_notice.sql
-- ANS RN 593/2023 (as amended by RN 617/2024) default notices and the
-- cancellation guard of Lei 9.656/98 art. 13.  See doc/rn593.md.
--
-- Facts flow one way: invoices, payments, disputes and hospitalizations are
-- written by ERPs; the jobs draft notices from them; staff confirm receipt
-- with proof; triggers keep each notice's deadline and state right; the
-- trigger on cobranca.contract refuses a suspension or cancellation the law
-- does not allow.  Every refusal of the guard uses SQLSTATE P0593.

-- ---------------------------------------------------------------------------
-- Who is subject, and the default facts

CREATE FUNCTION cobranca.rn593_subject(plan_type text, paid_by_person boolean)
  RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN plan_type IN ('individual', 'family') OR coalesce(paid_by_person, false);
COMMENT ON FUNCTION cobranca.rn593_subject(text, boolean) IS
  'true when RN 593 applies: a natural person pays the operator directly (individual or family plan, or a collective one with paid_by_person)';

-- The facts as of a local date: either one date for every payer (as_of_day)
-- or the payer's own date at an instant (as_of_instant in payer.timezone).
CREATE FUNCTION cobranca.default_facts_local(as_of_day date, as_of_instant timestamptz)
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

CREATE FUNCTION cobranca.default_facts(as_of date)
  RETURNS TABLE (contract_id bigint, creditor_id bigint, portfolio_id bigint, payer_id bigint,
                 subject boolean, unpaid_invoice_ids bigint[], unpaid_premiums integer,
                 default_since date, days_in_default integer, amount_due numeric)
  LANGUAGE sql STABLE
AS $$
  SELECT f.contract_id, f.creditor_id, f.portfolio_id, f.payer_id, f.subject, f.unpaid_invoice_ids,
         f.unpaid_premiums, f.default_since, f.days_in_default, f.amount_due
    FROM cobranca.default_facts_local(as_of, NULL) f
$$;
COMMENT ON FUNCTION cobranca.default_facts(date) IS
  'RN 593 default facts per contract with an unpaid premium as of a date (the payer''s local date): premiums unpaid within the last 12 months (paid, disputed or in-agreement ones do not count), oldest due date, days of default (as_of − oldest due date), amount';

-- ---------------------------------------------------------------------------
-- Rendering (pt-BR)

CREATE FUNCTION cobranca.notice_brl(value numeric) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN 'R$ ' || pg_catalog.translate(pg_catalog.to_char(value, 'FM999,999,999,990.00'), ',.', '.,');
COMMENT ON FUNCTION cobranca.notice_brl(numeric) IS 'an amount written the Brazilian way: R$ 1.234,56';

CREATE FUNCTION cobranca.notice_cnpj(document text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN CASE WHEN pg_catalog.length(document) = 14
              THEN pg_catalog.substr(document, 1, 2) || '.' || pg_catalog.substr(document, 3, 3) || '.'
                || pg_catalog.substr(document, 6, 3) || '/' || pg_catalog.substr(document, 9, 4) || '-'
                || pg_catalog.substr(document, 13, 2)
              ELSE document END;
COMMENT ON FUNCTION cobranca.notice_cnpj(text) IS 'a normalized CNPJ with its punctuation: 11.222.333/0001-81';

CREATE FUNCTION cobranca.notice_late_charges(balance numeric, due_on date, as_of date,
                                             fine_pct numeric, interest_month_pct numeric)
  RETURNS numeric
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN pg_catalog.round(balance * fine_pct / 100
         + balance * interest_month_pct / 100 * GREATEST(as_of - due_on, 0) / 30.0, 2);
COMMENT ON FUNCTION cobranca.notice_late_charges(numeric, date, date, numeric, numeric) IS
  'fine plus interest pro rata die on an overdue balance, within the creditor''s rates (CDC art. 52 §1º)';

CREATE FUNCTION cobranca.notice_body(contract_id bigint, invoice_ids bigint[], as_of date)
  RETURNS text
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k   record;
  i   record;
  lines text := '';
  original numeric := 0;
  updated  numeric := 0;
  channels text[] := '{}';
  since    date;
BEGIN
  SELECT c.number, c.plan_name, c.plan_ans_registry, p.name AS payer_name,
         cr.name, cr.document, cr.ans_registry, cr.address, cr.city, cr.uf, cr.pix_key,
         cr.fine_pct, cr.interest_month_pct, cr.service_phone, cr.service_email, cr.service_site
    INTO k
    FROM cobranca.contract c
    JOIN cobranca.payer p ON p.id = c.payer_id
    JOIN cobranca.creditor cr ON cr.id = c.creditor_id
   WHERE c.id = notice_body.contract_id;

  FOR i IN SELECT v.competence, v.due_on, v.amount - v.paid_total AS balance
             FROM cobranca.invoice v
            WHERE v.id = ANY (notice_body.invoice_ids)
            ORDER BY v.due_on, v.id
  LOOP
    lines := lines || format(E'  - competência %s, vencimento em %s: %s\n',
                             to_char(i.competence, 'MM/YYYY'), to_char(i.due_on, 'DD/MM/YYYY'),
                             cobranca.notice_brl(i.balance));
    original := original + i.balance;
    since := least(since, i.due_on);
    updated := updated + i.balance
               + cobranca.notice_late_charges(i.balance, i.due_on, as_of, k.fine_pct, k.interest_month_pct);
  END LOOP;

  IF k.service_phone IS NOT NULL THEN channels := channels || ('telefone ' || k.service_phone); END IF;
  IF k.service_email IS NOT NULL THEN channels := channels || ('e-mail ' || k.service_email); END IF;
  IF k.service_site IS NOT NULL THEN channels := channels || ('site ' || k.service_site); END IF;
  IF cardinality(channels) = 0 THEN channels := '{"os canais indicados no seu contrato"}'; END IF;

  RETURN format(
    E'NOTIFICAÇÃO DE INADIMPLÊNCIA (RN ANS nº 593/2023)\n\n'
    'Operadora: %s, CNPJ %s, registro ANS nº %s\n'
    'Endereço: %s\n\n'
    'Beneficiário titular: %s (e dependentes vinculados ao contrato)\n'
    'Plano: %s, registro do produto na ANS nº %s\n'
    'Contrato nº %s\n\n'
    'Prezado(a) %s,\n\n'
    'Até %s não identificamos o pagamento das seguintes mensalidades do seu plano de saúde:\n%s'
    'Período de inadimplência: desde %s (%s dias).\n'
    'Valor original em aberto: %s\n'
    'Valor total atualizado em %s, com multa de %s%% e juros de mora de %s%% ao mês pro rata die: %s\n\n'
    'Prazo para pagamento: 10 (dez) dias corridos contados do recebimento desta notificação. '
    'Se houver contestação de algum valor dentro desse prazo, o prazo de 10 (dez) dias recomeça '
    'a contar da nossa resposta.\n'
    'Como pagar: PIX (chave %s) ou boleto bancário, cuja segunda via com o valor atualizado pode ser '
    'pedida pelos nossos canais de atendimento.\n'
    'Canais de atendimento: %s.\n\n'
    'Consequência: se o débito não for pago no prazo, o contrato poderá ser suspenso ou cancelado '
    'por inadimplência (Lei nº 9.656/1998, art. 13, parágrafo único, II; RN ANS nº 593/2023). '
    'O contrato não será suspenso nem cancelado durante a internação do titular.\n'
    'Mensalidades em contestação ou incluídas em acordo não constam desta notificação. '
    'Se o pagamento já foi feito, por favor desconsidere esta mensagem e, se possível, envie-nos o comprovante.\n',
    k.name, cobranca.notice_cnpj(k.document), coalesce(k.ans_registry, 'não informado'),
    concat_ws(', ', k.address, nullif(concat_ws('/', k.city, k.uf), '')),
    k.payer_name,
    k.plan_name, coalesce(k.plan_ans_registry, 'não informado'),
    k.number,
    k.payer_name,
    to_char(as_of, 'DD/MM/YYYY'), lines,
    to_char(since, 'DD/MM/YYYY'), as_of - since,
    cobranca.notice_brl(original),
    to_char(as_of, 'DD/MM/YYYY'), translate(k.fine_pct::text, '.', ','),
    translate(k.interest_month_pct::text, '.', ','), cobranca.notice_brl(updated),
    coalesce(k.pix_key, 'informada pelos canais de atendimento'),
    array_to_string(channels, '; '));
END
$$;
COMMENT ON FUNCTION cobranca.notice_body(bigint, bigint[], date) IS
  'the pt-BR text of a default notice: operator, beneficiary, plan, each listed premium, updated total, deadline rule, payment means, service channels, consequence; reads no health data';

-- ---------------------------------------------------------------------------
-- Drafting

CREATE FUNCTION cobranca.notices_draft(as_of_day date, as_of_instant timestamptz) RETURNS integer
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

CREATE FUNCTION cobranca.generate_notices(as_of date) RETURNS integer
  LANGUAGE sql
  RETURN cobranca.notices_draft(as_of, NULL);
COMMENT ON FUNCTION cobranca.generate_notices(date) IS
  'drafts one notice per RN 593 contract in default (at least two premiums unpaid within 12 months) that reached its creditor''s notice_day of default and has no live notice; idempotent and safe to run concurrently; returns how many were drafted';

CREATE FUNCTION cobranca.draft_notices(as_of timestamptz) RETURNS bigint
  LANGUAGE sql
  RETURN cobranca.notices_draft(NULL, as_of);
COMMENT ON FUNCTION cobranca.draft_notices(timestamptz) IS
  'job draft_notices: generate_notices at each payer''s local date of the instant; returns how many were drafted';

-- ---------------------------------------------------------------------------
-- Proof of receipt and failed attempts (RN 593 art. 8)

CREATE FUNCTION cobranca.notice_jsonb_present(value jsonb) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE pg_catalog.jsonb_typeof(value)
           WHEN 'string' THEN pg_catalog.btrim(value #>> '{}') <> ''
           WHEN 'object' THEN value <> '{}'::jsonb
           WHEN 'array' THEN pg_catalog.jsonb_array_length(value) > 0
           WHEN 'boolean' THEN value = 'true'::jsonb
           WHEN 'number' THEN true
           ELSE false END;
COMMENT ON FUNCTION cobranca.notice_jsonb_present(jsonb) IS
  'true when a proof value is given: a non-blank string, a non-empty object or array, true, or a number';

CREATE FUNCTION cobranca.notice_proof_valid(channel text, proof jsonb) RETURNS boolean
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
COMMENT ON FUNCTION cobranca.notice_proof_valid(text, jsonb) IS
  'true when proof holds what RN 593 art. 8 requires for the channel; otherwise raises 22023 (unknown channel) or 23514 naming the missing key';

-- The payer's registered channels, each with the attempt channels that
-- exhaust it.
CREATE FUNCTION cobranca.notice_attempts_last(payer_id bigint, attempts jsonb) RETURNS timestamptz
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
COMMENT ON FUNCTION cobranca.notice_attempts_last(bigint, jsonb) IS
  'validates failed attempts against the payer''s registered channels (email; phone, by phone, ivr or sms; whatsapp; address, by letter or agent) and returns the last attempt; raises 22023 or 23514';

-- ---------------------------------------------------------------------------
-- The notice's own trigger: states, evidence and the computed deadline

CREATE FUNCTION cobranca.default_notice_before() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
  tz        text;
  start_on  date;
  deadline  date;
  d         record;
  allowed   text[];
  fresh     boolean;
BEGIN
  SELECT p.timezone INTO tz
    FROM cobranca.contract c JOIN cobranca.payer p ON p.id = c.payer_id
   WHERE c.id = NEW.contract_id;

  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'draft' OR NEW.confirmed_at IS NOT NULL OR NEW.attempts IS NOT NULL THEN
      -- a superuser loading notices as recorded (pg_restore, a migration):
      -- their evidence and deadline were checked when they were recorded
      IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user) THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'a default notice starts as a draft'
        USING ERRCODE = '55000',
              DETAIL = format('default_notice.status = %s on insert.', NEW.status),
              HINT = 'Confirm it afterwards with cobranca.confirm_notice() or cobranca.notice_unreachable().';
    END IF;
  ELSE
    IF NEW.status IS DISTINCT FROM OLD.status THEN
      allowed := CASE OLD.status
                   WHEN 'draft'       THEN '{sent,confirmed,unreachable,cured,void}'
                   WHEN 'sent'        THEN '{confirmed,unreachable,cured,void}'
                   WHEN 'confirmed'   THEN '{expired,cured,void}'
                   WHEN 'unreachable' THEN '{expired,cured,void}'
                   WHEN 'expired'     THEN '{cured,void}'
                   ELSE '{}' END;
      IF NOT NEW.status = ANY (allowed) THEN
        RAISE EXCEPTION 'default notice % cannot go from % to %', OLD.id, OLD.status, NEW.status
          USING ERRCODE = '55000',
                DETAIL = format('from %s a notice may become: %s.', OLD.status,
                                coalesce(nullif(array_to_string(allowed, ', '), ''), 'nothing (final)'));
      END IF;
      IF NEW.status IN ('cured', 'expired', 'void') THEN
        NEW.closed_at := now();
      END IF;
    ELSIF OLD.status IN ('cured', 'void') THEN
      RAISE EXCEPTION 'default notice % is %, a final state', OLD.id, OLD.status USING ERRCODE = '55000';
    END IF;
    IF OLD.status <> 'draft'
       AND (NEW.invoice_ids IS DISTINCT FROM OLD.invoice_ids OR NEW.amount_due IS DISTINCT FROM OLD.amount_due
            OR NEW.body IS DISTINCT FROM OLD.body OR NEW.default_since IS DISTINCT FROM OLD.default_since
            OR NEW.contract_id IS DISTINCT FROM OLD.contract_id OR NEW.drafted_on IS DISTINCT FROM OLD.drafted_on) THEN
      RAISE EXCEPTION 'default notice % was already %: its content is evidence and cannot change', OLD.id, OLD.status
        USING ERRCODE = '55000';
    END IF;
    IF OLD.status IN ('confirmed', 'unreachable', 'expired')
       AND (NEW.channel IS DISTINCT FROM OLD.channel OR NEW.confirmed_at IS DISTINCT FROM OLD.confirmed_at
            OR NEW.proof IS DISTINCT FROM OLD.proof OR NEW.attempts IS DISTINCT FROM OLD.attempts) THEN
      RAISE EXCEPTION 'default notice % was already %: its evidence cannot change', OLD.id, OLD.status
        USING ERRCODE = '55000';
    END IF;
  END IF;

  -- when the 10 days start; the evidence is checked when it is given
  fresh := TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status;
  IF NEW.status = 'confirmed' OR (NEW.status IN ('expired', 'cured', 'void') AND NEW.confirmed_at IS NOT NULL) THEN
    IF NEW.confirmed_at IS NULL THEN
      RAISE EXCEPTION 'a confirmed notice needs confirmed_at' USING ERRCODE = '23502';
    END IF;
    IF fresh AND NEW.status = 'confirmed' THEN
      PERFORM cobranca.notice_proof_valid(NEW.channel, NEW.proof);
    END IF;
    start_on := (NEW.confirmed_at AT TIME ZONE tz)::date;
  ELSIF NEW.status = 'unreachable' OR (NEW.status IN ('expired', 'cured', 'void') AND NEW.attempts IS NOT NULL) THEN
    IF fresh AND NEW.status = 'unreachable' THEN
      PERFORM cobranca.notice_attempts_last(
                (SELECT c.payer_id FROM cobranca.contract c WHERE c.id = NEW.contract_id), NEW.attempts);
    END IF;
    start_on := (SELECT max(((e ->> 'at')::timestamptz AT TIME ZONE tz)::date)
                   FROM jsonb_array_elements(NEW.attempts) e);
  ELSIF NEW.confirmed_at IS NOT NULL OR NEW.attempts IS NOT NULL OR NEW.channel IS NOT NULL THEN
    RAISE EXCEPTION 'default notice % is %: it has no confirmation', NEW.id, NEW.status
      USING ERRCODE = '55000',
            HINT = 'Use cobranca.confirm_notice() or cobranca.notice_unreachable().';
  END IF;
  IF start_on IS NOT NULL AND start_on < NEW.drafted_on THEN
    RAISE EXCEPTION 'notice % confirmed before it was drafted', NEW.id
      USING ERRCODE = '22023',
            DETAIL = format('confirmation or last attempt on %s (time zone %s); notice drafted on %s.',
                            start_on, tz, NEW.drafted_on);
  END IF;

  -- the deadline: start + 10 days, moved to answer + 10 days by each dispute
  -- on a listed premium that was pending during the term; unknown (null)
  -- while such a dispute is unanswered
  IF start_on IS NOT NULL THEN
    deadline := start_on + 10;
    FOR d IN SELECT x.opened_on, x.answered_on
               FROM cobranca.dispute x
              WHERE x.invoice_id = ANY (NEW.invoice_ids)
                AND (x.answered_on IS NULL OR x.answered_on >= start_on)
              ORDER BY x.opened_on, x.id
    LOOP
      EXIT WHEN d.opened_on > deadline;
      IF d.answered_on IS NULL THEN
        deadline := NULL;
        EXIT;
      END IF;
      deadline := greatest(deadline, d.answered_on + 10);
    END LOOP;
  END IF;

  IF NEW.deadline_on IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.deadline_on END)
     AND NEW.deadline_on IS DISTINCT FROM deadline THEN
    RAISE EXCEPTION 'default_notice.deadline_on is computed, not written'
      USING ERRCODE = '428C9',
            DETAIL = format('deadline_on = %s given; the notice''s facts make it %s.',
                            coalesce(NEW.deadline_on::text, 'null'), coalesce(deadline::text, 'null')),
            HINT = 'The deadline is the confirmation date (or last failed attempt) + 10 days, or a dispute answer + 10 days.';
  END IF;
  NEW.term_start_on := start_on;
  NEW.deadline_on := deadline;
  NEW.confirmed_by_day_50 := CASE WHEN start_on IS NOT NULL THEN start_on <= NEW.default_since + 50 END;
  IF TG_OP = 'UPDATE' AND ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION cobranca.default_notice_before() IS
  'trigger: notice state machine, proof of receipt, frozen evidence, and the computed term start, deadline and day-50 flag';

CREATE TRIGGER default_notice_before
  BEFORE INSERT OR UPDATE ON cobranca.default_notice
  FOR EACH ROW EXECUTE FUNCTION cobranca.default_notice_before();

-- ---------------------------------------------------------------------------
-- Staff API

CREATE FUNCTION cobranca.notice_for_update(notice_id bigint) RETURNS cobranca.default_notice
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n cobranca.default_notice;
BEGIN
  SELECT * INTO n FROM cobranca.default_notice WHERE id = notice_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'default notice % does not exist', coalesce(notice_id::text, 'null')
      USING ERRCODE = 'P0002';
  END IF;
  IF n.status NOT IN ('draft', 'sent') THEN
    RAISE EXCEPTION 'default notice % is already %', notice_id, n.status
      USING ERRCODE = '55000',
            DETAIL = format('status = %s; only a draft or sent notice can be confirmed or closed as unreachable.', n.status),
            HINT = 'An old notice never serves a new default: the jobs draft a new one.';
  END IF;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cobranca.notice_for_update(bigint) IS
  'locks a draft or sent notice for confirmation; raises P0002 or 55000 otherwise';

CREATE FUNCTION cobranca.confirm_notice(notice_id bigint, channel text, confirmed_at timestamptz, proof jsonb)
  RETURNS date
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  deadline date;
BEGIN
  PERFORM cobranca.notice_for_update(notice_id);
  IF confirmed_at IS NULL OR confirmed_at > now() THEN
    RAISE EXCEPTION 'invalid confirmation time for notice %', notice_id
      USING ERRCODE = '22023',
            DETAIL = format('confirmed_at = %s must be given and not in the future.', coalesce(confirmed_at::text, 'null'));
  END IF;
  PERFORM cobranca.notice_proof_valid(channel, proof);
  UPDATE cobranca.default_notice n
     SET status = 'confirmed', channel = confirm_notice.channel,
         confirmed_at = confirm_notice.confirmed_at, proof = confirm_notice.proof
   WHERE n.id = notice_id
  RETURNING n.deadline_on INTO deadline;
  RETURN deadline;
END
$$;
COMMENT ON FUNCTION cobranca.confirm_notice(bigint, text, timestamptz, jsonb) IS
  'records receipt of a notice with its proof (RN 593 art. 8) and returns the deadline: confirmation date in the payer''s time zone + 10 days';

CREATE FUNCTION cobranca.notice_unreachable(notice_id bigint, attempts jsonb) RETURNS date
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  deadline date;
BEGIN
  PERFORM cobranca.notice_for_update(notice_id);
  UPDATE cobranca.default_notice n
     SET status = 'unreachable', attempts = notice_unreachable.attempts
   WHERE n.id = notice_id
  RETURNING n.deadline_on INTO deadline;
  RETURN deadline;
END
$$;
COMMENT ON FUNCTION cobranca.notice_unreachable(bigint, jsonb) IS
  'closes a notice as unreachable when every registered channel of the payer has a failed attempt; returns the deadline: last attempt''s local date + 10 days';

-- ---------------------------------------------------------------------------
-- Facts that change a running notice

-- A premium leaving the open debt: paid, cancelled or written off cures the
-- notice once fewer than two listed premiums remain unpaid; covered by an
-- agreement voids it.
CREATE FUNCTION cobranca.notice_invoice_status() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NEW.status = 'in_agreement' THEN
    UPDATE cobranca.default_notice n SET status = 'void'
     WHERE n.invoice_ids @> ARRAY[NEW.id]
       AND n.status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired');
  ELSIF NEW.status IN ('paid', 'cancelled', 'written_off') THEN
    UPDATE cobranca.default_notice n SET status = 'cured'
     WHERE n.invoice_ids @> ARRAY[NEW.id]
       AND n.status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired')
       AND (SELECT count(*) FROM cobranca.invoice i
             WHERE i.id = ANY (n.invoice_ids) AND i.status IN ('open', 'disputed', 'in_agreement')) < 2;
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.notice_invoice_status() IS
  'trigger: a listed premium paid, cancelled or written off cures its notice when fewer than two listed premiums stay unpaid; one entering an agreement voids it';

-- Not UPDATE OF status: the bookkeeping triggers change status without the
-- column being named in the ERP's UPDATE.
CREATE TRIGGER notice_invoice_status
  AFTER UPDATE ON cobranca.invoice
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status
        AND NEW.kind = 'premium'
        AND NEW.status IN ('paid', 'cancelled', 'written_off', 'in_agreement'))
  EXECUTE FUNCTION cobranca.notice_invoice_status();

-- A dispute opened or answered on a listed premium: the notice's trigger
-- recomputes the deadline.
CREATE FUNCTION cobranca.notice_dispute() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE cobranca.default_notice n SET deadline_on = n.deadline_on   -- recomputed by its trigger
   WHERE n.invoice_ids @> ARRAY[NEW.invoice_id]
     AND n.status IN ('confirmed', 'unreachable');
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.notice_dispute() IS
  'trigger: a dispute on a listed premium moves the running notice''s deadline (answer + 10 days)';

CREATE TRIGGER notice_dispute
  AFTER INSERT ON cobranca.dispute
  FOR EACH ROW EXECUTE FUNCTION cobranca.notice_dispute();

CREATE TRIGGER notice_dispute_change
  AFTER UPDATE ON cobranca.dispute
  FOR EACH ROW
  WHEN (OLD.opened_on IS DISTINCT FROM NEW.opened_on OR OLD.answered_on IS DISTINCT FROM NEW.answered_on
        OR OLD.invoice_id IS DISTINCT FROM NEW.invoice_id)
  EXECUTE FUNCTION cobranca.notice_dispute();

-- ---------------------------------------------------------------------------
-- Expiry

CREATE FUNCTION cobranca.expire_notices(as_of timestamptz) RETURNS bigint
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

-- ---------------------------------------------------------------------------
-- The cancellation guard

CREATE FUNCTION cobranca.cancellation_check(contract_id bigint, reason text, as_of date)
  RETURNS TABLE (condition text, message text, detail text, notice_id bigint, notice_status text,
                 deadline_on date, unpaid_invoice_ids bigint[], unpaid_premiums integer,
                 default_since date, days_in_default integer, amount_due numeric)
  LANGUAGE plpgsql STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
  c   record;
  n   record;
  pending record;
  x   record;
BEGIN
  SELECT * INTO c FROM cobranca.contract k WHERE k.id = cancellation_check.contract_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'contract % does not exist', contract_id USING ERRCODE = 'P0002';
  END IF;
  condition := 'ok';

  IF reason = 'default' AND cobranca.rn593_subject(c.plan_type, c.paid_by_person) THEN
    -- 1. a confirmed (or unreachable) notice for this default, deadline passed
    SELECT * INTO n FROM cobranca.default_notice dn
     WHERE dn.contract_id = c.id AND dn.status IN ('confirmed', 'unreachable', 'expired')
     ORDER BY dn.id DESC LIMIT 1;
    IF NOT FOUND THEN
      SELECT dn.id, dn.status INTO pending FROM cobranca.default_notice dn
       WHERE dn.contract_id = c.id AND dn.status IN ('draft', 'sent') ORDER BY dn.id DESC LIMIT 1;
      condition := 'notice';
      message := format('no confirmed default notice for the current default of contract %s', c.id);
      detail := CASE WHEN pending.id IS NOT NULL
                     THEN format('notice %s is %s, not confirmed nor closed as unreachable.', pending.id, pending.status)
                     ELSE 'no live notice: an earlier one was cured or voided, or none was drafted; a new default needs a new notice.' END;
      RETURN NEXT; RETURN;
    END IF;
    notice_id := n.id; notice_status := n.status; deadline_on := n.deadline_on;
    IF n.deadline_on IS NULL THEN
      condition := 'deadline';
      message := format('deadline of notice %s is open: a dispute on a listed premium awaits its answer', n.id);
      detail := format('the term started on %s; the deadline will be the answer date + 10 days.', n.term_start_on);
      RETURN NEXT; RETURN;
    END IF;
    IF n.deadline_on >= as_of THEN
      condition := 'deadline';
      message := format('deadline %s not reached', n.deadline_on);
      detail := format('notice %s, term started on %s; today is %s; suspension or cancellation is possible from %s.',
                       n.id, n.term_start_on, as_of, n.deadline_on + 1);
      RETURN NEXT; RETURN;
    END IF;

    -- 2. still at least two listed premiums unpaid within 12 months, > 60 days
    SELECT array_agg(i.id ORDER BY i.due_on, i.id), count(*)::integer, min(i.due_on),
           sum(i.amount - i.paid_total)
      INTO unpaid_invoice_ids, unpaid_premiums, default_since, amount_due
      FROM cobranca.invoice i
     WHERE i.id = ANY (n.invoice_ids)
       AND i.status IN ('open', 'disputed', 'in_agreement')
       AND i.due_on >= (as_of - '12 months'::interval)::date;
    days_in_default := as_of - default_since;
    IF unpaid_premiums < 2 THEN
      condition := 'default';
      message := format('%s listed premium(s) unpaid within the last 12 months, at least 2 required', unpaid_premiums);
      detail := format('notice %s listed invoices %s; unpaid within 12 months of %s: %s.', n.id, n.invoice_ids, as_of,
                       coalesce(unpaid_invoice_ids::text, '{}'));
      RETURN NEXT; RETURN;
    END IF;
    IF days_in_default <= 60 THEN
      condition := 'default';
      message := format('%s days of default, more than 60 required', days_in_default);
      detail := format('oldest unpaid listed premium due on %s; today is %s.', default_since, as_of);
      RETURN NEXT; RETURN;
    END IF;

    -- 3. no agreement covering them
    SELECT i.id, i.agreement_id INTO x FROM cobranca.invoice i
     WHERE i.id = ANY (unpaid_invoice_ids) AND (i.status = 'in_agreement' OR i.agreement_id IS NOT NULL)
     ORDER BY i.id LIMIT 1;
    IF FOUND THEN
      condition := 'agreement';
      message := format('premium %s is covered by an agreement', x.id);
      detail := format('invoice %s, agreement %s: a renegotiated debt cannot ground a cancellation.', x.id,
                       coalesce(x.agreement_id::text, 'unknown'));
      RETURN NEXT; RETURN;
    END IF;

    -- 4. no open dispute on them
    SELECT i.id, (SELECT min(d.opened_on) FROM cobranca.dispute d
                   WHERE d.invoice_id = i.id AND d.answered_on IS NULL) AS opened_on
      INTO x FROM cobranca.invoice i
     WHERE i.id = ANY (unpaid_invoice_ids)
       AND (i.status = 'disputed' OR i.open_disputes > 0
            OR EXISTS (SELECT 1 FROM cobranca.dispute d WHERE d.invoice_id = i.id AND d.answered_on IS NULL))
     ORDER BY i.id LIMIT 1;
    IF FOUND THEN
      condition := 'dispute';
      message := format('premium %s has an open dispute', x.id);
      detail := format('invoice %s disputed since %s, unanswered.', x.id, coalesce(x.opened_on::text, 'unknown'));
      RETURN NEXT; RETURN;
    END IF;
  END IF;

  -- 5. whatever the reason: never during the holder's hospitalization
  IF EXISTS (SELECT 1 FROM cobranca.hospitalization h
              WHERE h.contract_id = c.id AND h.discharged_on IS NULL AND h.admitted_on <= as_of) THEN
    condition := 'hospitalization';
    message := format('the holder of contract %s is in hospital', c.id);
    detail := 'an open hospitalization forbids suspension or cancellation for any reason (Lei 9.656/98 art. 13 par. único III).';
    RETURN NEXT; RETURN;
  END IF;

  message := 'suspension or cancellation allowed';
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION cobranca.cancellation_check(bigint, text, date) IS
  'evaluates, as of a local date, whether a contract may be suspended or cancelled for a reason; condition is ok or the first failing one (notice, deadline, default, agreement, dispute, hospitalization) with its facts';

CREATE FUNCTION cobranca.contract_guard() RETURNS trigger
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

CREATE TRIGGER contract_guard
  BEFORE UPDATE ON cobranca.contract
  FOR EACH ROW
  WHEN (NEW.status IN ('suspended', 'cancelled')
        AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.status_reason IS DISTINCT FROM NEW.status_reason))
  EXECUTE FUNCTION cobranca.contract_guard();

CREATE VIEW cobranca.cancellation_eligible WITH (security_invoker = true) AS
SELECT c.id AS contract_id, c.creditor_id, c.portfolio_id, c.payer_id, c.number, c.status,
       k.notice_id, k.notice_status, n.channel, n.term_start_on, k.deadline_on,
       k.unpaid_invoice_ids, k.unpaid_premiums, k.default_since, k.days_in_default, k.amount_due,
       t.today AS as_of
  FROM cobranca.default_notice n
  JOIN cobranca.contract c ON c.id = n.contract_id
  JOIN cobranca.payer p ON p.id = c.payer_id
 CROSS JOIN LATERAL (SELECT (pg_catalog.now() AT TIME ZONE p.timezone)::date AS today) t
 CROSS JOIN LATERAL cobranca.cancellation_check(c.id, 'default', t.today) k
 WHERE n.status IN ('confirmed', 'unreachable', 'expired')
   AND c.status IN ('active', 'suspended')
   AND cobranca.rn593_subject(c.plan_type, c.paid_by_person)
   AND k.condition = 'ok';
COMMENT ON VIEW cobranca.cancellation_eligible IS
  'contracts that may be suspended or cancelled for default today (payer''s time zone): notice deadline passed, debt unpaid, no agreement, dispute or hospitalization';
COMMENT ON COLUMN cobranca.cancellation_eligible.contract_id IS 'the contract';
COMMENT ON COLUMN cobranca.cancellation_eligible.creditor_id IS 'its creditor';
COMMENT ON COLUMN cobranca.cancellation_eligible.portfolio_id IS 'its portfolio';
COMMENT ON COLUMN cobranca.cancellation_eligible.payer_id IS 'the payer (holder)';
COMMENT ON COLUMN cobranca.cancellation_eligible.number IS 'contract number';
COMMENT ON COLUMN cobranca.cancellation_eligible.status IS 'contract status: active, or suspended (may still be cancelled)';
COMMENT ON COLUMN cobranca.cancellation_eligible.notice_id IS 'the notice whose deadline passed';
COMMENT ON COLUMN cobranca.cancellation_eligible.notice_status IS 'confirmed, unreachable or expired';
COMMENT ON COLUMN cobranca.cancellation_eligible.channel IS 'channel of the confirmation (null when unreachable)';
COMMENT ON COLUMN cobranca.cancellation_eligible.term_start_on IS 'date the 10 days started';
COMMENT ON COLUMN cobranca.cancellation_eligible.deadline_on IS 'last day of the term (passed)';
COMMENT ON COLUMN cobranca.cancellation_eligible.unpaid_invoice_ids IS 'listed premiums still unpaid within 12 months';
COMMENT ON COLUMN cobranca.cancellation_eligible.unpaid_premiums IS 'how many (at least 2)';
COMMENT ON COLUMN cobranca.cancellation_eligible.default_since IS 'due date of the oldest of them';
COMMENT ON COLUMN cobranca.cancellation_eligible.days_in_default IS 'days of default today (more than 60)';
COMMENT ON COLUMN cobranca.cancellation_eligible.amount_due IS 'their unpaid balance, BRL, without fine and interest';
COMMENT ON COLUMN cobranca.cancellation_eligible.as_of IS 'today in the payer''s time zone';

-- ---------------------------------------------------------------------------
-- Jobs and privileges

INSERT INTO cobranca.job (name, position, function, description) VALUES
  ('draft_notices', 10, 'cobranca.draft_notices(timestamptz)',
   'draft RN 593 default notices for contracts that reached the notice day of default'),
  ('expire_notices', 20, 'cobranca.expire_notices(timestamptz)',
   'expire notices whose 10-day term passed unpaid (they show in cancellation_eligible)');

REVOKE ALL ON FUNCTION cobranca.notices_draft(date, timestamptz), cobranca.generate_notices(date),
  cobranca.draft_notices(timestamptz), cobranca.expire_notices(timestamptz),
  cobranca.confirm_notice(bigint, text, timestamptz, jsonb), cobranca.notice_unreachable(bigint, jsonb),
  cobranca.cancellation_check(bigint, text, date), cobranca.notice_for_update(bigint)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.notices_draft(date, timestamptz), cobranca.generate_notices(date),
  cobranca.draft_notices(timestamptz), cobranca.expire_notices(timestamptz) TO cobranca_admin;
GRANT EXECUTE ON FUNCTION cobranca.confirm_notice(bigint, text, timestamptz, jsonb),
  cobranca.notice_unreachable(bigint, jsonb), cobranca.notice_for_update(bigint),
  cobranca.cancellation_check(bigint, text, date)
  TO cobranca_legal, cobranca_supervisor, cobranca_admin;
GRANT SELECT ON cobranca.cancellation_eligible TO cobranca_legal, cobranca_supervisor, cobranca_admin;

COMMENT ON TRIGGER default_notice_before ON cobranca.default_notice IS
  'notice state machine, proof of receipt, frozen evidence, computed deadline';
COMMENT ON TRIGGER notice_invoice_status ON cobranca.invoice IS
  'a listed premium paid, cancelled or written off cures the notice; in agreement voids it';
COMMENT ON TRIGGER notice_dispute ON cobranca.dispute IS
  'a dispute on a listed premium moves the running notice''s deadline';
COMMENT ON TRIGGER notice_dispute_change ON cobranca.dispute IS
  'a dispute''s answer on a listed premium moves the running notice''s deadline';
COMMENT ON TRIGGER contract_guard ON cobranca.contract IS
  'RN 593 / Lei 9.656 art. 13 guard on suspension and cancellation (SQLSTATE P0593)';

-- ==== src/sql/70_money_score.sql
-- Money (money.c) and scoring (score.c): updated amounts, installment
-- schedules, payment codes, the payment-probability model and priority.

------------------------------------------------------------------ money

CREATE FUNCTION cobranca.late_charges(
    balance numeric, due_on date, as_of date, fine_pct numeric,
    interest_month_pct numeric, disputed_days integer DEFAULT 0,
    disputed boolean DEFAULT false,
    OUT principal numeric, OUT fine numeric, OUT interest numeric, OUT total numeric)
  AS 'MODULE_PATHNAME', 'cobranca_late_charges'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.late_charges(numeric, date, date, numeric, numeric, integer, boolean) IS
  'late charges on a balance: fine once (capped at 2%, none while disputed), simple interest pro rata die (capped at 1% a month, 30-day month) over the days after due_on up to as_of minus disputed_days; each rounded to the cent half-even';

-- Fine and interest of invoices as of a day: the one definition used by
-- updated_amount, the scores and the agreements.  Days on which a dispute
-- was open earn no interest, and no fine is due while one is open (a
-- disputed invoice's days do not count towards default, SPEC §2.1).
CREATE FUNCTION cobranca.invoice_charges(invoice_ids bigint[], as_of date)
  RETURNS TABLE (invoice_id bigint, principal numeric, fine numeric,
                 interest numeric, total numeric)
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT i.id, c.principal, c.fine, c.interest, c.total
    FROM cobranca.invoice i
    JOIN cobranca.creditor cr ON cr.id = i.creditor_id
    CROSS JOIN LATERAL (
      SELECT (SELECT coalesce(sum(upper(r) - lower(r)), 0)
                FROM pg_catalog.unnest(a.spans) r)::integer AS days,
             a.open_now
        FROM (SELECT pg_catalog.range_agg(
                       pg_catalog.daterange(d.opened_on, greatest(d.opened_on, coalesce(d.answered_on, as_of + 1)))
                       * pg_catalog.daterange(i.due_on + 1, greatest(i.due_on, as_of) + 1)) AS spans,
                     coalesce(bool_or(d.opened_on <= as_of
                                      AND (d.answered_on IS NULL OR d.answered_on > as_of)),
                              false) AS open_now
                FROM cobranca.dispute d
               WHERE d.invoice_id = i.id) a
    ) dd
    CROSS JOIN LATERAL cobranca.late_charges(
        CASE WHEN i.status = 'cancelled' THEN 0 ELSE i.balance END,
        i.due_on, as_of, cr.fine_pct, cr.interest_month_pct,
        dd.days, dd.open_now) c
   WHERE i.id = ANY (invoice_ids)
$$;
COMMENT ON FUNCTION cobranca.invoice_charges(bigint[], date) IS
  'principal (balance; 0 if cancelled), fine, interest and total of the given invoices as of a day, with the creditor''s rates within the legal caps and no charges for disputed days';

CREATE FUNCTION cobranca.updated_amount_breakdown(invoice_id bigint, as_of date DEFAULT CURRENT_DATE,
    OUT principal numeric, OUT fine numeric, OUT interest numeric, OUT total numeric)
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT c.principal, c.fine, c.interest, c.total
    FROM cobranca.invoice_charges(ARRAY[invoice_id], as_of) c
$$;
COMMENT ON FUNCTION cobranca.updated_amount_breakdown(bigint, date) IS
  'the updated amount of an invoice in parts: principal (balance), fine, interest and total; no row for an unknown invoice';

CREATE FUNCTION cobranca.updated_amount(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS numeric
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT c.total FROM cobranca.invoice_charges(ARRAY[invoice_id], as_of) c
$$;
COMMENT ON FUNCTION cobranca.updated_amount(bigint, date) IS
  'valor total atualizado: balance + fine + interest as of a day (SPEC §2.2); what the payer is told';

CREATE FUNCTION cobranca.split_amount(total numeric, installments integer) RETURNS numeric[]
  AS 'MODULE_PATHNAME', 'cobranca_split_amount'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.split_amount(numeric, integer) IS
  'total split in equal installments to the cent, the rounding remainder on the first; they sum to the total exactly';

CREATE FUNCTION cobranca.installment_schedule(total numeric, installments integer, first_due date)
  RETURNS TABLE (n integer, due_on date, amount numeric)
  AS 'MODULE_PATHNAME', 'cobranca_installment_schedule'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 12;
COMMENT ON FUNCTION cobranca.installment_schedule(numeric, integer, date) IS
  'monthly installments from first_due (same day of month, clamped to its end), each due date moved to the next bank business day (no weekend, national holiday, Good Friday or Corpus Christi); amounts as split_amount';

CREATE FUNCTION cobranca.crc16_ccitt(data text) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_crc16_ccitt'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.crc16_ccitt(text) IS
  'CRC16-CCITT-FALSE (poly 0x1021, init 0xFFFF) of the text''s bytes, 4 upper-case hex digits: the PIX BR Code checksum';

CREATE FUNCTION cobranca.pix_payload(key text, merchant_name text, city text,
                                     amount numeric DEFAULT NULL, txid text DEFAULT NULL)
  RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_pix_payload'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.pix_payload(text, text, text, numeric, text) IS
  'static PIX BR Code ("copia e cola"): EMV fields 00, 26 (br.gov.bcb.pix + key), 52, 53 (986), 54 (amount, if any), 58, 59 (name, 25 chars, no accents), 60 (city, 15), 62/05 (txid or ***), 63 CRC16';

CREATE FUNCTION cobranca.invoice_pix(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS text
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  amount numeric;
BEGIN
  SELECT i.id, i.status, cr.name, cr.city, cr.pix_key, cr.id AS creditor_id
    INTO r
    FROM cobranca.invoice i JOIN cobranca.creditor cr ON cr.id = i.creditor_id
   WHERE i.id = invoice_pix.invoice_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invoice % does not exist', invoice_pix.invoice_id
      USING ERRCODE = 'no_data_found';
  END IF;
  IF r.pix_key IS NULL OR r.city IS NULL THEN
    RAISE EXCEPTION 'creditor % has no PIX key or no city', r.creditor_id
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('creditor.pix_key is %s, creditor.city is %s.',
                                       coalesce(r.pix_key, 'null'), coalesce(r.city, 'null')),
            HINT = 'Set cobranca.creditor.pix_key and city.';
  END IF;
  IF r.status NOT IN ('open', 'disputed') THEN
    RAISE EXCEPTION 'invoice % is %: nothing to pay by PIX', r.id, r.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  amount := cobranca.updated_amount(r.id, as_of);
  IF amount <= 0 THEN
    RAISE EXCEPTION 'invoice % has no balance', r.id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN cobranca.pix_payload(r.pix_key, r.name, r.city, amount, 'COB' || r.id::text);
END
$$;
COMMENT ON FUNCTION cobranca.invoice_pix(bigint, date) IS
  'PIX copia-e-cola of an open invoice: the creditor''s key, name and city, the updated amount as of the day, txid COB<invoice id>';

CREATE FUNCTION cobranca.boleto_line_valid(line text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_boleto_line_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.boleto_line_valid(text) IS
  'true when a boleto''s linha digitável (47 digits; dots and blanks allowed) has valid mod-10 digits in fields 1-3 and a valid mod-11 general digit';

CREATE FUNCTION cobranca.boleto_due_date(line text, reference date DEFAULT CURRENT_DATE) RETURNS date
  AS 'MODULE_PATHNAME', 'cobranca_boleto_due_date'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.boleto_due_date(text, date) IS
  'due date read from a boleto''s due factor (days since 1997-10-07, restarted at 1000 on 2025-02-22: the reading nearer the reference date wins); NULL for factor 0000; error for an invalid line';

---------------------------------------------------------------- scoring

CREATE FUNCTION cobranca.logistic(coefficients float8[], x float8[]) RETURNS float8
  AS 'MODULE_PATHNAME', 'cobranca_logistic'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.logistic(float8[], float8[]) IS
  'logistic model: 1 / (1 + exp(-(coefficients[1] + sum coefficients[j+1] * x[j]))), the intercept first';

CREATE FUNCTION cobranca.logistic_fit_trans(internal, float8[], boolean, float8) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_logistic_fit_trans'
  LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.logistic_fit_trans(internal, float8[], boolean, float8) IS
  'transition function of cobranca.logistic_fit';
CREATE FUNCTION cobranca.logistic_fit_final(internal) RETURNS float8[]
  AS 'MODULE_PATHNAME', 'cobranca_logistic_fit_final'
  LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.logistic_fit_final(internal) IS
  'final function of cobranca.logistic_fit: runs the Newton iterations';
CREATE AGGREGATE cobranca.logistic_fit(x float8[], y boolean, lambda float8) (
  SFUNC = cobranca.logistic_fit_trans, STYPE = internal,
  FINALFUNC = cobranca.logistic_fit_final);
COMMENT ON AGGREGATE cobranca.logistic_fit(float8[], boolean, float8) IS
  'fits a logistic regression by Newton''s method (IRLS) with L2 penalty lambda on all but the intercept; returns the coefficients, intercept first';

CREATE FUNCTION cobranca.auc_trans(internal, float8, boolean) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_auc_trans'
  LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.auc_trans(internal, float8, boolean) IS
  'transition function of cobranca.auc';
CREATE FUNCTION cobranca.auc_final(internal) RETURNS float8
  AS 'MODULE_PATHNAME', 'cobranca_auc_final'
  LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.auc_final(internal) IS
  'final function of cobranca.auc';
CREATE AGGREGATE cobranca.auc(score float8, label boolean) (
  SFUNC = cobranca.auc_trans, STYPE = internal, FINALFUNC = cobranca.auc_final);
COMMENT ON AGGREGATE cobranca.auc(float8, boolean) IS
  'area under the ROC curve: chance that a random positive scores above a random negative (ties one half); NULL if a class is missing';

CREATE FUNCTION cobranca.priority_value(probability float8, updated_amount numeric, due_on date,
                                        limitation_on date, as_of date, rn593 boolean,
                                        notice_day integer) RETURNS numeric
  AS 'MODULE_PATHNAME', 'cobranca_priority_value'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.priority_value(float8, numeric, date, date, date, boolean, integer) IS
  'probability x updated amount, raised up to +100% in the last year before limitation_on (0 after it) and up to +50% from 15 days before the RN 593 notice day to day 50 of default; in BRL cents';

-- The features of the model.  This pair of functions is the ONE place
-- where they are defined: names here, values in score_features below, in
-- the same order.  Health data (claims, hospitalizations, procedures,
-- diagnoses) is never a feature: LGPD art. 11 §5 forbids operators to use
-- it to select risks (test/pgtap/score_features.sql checks it).
CREATE FUNCTION cobranca.score_feature_names() RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ARRAY[
    'days_overdue_log',            -- ln(1 + days past due)
    'amount_log',                  -- ln(1 + amount billed)
    'kind_copay',                  -- invoice kind (premium is the base)
    'kind_private',
    'kind_disallowance',
    'kind_installment',
    'late_invoices_12m',           -- payer's other invoices due in the last 12 months paid late or unpaid
    'mean_months_late_12m',        -- their mean delay, in 30-day months
    'open_disputes',               -- payer's disputes open on the day
    'plan_family',                 -- contract type (individual is the base)
    'plan_collective_membership',
    'plan_collective_business',
    'no_contract',                 -- clinic or hospital bill without a plan contract
    'contacts_made'                -- contacts of the cadence already made for this invoice
  ]::text[];
COMMENT ON FUNCTION cobranca.score_feature_names() IS
  'names of the payment-probability features, in the order of cobranca.score_features; never health data (LGPD art. 11 §5)';

CREATE FUNCTION cobranca.score_features(invoice_ids bigint[], days date[])
  RETURNS TABLE (invoice_id bigint, at date, x float8[])
  LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  -- one pass over the pairs; each lateral part is an index lookup on the
  -- payer's own rows, so the cost grows linearly with the pairs whatever
  -- the planner guesses about their number
  WITH t AS MATERIALIZED (
    SELECT u.invoice_id, u.at, i.payer_id, i.kind, i.due_on, i.amount, c.plan_type
      FROM unnest(score_features.invoice_ids, score_features.days) AS u(invoice_id, at)
      JOIN cobranca.invoice i ON i.id = u.invoice_id
      LEFT JOIN cobranca.contract c ON c.id = i.contract_id
  )
  SELECT t.invoice_id, t.at, ARRAY[
           ln(1 + GREATEST(t.at - t.due_on, 0)),
           ln(1 + t.amount::float8),
           (t.kind = 'copay')::integer,
           (t.kind = 'private')::integer,
           (t.kind = 'disallowance')::integer,
           (t.kind = 'installment')::integer,
           hist.late_n,
           CASE WHEN hist.late_n > 0 THEN hist.late_sum::float8 / hist.late_n / 30 ELSE 0 END,
           disp.n,
           (t.plan_type IS NOT DISTINCT FROM 'family')::integer,
           (t.plan_type IS NOT DISTINCT FROM 'collective_membership')::integer,
           (t.plan_type IS NOT DISTINCT FROM 'collective_business')::integer,
           (t.plan_type IS NULL)::integer,
           ctc.n
         ]::float8[]
    FROM t
    -- the payer's other invoices due in the 12 months before the day, late
    -- if paid after their due date or still unpaid on the day
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE l.late_days > 0) AS late_n,
             COALESCE(sum(l.late_days) FILTER (WHERE l.late_days > 0), 0) AS late_sum
        FROM cobranca.invoice h
        CROSS JOIN LATERAL (SELECT LEAST(COALESCE(h.paid_on, t.at), t.at) - h.due_on AS late_days) l
       WHERE h.payer_id = t.payer_id AND h.id <> t.invoice_id AND h.status <> 'cancelled'
         AND h.due_on >= t.at - 365 AND h.due_on < t.at
    ) hist
    -- the payer's disputes open on the day
    -- (a subquery per invoice: an index probe on dispute, never a scan of it)
    CROSS JOIN LATERAL (
      SELECT COALESCE(sum((SELECT count(*) FROM cobranca.dispute d
                            WHERE d.invoice_id = di.id AND d.opened_on <= t.at
                              AND (d.answered_on IS NULL OR d.answered_on > t.at))), 0) AS n
        FROM cobranca.invoice di
       WHERE di.payer_id = t.payer_id
    ) disp
    -- contacts about this invoice made before the day
    CROSS JOIN LATERAL (
      SELECT count(*) AS n
        FROM cobranca.contact c
       WHERE c.payer_id = t.payer_id AND t.invoice_id = ANY (c.invoice_ids)
         AND c.status NOT IN ('scheduled', 'cancelled') AND c.contact_on < t.at
    ) ctc;
END;
COMMENT ON FUNCTION cobranca.score_features(bigint[], date[]) IS
  'feature vectors (see cobranca.score_feature_names) of invoices as seen on given days, pairwise; built set-based from invoices, contracts, disputes and contacts only, never from health data';

CREATE TABLE cobranca.score_model (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  features       text[] NOT NULL
    CHECK (cobranca.check_members('score_model.features', features, cobranca.score_feature_names())),
  coefficients   float8[] NOT NULL
    CHECK (cobranca.check_finite('score_model.coefficients', coefficients)),
  lambda         float8,
  trained_as_of  date,
  training_size  bigint,
  holdout_size   bigint,
  holdout_auc    float8,
  previous_auc   float8,
  active         boolean NOT NULL DEFAULT false,
  shipped        boolean NOT NULL DEFAULT false,
  created_by     name NOT NULL DEFAULT session_user,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT score_model_sizes
    CHECK (cobranca.check_rule(cardinality(coefficients) = cardinality(features) + 1,
                               'score_model.coefficients does not match score_model.features',
                               'score_model has ' || cardinality(features) || ' features and ' || cardinality(coefficients)
                               || ' coefficients; it needs one coefficient per feature plus the intercept first.'))
);
CREATE UNIQUE INDEX score_model_one_active ON cobranca.score_model ((true)) WHERE active;
COMMENT ON TABLE cobranca.score_model IS
  'Versions (id) of the payment-probability model; exactly one is active.  The shipped default is row shipped = true';
COMMENT ON COLUMN cobranca.score_model.features IS 'feature names, as cobranca.score_feature_names() when the model was made';
COMMENT ON COLUMN cobranca.score_model.coefficients IS 'intercept first, then one per feature';
COMMENT ON COLUMN cobranca.score_model.lambda IS 'L2 penalty used in training';
COMMENT ON COLUMN cobranca.score_model.trained_as_of IS 'training used invoices settled before this day';
COMMENT ON COLUMN cobranca.score_model.training_size IS 'training examples (invoice snapshots) outside the holdout';
COMMENT ON COLUMN cobranca.score_model.holdout_size IS 'examples in the holdout (one invoice in five, by a hash of its id)';
COMMENT ON COLUMN cobranca.score_model.holdout_auc IS 'this model''s AUC on the holdout';
COMMENT ON COLUMN cobranca.score_model.previous_auc IS 'the AUC, on the same holdout, of the model active when this one was trained';
COMMENT ON COLUMN cobranca.score_model.shipped IS 'the default model shipped with the extension';

-- The shipped default: hand-set coefficients with the signs collection
-- teams expect (older, larger, often-late or disputed debts are paid less).
-- Its row is made by CREATE EXTENSION, never dumped, so it carries a fixed
-- date: a restored database has the same row.
INSERT INTO cobranca.score_model (features, coefficients, active, shipped, created_by, created_at)
VALUES (cobranca.score_feature_names(),
        ARRAY[2.0,                        -- intercept
              -0.45,                      -- days_overdue_log
              -0.15,                      -- amount_log
              0.20, -0.10, -0.40, 0.30,   -- copay, private, disallowance, installment
              -0.25, -0.30,               -- late_invoices_12m, mean_months_late_12m
              -0.60,                      -- open_disputes
              0.00, -0.10, 0.15, -0.10,   -- family, collective_membership, collective_business, no_contract
              0.05]::float8[],            -- contacts_made
        true, true, 'cobranca', '2026-11-01 00:00:00+00');
SELECT pg_catalog.pg_extension_config_dump('cobranca.score_model', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('cobranca.score_model_id_seq', '');

-- Scores of invoices on a day: the path used by the jobs, the worklist and
-- the single-invoice functions below.  C (score_batch.c): the features of
-- cobranca.score_features gathered for all the invoices in one pass (a few
-- set-based statements merged payer by payer, never a subquery per
-- invoice), the active model, cobranca.invoice_charges and
-- cobranca.priority_value, with the same results as those SQL definitions
-- (test/pgtap/score_batch.sql compares them).
CREATE FUNCTION cobranca.score_invoices(invoice_ids bigint[], as_of date)
  RETURNS TABLE (invoice_id bigint, model_id bigint, probability float8,
                 updated_amount numeric, priority numeric)
  AS 'MODULE_PATHNAME', 'cobranca_score_invoices'
  LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION cobranca.score_invoices(bigint[], date) IS
  'payment probability (active model), updated amount and priority of the given invoices on a day; priority is 0 unless the invoice is open';

CREATE FUNCTION cobranca.payment_probability(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS float8
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  -- one plan for the session: the statement is the same for every invoice
  SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  -- plpgsql keeps the plan of the (inlined) set-based statement for the session
  RETURN (SELECT s.probability FROM cobranca.score_invoices(ARRAY[invoice_id], as_of) s);
END
$$;
COMMENT ON FUNCTION cobranca.payment_probability(bigint, date) IS
  'probability, by the active cobranca.score_model, that the invoice is paid within the next 30 days; NULL for an unknown invoice';

CREATE FUNCTION cobranca.priority(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS numeric
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  -- one plan for the session: the statement is the same for every invoice
  SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
  RETURN (SELECT s.priority FROM cobranca.score_invoices(ARRAY[invoice_id], as_of) s);
END
$$;
COMMENT ON FUNCTION cobranca.priority(bigint, date) IS
  'expected recovery (probability x updated amount, BRL) raised as the 5-year limitation period and the RN 593 notice day near; 0 for invoices not open';

-- Training.
CREATE FUNCTION cobranca.train_score_model(as_of date, lambda float8 DEFAULT 1.0)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  -- the generic estimates of the set-based statements are huge: compiling
  -- them would cost more than running them
  SET jit = off
AS $$
DECLARE
  coef float8[];
  n_train bigint;
  n_hold bigint;
  new_auc float8;
  old_auc float8;
  cur record;
  new_id bigint;
  better boolean;
BEGIN
  IF NOT (pg_catalog.pg_has_role(session_user, 'cobranca_supervisor', 'member')
          OR pg_catalog.pg_has_role(session_user, 'cobranca_admin', 'member')) THEN
    RAISE EXCEPTION 'only supervisors and administrators train the score model'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- Examples: snapshots of invoices taken 1, 15, 30, 60, 90 and 180 days
  -- after the due date while still unpaid, whose next 30 days ended before
  -- as_of; label: paid within those 30 days.  Settled invoices (paid or
  -- written off) give the history; invoices still unpaid give the windows
  -- in which they were not paid, without which the model would learn only
  -- from debts that were eventually paid.  Disputed and cancelled ones and
  -- agreement installments stay out.
  IF pg_catalog.to_regclass('pg_temp.cobranca_training') IS NOT NULL THEN
    DROP TABLE pg_temp.cobranca_training;
  END IF;
  CREATE TEMP TABLE cobranca_training ON COMMIT DROP AS
    WITH ex AS MATERIALIZED (
      SELECT i.id AS invoice_id, i.due_on + k AS at,
             (i.paid_on IS NOT NULL AND i.paid_on <= i.due_on + k + 30) AS y,
             (pg_catalog.hashint8(i.id)::bigint % 5 = 0) AS holdout
        FROM cobranca.invoice i
        CROSS JOIN unnest(ARRAY[1, 15, 30, 60, 90, 180]) AS k
       WHERE (i.status = 'paid' AND i.paid_on < as_of OR i.status IN ('written_off', 'open', 'in_agreement'))
         AND i.kind <> 'installment'
         AND i.due_on + k + 30 <= as_of
         AND (i.paid_on IS NULL OR i.paid_on > i.due_on + k)
    ), arr AS (
      SELECT array_agg(invoice_id) AS ids, array_agg(at) AS ats FROM ex
    )
    SELECT ex.invoice_id, ex.at, ex.y, ex.holdout, f.x
      FROM arr
      CROSS JOIN LATERAL cobranca.score_features(arr.ids, arr.ats) f
      JOIN ex ON ex.invoice_id = f.invoice_id AND ex.at = f.at;

  SELECT cobranca.logistic_fit(t.x, t.y, lambda) FILTER (WHERE NOT t.holdout),
         count(*) FILTER (WHERE NOT t.holdout), count(*) FILTER (WHERE t.holdout)
    INTO coef, n_train, n_hold
    FROM pg_temp.cobranca_training t;
  IF n_train < 50 OR n_hold < 10 OR coef IS NULL
     OR NOT EXISTS (SELECT 1 FROM pg_temp.cobranca_training WHERE y)
     OR NOT EXISTS (SELECT 1 FROM pg_temp.cobranca_training WHERE NOT y) THEN
    RAISE EXCEPTION 'not enough settled history to train the score model'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('%s training and %s holdout examples before %s; at least 50 and 10 with both outcomes are needed.',
                                       n_train, n_hold, as_of),
            HINT = 'Train later, or keep the shipped default model.';
  END IF;

  SELECT id, features, coefficients INTO cur FROM cobranca.score_model WHERE active;
  SELECT cobranca.auc(cobranca.logistic(coef, t.x), t.y) INTO new_auc
    FROM pg_temp.cobranca_training t WHERE t.holdout;
  IF cur.id IS NOT NULL AND cur.features = cobranca.score_feature_names() THEN
    SELECT cobranca.auc(cobranca.logistic(cur.coefficients, t.x), t.y) INTO old_auc
      FROM pg_temp.cobranca_training t WHERE t.holdout;
  END IF;
  better := cur.id IS NULL OR old_auc IS NULL OR new_auc > old_auc;

  INSERT INTO cobranca.score_model (features, coefficients, lambda, trained_as_of,
                                    training_size, holdout_size, holdout_auc, previous_auc)
  VALUES (cobranca.score_feature_names(), coef, lambda, as_of, n_train, n_hold, new_auc, old_auc)
  RETURNING id INTO new_id;
  IF better THEN
    UPDATE cobranca.score_model SET active = false WHERE active;
    UPDATE cobranca.score_model SET active = true WHERE id = new_id;
  END IF;
  DROP TABLE pg_temp.cobranca_training;
  RAISE NOTICE 'score model %: holdout AUC % against % for model %; %',
    new_id, round(new_auc::numeric, 4), coalesce(round(old_auc::numeric, 4)::text, 'n/a'),
    coalesce(cur.id::text, 'none'), CASE WHEN better THEN 'activated' ELSE 'kept inactive' END;
  RETURN new_id;
END
$$;
COMMENT ON FUNCTION cobranca.train_score_model(date, float8) IS
  'fits the payment-probability model (C, Newton/IRLS with L2 penalty lambda) on 30-day windows of overdue invoices whose outcome was known before as_of, one invoice in five held out; activates it only if its holdout AUC beats the active model''s on the same holdout; returns the new model id';
REVOKE ALL ON FUNCTION cobranca.train_score_model(date, float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.train_score_model(date, float8) TO cobranca_supervisor, cobranca_admin;

-- Scores kept for the worklist and the cadence's score bands, refreshed by
-- the jobs.
CREATE TABLE cobranca.invoice_score (
  invoice_id     bigint PRIMARY KEY REFERENCES cobranca.invoice ON DELETE CASCADE,
  creditor_id    bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id   bigint NOT NULL REFERENCES cobranca.portfolio,
  as_of          date NOT NULL,
  model_id       bigint NOT NULL REFERENCES cobranca.score_model,
  balance        numeric(14,2) NOT NULL,
  probability    float8 NOT NULL,
  updated_amount numeric(14,2) NOT NULL,
  priority       numeric(14,2) NOT NULL,
  computed_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX invoice_score_portfolio_idx ON cobranca.invoice_score (portfolio_id, priority DESC);
COMMENT ON TABLE cobranca.invoice_score IS
  'Payment probability, updated amount and priority of the open overdue invoices, kept by the refresh_scores job (derived: a score is redone when the day, the active model or the balance changes)';
COMMENT ON COLUMN cobranca.invoice_score.balance IS 'the invoice''s balance when scored';
COMMENT ON COLUMN cobranca.invoice_score.as_of IS 'day (payer''s time zone) the score is for';
COMMENT ON COLUMN cobranca.invoice_score.probability IS 'payment probability within 30 days (cobranca.payment_probability)';
COMMENT ON COLUMN cobranca.invoice_score.updated_amount IS 'balance + fine + interest on as_of (cobranca.updated_amount)';
COMMENT ON COLUMN cobranca.invoice_score.priority IS 'cobranca.priority on as_of';

CREATE FUNCTION cobranca.refresh_scores(as_of timestamptz) RETURNS bigint
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

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('refresh_scores', 40, 'cobranca.refresh_scores(timestamptz)',
        'payment probability, updated amount and priority of open overdue invoices');

-- privileges and row-level security of these tables: 97_security.sql

-- The analyst's worklist: one line per payer with open overdue invoices in
-- a portfolio assigned to the current user (a superuser sees all), highest
-- priority first, with the scores of the last refresh_scores run.  It
-- shows the payer's masked document and never health data.
CREATE VIEW cobranca.worklist WITH (security_barrier) AS
WITH items AS (
  SELECT i.id, i.payer_id, i.creditor_id, i.portfolio_id, i.due_on, i.balance,
         (pg_catalog.now() AT TIME ZONE p.timezone)::date AS local_day,
         s.as_of, s.probability, s.updated_amount, s.priority
    FROM cobranca.invoice i
    JOIN cobranca.payer p ON p.id = i.payer_id
    LEFT JOIN cobranca.invoice_score s ON s.invoice_id = i.id
   WHERE i.status = 'open'
     AND i.due_on < (pg_catalog.now() AT TIME ZONE p.timezone)::date
     AND ((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
          OR EXISTS (SELECT 1 FROM cobranca.assignment a
                      WHERE a.login = current_user AND a.portfolio_id = i.portfolio_id))
), per_payer AS (
  SELECT it.payer_id,
         count(*) AS invoices,
         array_agg(it.id ORDER BY it.priority DESC NULLS LAST, it.due_on) AS invoice_ids,
         min(it.due_on) AS oldest_due_on,
         max(it.local_day - it.due_on) AS max_days_overdue,
         sum(it.balance) AS balance,
         sum(it.updated_amount) AS updated_amount,
         sum(it.probability * it.updated_amount) / NULLIF(sum(it.updated_amount), 0) AS probability,
         sum(it.priority) AS priority,
         min(it.as_of) AS scored_on
    FROM items it
   GROUP BY it.payer_id
)
SELECT pp.payer_id, p.name AS payer_name, p.document, p.creditor_id, p.portfolio_id,
       pp.invoices, pp.invoice_ids, pp.oldest_due_on, pp.max_days_overdue, pp.balance,
       pp.updated_amount, round(pp.probability::numeric, 4) AS probability, pp.priority, pp.scored_on,
       bc.channel AS best_channel,
       lc.channel AS last_contact_channel, lc.at AS last_contact_at, lc.status AS last_contact_status,
       lc.outcome AS last_outcome
  FROM per_payer pp
  JOIN cobranca.payer p ON p.id = pp.payer_id
  -- the reachable channel (data present, not opted out) that worked best
  -- with this payer; phone and WhatsApp first when none worked yet
  LEFT JOIN LATERAL (
    SELECT ch.channel
      FROM (VALUES ('whatsapp', 1, p.whatsapp), ('phone', 2, p.phone), ('sms', 3, p.phone),
                   ('email', 4, p.email), ('letter', 5, p.address)) AS ch(channel, pref, reach)
      LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE k.status IN ('read', 'replied', 'done')) AS good,
               count(*) FILTER (WHERE k.status <> 'cancelled') AS tried
          FROM cobranca.contact k
         WHERE k.payer_id = p.id AND k.channel = ch.channel AND k.status <> 'scheduled') h ON true
     WHERE ch.reach IS NOT NULL AND NOT (ch.channel = ANY (p.opt_out))
     ORDER BY (h.good + 1.0) / (h.tried + 2.0) DESC, ch.pref
     LIMIT 1) bc ON true
  LEFT JOIN LATERAL (
    SELECT k.channel, k.status, k.outcome, GREATEST(k.scheduled_at, k.updated_at) AS at
      FROM cobranca.contact k
     WHERE k.payer_id = p.id AND k.status NOT IN ('scheduled', 'cancelled')
     ORDER BY k.scheduled_at DESC, k.id DESC
     LIMIT 1) lc ON true
 ORDER BY pp.priority DESC NULLS LAST, pp.updated_amount DESC NULLS LAST, pp.payer_id;
COMMENT ON VIEW cobranca.worklist IS
  'The current user''s work: one line per payer with open overdue invoices in an assigned portfolio (superusers see all), highest priority first; scores as of the last refresh_scores job; masked documents, no health data';
COMMENT ON COLUMN cobranca.worklist.payer_id IS 'the payer';
COMMENT ON COLUMN cobranca.worklist.payer_name IS 'the payer''s name';
COMMENT ON COLUMN cobranca.worklist.document IS 'CPF/CNPJ, masked (***.456.789-**)';
COMMENT ON COLUMN cobranca.worklist.creditor_id IS 'the creditor';
COMMENT ON COLUMN cobranca.worklist.portfolio_id IS 'the portfolio';
COMMENT ON COLUMN cobranca.worklist.invoices IS 'open overdue invoices of the payer';
COMMENT ON COLUMN cobranca.worklist.invoice_ids IS 'those invoices, highest priority first';
COMMENT ON COLUMN cobranca.worklist.oldest_due_on IS 'due date of the oldest';
COMMENT ON COLUMN cobranca.worklist.max_days_overdue IS 'days past due of the oldest, in the payer''s time zone';
COMMENT ON COLUMN cobranca.worklist.balance IS 'sum of their balances, BRL';
COMMENT ON COLUMN cobranca.worklist.updated_amount IS 'sum of their updated amounts (balance + fine + interest), BRL, as of scored_on';
COMMENT ON COLUMN cobranca.worklist.probability IS 'payment probability within 30 days, weighted by updated amount';
COMMENT ON COLUMN cobranca.worklist.priority IS 'sum of the invoices'' priorities (expected recovery raised by urgency), BRL';
COMMENT ON COLUMN cobranca.worklist.scored_on IS 'day of the scores shown (last refresh_scores run); NULL for invoices not yet scored';
COMMENT ON COLUMN cobranca.worklist.best_channel IS 'reachable channel (not opted out) with the best record with this payer';
COMMENT ON COLUMN cobranca.worklist.last_contact_channel IS 'channel of the latest contact made';
COMMENT ON COLUMN cobranca.worklist.last_contact_at IS 'when it was scheduled or last updated';
COMMENT ON COLUMN cobranca.worklist.last_contact_status IS 'its status (sent, delivered, read, replied, failed, done)';
COMMENT ON COLUMN cobranca.worklist.last_outcome IS 'its outcome as reported (e.g. promise_to_pay, no_answer)';
GRANT SELECT ON cobranca.worklist TO cobranca_analyst, cobranca_supervisor;

-- ==== src/sql/75_agreement.sql
-- Agreements (acordos, SPEC §2.7): installment plans with discount tiers.
--
-- An analyst proposes; within the tier of the debt's age the proposal needs
-- nobody else, beyond it a supervisor other than the proposer approves.
-- The payer's acceptance (with its evidence) creates the installment
-- invoices and links the covered invoices to the agreement, which the
-- invoice trigger turns into status in_agreement; an installment unpaid
-- for more than cobranca.agreement_grace_days breaks the agreement and
-- restores the covered invoices' debt, less what the installments paid.
--
-- Identity and roles are those of session_user: these functions run as
-- their owner (SECURITY DEFINER), where current_user is the owner.

CREATE FUNCTION cobranca.discounted(total numeric, discount_pct numeric) RETURNS numeric
  AS 'MODULE_PATHNAME', 'cobranca_discounted'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.discounted(numeric, numeric) IS
  'total less discount_pct percent, the discount rounded to the cent half-even';

CREATE FUNCTION cobranca.agreement_grace_days() RETURNS integer
  AS 'MODULE_PATHNAME', 'cobranca_agreement_grace'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.agreement_grace_days() IS
  'the setting cobranca.agreement_grace_days: days an installment may stay unpaid after its due date';

CREATE TABLE cobranca.agreement_tier (
  name                  text PRIMARY KEY
    CHECK (cobranca.check_member('agreement_tier.name', name, '{bronze,silver,gold}')),
  min_days_overdue      integer NOT NULL UNIQUE
    CHECK (cobranca.check_range('agreement_tier.min_days_overdue', min_days_overdue, 0, 3650)),
  max_discount_pct      numeric(5,2) NOT NULL
    CHECK (cobranca.check_range('agreement_tier.max_discount_pct', max_discount_pct, 0, 100)),
  max_installments      integer NOT NULL
    CHECK (cobranca.check_range('agreement_tier.max_installments', max_installments, 1, 360)),
  min_first_installment numeric(14,2) NOT NULL
    CHECK (cobranca.check_positive('agreement_tier.min_first_installment', min_first_installment))
);
COMMENT ON TABLE cobranca.agreement_tier IS
  'Discount tiers of agreements: a debt falls in the highest tier whose min_days_overdue it reached; an analyst may offer up to that tier''s caps, beyond them a supervisor approves';
COMMENT ON COLUMN cobranca.agreement_tier.min_days_overdue IS 'days past due of the oldest covered invoice from which the tier applies';
COMMENT ON COLUMN cobranca.agreement_tier.max_discount_pct IS 'largest discount, in percent of the updated amount, within the tier';
COMMENT ON COLUMN cobranca.agreement_tier.max_installments IS 'most installments within the tier';
COMMENT ON COLUMN cobranca.agreement_tier.min_first_installment IS 'smallest first installment within the tier, BRL';
INSERT INTO cobranca.agreement_tier VALUES
  ('bronze', 0, 5.00, 3, 50.00),
  ('silver', 90, 15.00, 6, 30.00),
  ('gold', 180, 30.00, 12, 20.00);

CREATE TABLE cobranca.agreement (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id       bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id      bigint NOT NULL REFERENCES cobranca.portfolio,
  payer_id          bigint NOT NULL REFERENCES cobranca.payer,
  invoice_ids       bigint[] NOT NULL
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'agreement.invoice_ids is empty',
                               'An agreement covers at least one invoice.')),
  tier              text NOT NULL REFERENCES cobranca.agreement_tier,
  as_of             date NOT NULL CHECK (cobranca.check_date('agreement.as_of', as_of)),
  principal         numeric(14,2) NOT NULL,
  debt_total        numeric(14,2) NOT NULL,
  discount_pct      numeric(5,2) NOT NULL CHECK (discount_pct BETWEEN 0 AND 100),
  total             numeric(14,2) NOT NULL
    CHECK (cobranca.check_positive('agreement.total', total)),
  installments      integer NOT NULL CHECK (installments BETWEEN 1 AND 360),
  first_due         date NOT NULL CHECK (cobranca.check_date('agreement.first_due', first_due)),
  needs_approval    boolean NOT NULL,
  beyond_tier       text[] NOT NULL DEFAULT '{}',
  status            text NOT NULL DEFAULT 'proposed'
    CHECK (cobranca.check_member('agreement.status', status,
           '{proposed,active,completed,broken,withdrawn}')),
  proposed_by       name NOT NULL,
  proposed_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  approved_by       name,
  approved_at       timestamptz,
  accepted_by       name,
  accepted_at       timestamptz,
  evidence          jsonb
    CHECK (cobranca.check_rule(octet_length(evidence::text) <= 65536, 'agreement.evidence is too large',
                               'agreement.evidence has ' || octet_length(evidence::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.')),
  broken_at         timestamptz,
  completed_at      timestamptz,
  CONSTRAINT agreement_approval_by_other CHECK (approved_by IS NULL OR approved_by <> proposed_by),
  CONSTRAINT agreement_active_has_evidence
    CHECK (status IN ('proposed', 'withdrawn') OR (accepted_at IS NOT NULL AND evidence IS NOT NULL))
);
CREATE INDEX agreement_payer_idx ON cobranca.agreement (payer_id);
CREATE INDEX agreement_active_idx ON cobranca.agreement (id) WHERE status = 'active';
COMMENT ON TABLE cobranca.agreement IS
  'An installment plan (acordo) over some of a payer''s invoices: proposed, approved if beyond its tier, accepted with evidence, then active until completed or broken';
COMMENT ON COLUMN cobranca.agreement.invoice_ids IS 'the invoices it covers (all of one payer, open when proposed)';
COMMENT ON COLUMN cobranca.agreement.tier IS 'tier of the debt''s age when proposed (cobranca.agreement_tier)';
COMMENT ON COLUMN cobranca.agreement.as_of IS 'day on which the updated amounts were computed';
COMMENT ON COLUMN cobranca.agreement.principal IS 'sum of the covered invoices'' balances when proposed';
COMMENT ON COLUMN cobranca.agreement.debt_total IS 'sum of their updated amounts (balance + fine + interest) on as_of';
COMMENT ON COLUMN cobranca.agreement.total IS 'agreed total: debt_total less the discount; the installments sum to it to the cent';
COMMENT ON COLUMN cobranca.agreement.needs_approval IS 'terms beyond the tier: a supervisor other than the proposer must approve before acceptance';
COMMENT ON COLUMN cobranca.agreement.beyond_tier IS 'which caps the terms exceed: discount, installments, first_installment';
COMMENT ON COLUMN cobranca.agreement.evidence IS 'proof of the payer''s acceptance (e.g. channel, protocol, recording, signed term)';
COMMENT ON COLUMN cobranca.agreement.status IS 'proposed, active (accepted), completed (all installments paid), broken (an installment unpaid beyond the grace days), withdrawn';

CREATE TABLE cobranca.agreement_installment (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id  bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id bigint NOT NULL REFERENCES cobranca.portfolio,
  agreement_id bigint NOT NULL REFERENCES cobranca.agreement ON DELETE CASCADE,
  n            integer NOT NULL CHECK (cobranca.check_range('agreement_installment.n', n, 1, 360)),
  due_on       date NOT NULL CHECK (cobranca.check_date('agreement_installment.due_on', due_on)),
  amount       numeric(14,2) NOT NULL
    CHECK (cobranca.check_positive('agreement_installment.amount', amount)),
  invoice_id   bigint REFERENCES cobranca.invoice,
  CONSTRAINT agreement_installment_key UNIQUE (agreement_id, n)
);
CREATE INDEX agreement_installment_invoice_idx ON cobranca.agreement_installment (invoice_id);
COMMENT ON TABLE cobranca.agreement_installment IS
  'The installments of an agreement; on acceptance each becomes an invoice of kind installment';
COMMENT ON COLUMN cobranca.agreement_installment.invoice_id IS 'the installment invoice, created on acceptance';

-- deferred: an ERP loading invoices and agreements in one transaction may
-- write them in any order; the link is checked at commit
ALTER TABLE cobranca.invoice
  ADD CONSTRAINT invoice_agreement_fk FOREIGN KEY (agreement_id) REFERENCES cobranca.agreement
  DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX invoice_agreement_idx ON cobranca.invoice (agreement_id) WHERE agreement_id IS NOT NULL;

SELECT pg_catalog.pg_extension_config_dump('cobranca.agreement', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.agreement_installment', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.agreement_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.agreement_installment_id_seq', '');

-- Who may work a portfolio's agreements: a member of cobranca_analyst or
-- cobranca_supervisor assigned to the portfolio, or a superuser.
CREATE FUNCTION cobranca.agreement_check_access(portfolio_id bigint, action text)
  RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user) THEN
    RETURN;
  END IF;
  IF NOT (pg_catalog.pg_has_role(session_user, 'cobranca_analyst', 'member')
          OR pg_catalog.pg_has_role(session_user, 'cobranca_supervisor', 'member')) THEN
    RAISE EXCEPTION '% may not %', session_user, action
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'Agreements are worked by members of cobranca_analyst or cobranca_supervisor.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM cobranca.assignment a
                  WHERE a.login = session_user AND a.portfolio_id = agreement_check_access.portfolio_id) THEN
    RAISE EXCEPTION '% is not assigned to portfolio %', session_user, agreement_check_access.portfolio_id
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('%s may not %s there.', session_user, action),
            HINT = 'An administrator adds the login to cobranca.assignment.';
  END IF;
END
$$;
COMMENT ON FUNCTION cobranca.agreement_check_access(bigint, text) IS
  'raises 42501 unless session_user is a superuser, or an analyst or supervisor assigned to the portfolio';

-- The debt an agreement over these invoices would cover, checked: one
-- payer, every invoice open with a balance.
CREATE FUNCTION cobranca.agreement_debt(invoice_ids bigint[], as_of date,
    OUT creditor_id bigint, OUT portfolio_id bigint, OUT payer_id bigint,
    OUT ids bigint[], OUT principal numeric, OUT debt_total numeric,
    OUT max_days_overdue integer, OUT tier text)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  bad record;
  n_payers integer;
BEGIN
  ids := ARRAY(SELECT DISTINCT x FROM unnest(invoice_ids) x WHERE x IS NOT NULL ORDER BY x);
  IF cardinality(ids) = 0 THEN
    RAISE EXCEPTION 'an agreement covers at least one invoice'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT x INTO bad FROM unnest(ids) x
   WHERE NOT EXISTS (SELECT 1 FROM cobranca.invoice i WHERE i.id = x) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'invoice % does not exist', bad.x USING ERRCODE = 'no_data_found';
  END IF;
  SELECT i.id, i.status, i.balance INTO bad FROM cobranca.invoice i
   WHERE i.id = ANY (ids) AND (i.status <> 'open' OR i.balance <= 0) ORDER BY i.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'invoice % cannot enter an agreement', bad.id
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('invoice %s is %s with balance %s; only open invoices with a balance can.',
                                       bad.id, bad.status, bad.balance),
            HINT = 'Disputed invoices wait for the answer; paid, cancelled and written-off ones are final.';
  END IF;
  SELECT count(DISTINCT i.payer_id), min(i.creditor_id), min(i.portfolio_id), min(i.payer_id),
         sum(i.balance), max(GREATEST(as_of - i.due_on, 0))
    INTO n_payers, creditor_id, portfolio_id, payer_id, principal, max_days_overdue
    FROM cobranca.invoice i WHERE i.id = ANY (ids);
  IF n_payers > 1 THEN
    RAISE EXCEPTION 'an agreement covers invoices of one payer'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.format('invoices %s belong to %s payers.', ids, n_payers);
  END IF;
  SELECT sum(c.total) INTO debt_total FROM cobranca.invoice_charges(ids, as_of) c;
  SELECT t.name INTO tier FROM cobranca.agreement_tier t
   WHERE t.min_days_overdue <= max_days_overdue ORDER BY t.min_days_overdue DESC LIMIT 1;
  IF tier IS NULL THEN
    RAISE EXCEPTION 'no agreement tier applies to a debt % days overdue', max_days_overdue
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'An administrator keeps a tier with min_days_overdue 0 in cobranca.agreement_tier.';
  END IF;
END
$$;
COMMENT ON FUNCTION cobranca.agreement_debt(bigint[], date) IS
  'checks that invoices can enter one agreement (one payer, open, with balance) and returns their principal, updated total on as_of, age and tier';

CREATE FUNCTION cobranca.simulate_agreement(invoice_ids bigint[], installments integer,
                                            discount_pct numeric DEFAULT 0,
                                            first_due date DEFAULT CURRENT_DATE + 3,
                                            as_of date DEFAULT CURRENT_DATE)
  RETURNS TABLE (n integer, due_on date, amount numeric)
  LANGUAGE plpgsql STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d record;
BEGIN
  d := cobranca.agreement_debt(invoice_ids, as_of);
  PERFORM cobranca.agreement_check_access(d.portfolio_id, 'simulate agreements');
  IF first_due < as_of THEN
    RAISE EXCEPTION 'first_due % is before %', first_due, as_of
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY SELECT s.n, s.due_on, s.amount
                 FROM cobranca.installment_schedule(cobranca.discounted(d.debt_total, discount_pct),
                                                    installments, first_due) s;
END
$$;
COMMENT ON FUNCTION cobranca.simulate_agreement(bigint[], integer, numeric, date, date) IS
  'installments of an agreement over the invoices: their updated total on as_of less the discount, split to the cent (remainder on the first), monthly from first_due on bank business days';

CREATE FUNCTION cobranca.propose_agreement(invoice_ids bigint[], installments integer,
                                           discount_pct numeric DEFAULT 0,
                                           first_due date DEFAULT CURRENT_DATE + 3,
                                           as_of date DEFAULT CURRENT_DATE)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d record;
  t record;
  total numeric;
  first_amount numeric;
  beyond text[] := '{}';
  new_id bigint;
BEGIN
  d := cobranca.agreement_debt(invoice_ids, as_of);
  PERFORM cobranca.agreement_check_access(d.portfolio_id, 'propose agreements');
  IF first_due < as_of THEN
    RAISE EXCEPTION 'first_due % is before %', first_due, as_of
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF EXISTS (SELECT 1 FROM cobranca.agreement a
              WHERE a.status = 'proposed' AND a.invoice_ids && d.ids) THEN
    RAISE EXCEPTION 'some of the invoices are already in a pending proposal'
      USING ERRCODE = 'unique_violation',
            HINT = 'Accept or withdraw it (cobranca.withdraw_agreement) first.';
  END IF;
  SELECT * INTO t FROM cobranca.agreement_tier WHERE name = d.tier;
  total := cobranca.discounted(d.debt_total, discount_pct);
  first_amount := (cobranca.split_amount(total, installments))[1];
  IF discount_pct > t.max_discount_pct THEN
    beyond := beyond || 'discount'::text;
  END IF;
  IF installments > t.max_installments THEN
    beyond := beyond || 'installments'::text;
  END IF;
  IF first_amount < LEAST(t.min_first_installment, total) THEN
    beyond := beyond || 'first_installment'::text;
  END IF;

  INSERT INTO cobranca.agreement (creditor_id, portfolio_id, payer_id, invoice_ids, tier, as_of,
                                  principal, debt_total, discount_pct, total, installments,
                                  first_due, needs_approval, beyond_tier, proposed_by)
  VALUES (d.creditor_id, d.portfolio_id, d.payer_id, d.ids, d.tier, as_of,
          d.principal, d.debt_total, discount_pct, total, installments,
          first_due, cardinality(beyond) > 0, beyond, session_user)
  RETURNING id INTO new_id;
  INSERT INTO cobranca.agreement_installment (creditor_id, portfolio_id, agreement_id, n, due_on, amount)
  SELECT d.creditor_id, d.portfolio_id, new_id, s.n, s.due_on, s.amount
    FROM cobranca.installment_schedule(total, installments, first_due) s;
  RETURN new_id;
END
$$;
COMMENT ON FUNCTION cobranca.propose_agreement(bigint[], integer, numeric, date, date) IS
  'records a proposal (status proposed) with its installments; terms beyond the tier of the debt''s age are flagged needs_approval; returns its id';

-- The agreement a function acts on, locked, once the caller may act on its
-- portfolio; raises 02000 when it does not exist.
CREATE FUNCTION cobranca.agreement_for_update(agreement_id bigint, action text)
  RETURNS cobranca.agreement
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a cobranca.agreement;
BEGIN
  SELECT * INTO a FROM cobranca.agreement WHERE id = agreement_for_update.agreement_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'agreement % does not exist', agreement_for_update.agreement_id
      USING ERRCODE = 'no_data_found';
  END IF;
  PERFORM cobranca.agreement_check_access(a.portfolio_id, action);
  RETURN a;
END
$$;
COMMENT ON FUNCTION cobranca.agreement_for_update(bigint, text) IS
  'the agreement, locked FOR UPDATE, after checking that the caller may act on its portfolio; raises 02000 when it does not exist';
REVOKE ALL ON FUNCTION cobranca.agreement_for_update(bigint, text) FROM PUBLIC;

CREATE FUNCTION cobranca.approve_agreement(agreement_id bigint) RETURNS timestamptz
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
BEGIN
  a := cobranca.agreement_for_update(approve_agreement.agreement_id, 'approve agreements');
  IF NOT pg_catalog.pg_has_role(session_user, 'cobranca_supervisor', 'member') THEN
    RAISE EXCEPTION '% is not a supervisor', session_user
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'Agreements beyond their tier are approved by members of cobranca_supervisor.';
  END IF;
  IF a.proposed_by = session_user THEN
    RAISE EXCEPTION 'nobody approves their own proposal'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('agreement %s was proposed by %s.', a.id, a.proposed_by),
            HINT = 'Another supervisor of the portfolio approves it.';
  END IF;
  IF a.status <> 'proposed' THEN
    RAISE EXCEPTION 'agreement % is %, not proposed', a.id, a.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  UPDATE cobranca.agreement
     SET approved_by = session_user, approved_at = pg_catalog.now()
   WHERE id = a.id;
  RETURN pg_catalog.now();
END
$$;
COMMENT ON FUNCTION cobranca.approve_agreement(bigint) IS
  'a supervisor of the portfolio, other than the proposer, approves a proposal beyond its tier';

CREATE FUNCTION cobranca.withdraw_agreement(agreement_id bigint) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
BEGIN
  a := cobranca.agreement_for_update(withdraw_agreement.agreement_id, 'withdraw agreements');
  IF a.status <> 'proposed' THEN
    RAISE EXCEPTION 'agreement % is %: only proposals are withdrawn', a.id, a.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  UPDATE cobranca.agreement SET status = 'withdrawn' WHERE id = a.id;
END
$$;
COMMENT ON FUNCTION cobranca.withdraw_agreement(bigint) IS
  'withdraws a proposal the payer did not accept';

CREATE FUNCTION cobranca.accept_agreement(agreement_id bigint, evidence jsonb) RETURNS bigint[]
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
COMMENT ON FUNCTION cobranca.accept_agreement(bigint, jsonb) IS
  'records the payer''s acceptance with its evidence: creates the installment invoices (returned), puts the covered invoices in_agreement, cancels their pending contacts and voids running default notices';

-- The job: agreements whose installments are all paid complete; one with an
-- installment unpaid more than the grace days after its due date (in the
-- payer's time zone) breaks.  Breaking cancels the unpaid installments,
-- credits what the installments paid to the covered invoices (oldest first,
-- as transfer payments) and unlinks them, so that they are open again for
-- the rest of the original debt.
CREATE FUNCTION cobranca.break_agreements(as_of timestamptz) RETURNS bigint
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
REVOKE ALL ON FUNCTION cobranca.break_agreements(timestamptz) FROM PUBLIC;

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('break_agreements', 45, 'cobranca.break_agreements(timestamptz)',
        'complete paid agreements, break those with an installment unpaid beyond the grace days');

REVOKE ALL ON FUNCTION cobranca.agreement_check_access(bigint, text),
  cobranca.agreement_debt(bigint[], date) FROM PUBLIC;
-- privileges and row-level security of these tables: 97_security.sql

-- ==== src/sql/80_views.sql
-- The claims ratio (sinistralidade, SPEC §2.6): an exact aggregate in C and
-- the per-contract rolling 12-month report built on it.
--
-- Claims are health data: supervisors see them only as aggregates (SPEC §3),
-- never row by row.  So these views run with their owner's rights over the
-- claim rows and filter by portfolio themselves, with the rule of
-- cobranca.visible_portfolio (the portfolios assigned to the caller's login,
-- its ERP's creditor, or everything for a role that bypasses row-level
-- security) written as a set, cobranca.visible_portfolio_ids().  They are security_barrier, so that no function in a caller's WHERE
-- clause sees a row before that filter has removed it.  SELECT on them is
-- granted to supervisors and administrators only.

CREATE FUNCTION cobranca.claims_ratio_trans(internal, numeric, numeric) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_trans'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_trans(internal, numeric, numeric) IS
  'claims_ratio aggregate: adds one row (claims, premiums) to the state, in integer cents; NULLs add nothing';

CREATE FUNCTION cobranca.claims_ratio_inv(internal, numeric, numeric) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_inv'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_inv(internal, numeric, numeric) IS
  'claims_ratio aggregate, moving-window mode: removes a row added before (exact, integer cents)';

CREATE FUNCTION cobranca.claims_ratio_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_combine'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_combine(internal, internal) IS
  'claims_ratio aggregate: adds two partial states (parallel aggregation)';

CREATE FUNCTION cobranca.claims_ratio_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_serialize'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_serialize(internal) IS
  'claims_ratio aggregate: the state as 32 bytes (two 128-bit sums of cents), to pass between parallel workers';

CREATE FUNCTION cobranca.claims_ratio_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_deserialize'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_deserialize(bytea, internal) IS
  'claims_ratio aggregate: reads a state written by claims_ratio_serialize';

CREATE FUNCTION cobranca.claims_ratio_final(internal) RETURNS numeric
  AS 'MODULE_PATHNAME', 'cobranca_claims_ratio_final'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.claims_ratio_final(internal) IS
  'claims_ratio aggregate: claims ÷ premiums × 100, rounded half away from zero to 2 decimals; NULL when premiums are 0';

CREATE AGGREGATE cobranca.claims_ratio(claims numeric, premiums numeric) (
  SFUNC        = cobranca.claims_ratio_trans,
  STYPE        = internal,
  SSPACE       = 32,
  FINALFUNC    = cobranca.claims_ratio_final,
  COMBINEFUNC  = cobranca.claims_ratio_combine,
  SERIALFUNC   = cobranca.claims_ratio_serialize,
  DESERIALFUNC = cobranca.claims_ratio_deserialize,
  MSFUNC       = cobranca.claims_ratio_trans,
  MINVFUNC     = cobranca.claims_ratio_inv,
  MSTYPE       = internal,
  MSSPACE      = 32,
  MFINALFUNC   = cobranca.claims_ratio_final,
  PARALLEL     = SAFE
);
COMMENT ON AGGREGATE cobranca.claims_ratio(numeric, numeric) IS
  'Claims ratio (sinistralidade) in percent: sum(claims) ÷ sum(premiums) × 100, exact (integer cents), 2 decimals, NULL when premiums add up to 0; NULL arguments add nothing; parallel safe; as a window aggregate over a moving frame it removes rows exactly (e.g. ROWS BETWEEN 11 PRECEDING AND CURRENT ROW for 12 months)';

-- The portfolios the calling role may see, as a set: the rule of
-- cobranca.visible_portfolio, for views that read as their owner and filter
-- many rows (one evaluation per query instead of one call per row).
CREATE FUNCTION cobranca.visible_portfolio_ids() RETURNS SETOF bigint
  LANGUAGE sql STABLE PARALLEL SAFE AS
$$
  SELECT p.id FROM cobranca.portfolio p
   WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
  UNION
  SELECT a.portfolio_id FROM cobranca.assignment a WHERE a.login = CURRENT_USER
  UNION
  SELECT p.id FROM cobranca.erp_login e JOIN cobranca.portfolio p ON p.creditor_id = e.creditor_id
   WHERE e.login = CURRENT_USER
$$;
COMMENT ON FUNCTION cobranca.visible_portfolio_ids() IS
  'ids of the portfolios the current role may see (assigned to it, its ERP''s creditor, or all for a role that bypasses row-level security): cobranca.visible_portfolio as a set, for views that aggregate as their owner';

-- Claims and premiums received, per contract and month: the input of the
-- rolling report.  A premium is "received" in the month of the payment, in
-- the creditor's time zone (cash basis), whatever month it billed.
CREATE VIEW cobranca.claims_premiums_monthly WITH (security_barrier = true) AS
SELECT f.creditor_id,
       f.portfolio_id,
       f.contract_id,
       f.month,
       pg_catalog.sum(f.claims)   AS claims,
       pg_catalog.sum(f.premiums) AS premiums_received
  FROM (SELECT ct.creditor_id, ct.portfolio_id, cl.contract_id,
               pg_catalog.date_trunc('month', cl.occurred_on::timestamp)::date AS month,
               cl.amount AS claims, NULL::numeric AS premiums
          FROM cobranca.claim cl
          JOIN cobranca.contract ct ON ct.id = cl.contract_id
        UNION ALL
        SELECT ct.creditor_id, ct.portfolio_id, i.contract_id,
               pg_catalog.date_trunc('month', p.paid_at AT TIME ZONE cr.timezone)::date,
               NULL::numeric, p.amount
          FROM cobranca.payment p
          JOIN cobranca.invoice i ON i.id = p.invoice_id
          JOIN cobranca.contract ct ON ct.id = i.contract_id
          JOIN cobranca.creditor cr ON cr.id = i.creditor_id
         WHERE i.kind = 'premium') f
 WHERE f.portfolio_id IN (SELECT v.id FROM cobranca.visible_portfolio_ids() AS v(id))
 GROUP BY f.creditor_id, f.portfolio_id, f.contract_id, f.month;
COMMENT ON VIEW cobranca.claims_premiums_monthly IS
  'Claims cost and premiums received per contract and month (months with either); health data: for supervisors and BI, never analysts';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.creditor_id IS 'the operator';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.portfolio_id IS 'the contract''s portfolio: a caller sees those assigned to its login';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.contract_id IS 'the contract';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.month IS 'first day of the month: occurred_on for claims, payment date in the creditor''s time zone for premiums';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.claims IS 'sum of claim amounts that occurred in the month (NULL: none)';
COMMENT ON COLUMN cobranca.claims_premiums_monthly.premiums_received IS 'sum of payments received in the month on the contract''s premium invoices (NULL: none)';

CREATE VIEW cobranca.claims_ratio_report WITH (security_barrier = true) AS
WITH active AS (
  SELECT m.*,
         pg_catalog.lead(m.month) OVER (PARTITION BY m.contract_id ORDER BY m.month) AS next_month
    FROM cobranca.claims_premiums_monthly m
), dense AS (
  -- one row a month from the contract's first activity until its window
  -- empties (12 months after the last) or the current month, whichever
  -- comes first: each month with activity stands for itself and for the
  -- empty months up to the next one.  One pass over the monthly figures,
  -- and a filter on contract_id reaches the tables' indexes.
  SELECT a.creditor_id, a.contract_id, g.month::date AS month,
         CASE WHEN g.month = a.month THEN a.claims END AS claims,
         CASE WHEN g.month = a.month THEN a.premiums_received END AS premiums
    FROM active a,
         LATERAL pg_catalog.generate_series(
           a.month::timestamp,
           COALESCE(a.next_month - interval '1 month',
                    GREATEST(a.month::timestamp,
                             LEAST(a.month + interval '11 months',
                                   pg_catalog.date_trunc('month', CURRENT_DATE::timestamp)))),
           interval '1 month') AS g(month)
), rolled AS (
  SELECT d.creditor_id, d.contract_id, d.month,
         COALESCE(d.claims, 0) AS claims_month,
         COALESCE(d.premiums, 0) AS premiums_month,
         COALESCE(pg_catalog.sum(d.claims) OVER w, 0) AS claims_12m,
         COALESCE(pg_catalog.sum(d.premiums) OVER w, 0) AS premiums_12m,
         cobranca.claims_ratio(d.claims, d.premiums) OVER w AS claims_ratio_pct,
         pg_catalog.count(*) OVER w AS months_in_window
    FROM dense d
  WINDOW w AS (PARTITION BY d.contract_id ORDER BY d.month
               RANGE BETWEEN interval '11 months' PRECEDING AND CURRENT ROW)
)
SELECT r.creditor_id,
       ct.portfolio_id,
       r.contract_id,
       ct.number AS contract_number,
       r.month,
       r.claims_month,
       r.premiums_month,
       r.claims_12m,
       r.premiums_12m,
       r.claims_ratio_pct,
       r.months_in_window::integer AS months_in_window,
       cr.claims_break_even_pct AS break_even_pct,
       COALESCE(r.claims_ratio_pct > cr.claims_break_even_pct, false) AS above_break_even
  FROM rolled r
  JOIN cobranca.contract ct ON ct.id = r.contract_id
  JOIN cobranca.creditor cr ON cr.id = r.creditor_id
 WHERE ct.portfolio_id IN (SELECT v.id FROM cobranca.visible_portfolio_ids() AS v(id));
COMMENT ON VIEW cobranca.claims_ratio_report IS
  'Claims ratio per creditor, contract and month over the rolling 12 months ending with that month (SPEC §2.6); health data: for supervisors and BI, never analysts';
COMMENT ON COLUMN cobranca.claims_ratio_report.creditor_id IS 'the operator';
COMMENT ON COLUMN cobranca.claims_ratio_report.portfolio_id IS 'the contract''s portfolio: a caller sees those assigned to its login';
COMMENT ON COLUMN cobranca.claims_ratio_report.contract_id IS 'the contract';
COMMENT ON COLUMN cobranca.claims_ratio_report.contract_number IS 'the contract''s number as the operator knows it';
COMMENT ON COLUMN cobranca.claims_ratio_report.month IS 'first day of the last month of the window';
COMMENT ON COLUMN cobranca.claims_ratio_report.claims_month IS 'claims cost that occurred in this month, BRL';
COMMENT ON COLUMN cobranca.claims_ratio_report.premiums_month IS 'premiums received in this month (payments on premium invoices, by payment date in the creditor''s time zone), BRL';
COMMENT ON COLUMN cobranca.claims_ratio_report.claims_12m IS 'claims cost of the 12 months ending with month, BRL';
COMMENT ON COLUMN cobranca.claims_ratio_report.premiums_12m IS 'premiums received in the 12 months ending with month, BRL';
COMMENT ON COLUMN cobranca.claims_ratio_report.claims_ratio_pct IS 'claims_12m ÷ premiums_12m × 100, 2 decimals (cobranca.claims_ratio); NULL when no premium was received in the window';
COMMENT ON COLUMN cobranca.claims_ratio_report.months_in_window IS 'months of the window since the contract''s first activity (12 once it has a full year)';
COMMENT ON COLUMN cobranca.claims_ratio_report.break_even_pct IS 'the creditor''s break-even claims ratio (creditor.claims_break_even_pct, default 70)';
COMMENT ON COLUMN cobranca.claims_ratio_report.above_break_even IS 'claims_ratio_pct is above break_even_pct (false when the ratio is NULL)';

-- ==== src/sql/85_kpi.sql
-- Portfolio KPIs for collection managers and BI tools (SPEC §5): what each
-- figure means is in doc/kpis.md and in the column comments of
-- cobranca.kpi_snapshot (repeated on cobranca.kpi_portfolio).
--
-- cobranca.kpi_portfolio_at(as_of, window_days) computes them live from the
-- tables; the job refresh_kpis stores them per portfolio and day in
-- cobranca.kpi_snapshot, and cobranca.kpi_portfolio shows each portfolio's
-- latest snapshot, so BI tools read a few rows instead of scanning every
-- invoice.  Both read with the caller's rights: row-level security decides
-- which portfolios a login sees.

CREATE TABLE cobranca.channel_cost (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint REFERENCES cobranca.creditor ON DELETE CASCADE,
  channel     text NOT NULL
    CHECK (cobranca.check_member('channel_cost.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  cost        numeric(12,4) NOT NULL CHECK (cobranca.check_range('channel_cost.cost', cost, 0, 10000)),
  CONSTRAINT channel_cost_key UNIQUE NULLS NOT DISTINCT (creditor_id, channel)
);
COMMENT ON TABLE cobranca.channel_cost IS
  'Cost in BRL of one contact attempt per channel, for the cost per real recovered; creditor_id null is the default for every creditor, a creditor''s own row overrides it';
COMMENT ON COLUMN cobranca.channel_cost.creditor_id IS 'the creditor this cost applies to; null: the default for creditors without their own';
COMMENT ON COLUMN cobranca.channel_cost.channel IS 'email, sms, whatsapp, phone or letter';
COMMENT ON COLUMN cobranca.channel_cost.cost IS 'BRL per attempted contact (sent, whatever the outcome)';

-- Illustrative defaults: a creditor should record its own contracted prices.
INSERT INTO cobranca.channel_cost (creditor_id, channel, cost) VALUES
  (NULL, 'email', 0.0100), (NULL, 'sms', 0.0800), (NULL, 'whatsapp', 0.3500),
  (NULL, 'phone', 1.5000), (NULL, 'letter', 13.9000);

SELECT pg_catalog.pg_extension_config_dump('cobranca.channel_cost', 'WHERE creditor_id IS NOT NULL');
SELECT pg_catalog.pg_extension_config_dump('cobranca.channel_cost_id_seq', '');

CREATE TABLE cobranca.kpi_snapshot (
  portfolio_id                   bigint NOT NULL REFERENCES cobranca.portfolio ON DELETE CASCADE,
  creditor_id                    bigint NOT NULL REFERENCES cobranca.creditor ON DELETE CASCADE,
  portfolio_name                 text NOT NULL,
  as_of                          date NOT NULL,
  window_days                    integer NOT NULL CHECK (window_days BETWEEN 1 AND 366),
  computed_at                    timestamptz NOT NULL,
  open_balance                   numeric(16,2) NOT NULL,
  disputed_balance               numeric(16,2) NOT NULL,
  overdue_balance                numeric(16,2) NOT NULL,
  aging_to_fall_due              numeric(16,2) NOT NULL,
  aging_1_30                     numeric(16,2) NOT NULL,
  aging_31_60                    numeric(16,2) NOT NULL,
  aging_61_90                    numeric(16,2) NOT NULL,
  aging_91_180                   numeric(16,2) NOT NULL,
  aging_over_180                 numeric(16,2) NOT NULL,
  overdue_at_start               numeric(16,2) NOT NULL,
  recovered_from_overdue         numeric(16,2) NOT NULL,
  recovery_rate_pct              numeric(7,2),
  recovered                      numeric(16,2) NOT NULL,
  contacts_attempted             bigint NOT NULL,
  contacts_effective             bigint NOT NULL,
  effective_contact_rate_pct     numeric(7,2),
  agreements                     bigint NOT NULL,
  agreement_rate_pct             numeric(7,2),
  mean_days_to_receive           numeric(10,1),
  billed_90d                     numeric(16,2) NOT NULL,
  dso_days                       numeric(10,1),
  contact_cost                   numeric(16,2) NOT NULL,
  cost_per_real_recovered        numeric(12,4),
  notices_due_by_day50           bigint NOT NULL,
  notices_confirmed_by_day50     bigint NOT NULL,
  notices_confirmed_by_day50_pct numeric(7,2),
  contracts_active_at_start      bigint NOT NULL,
  contracts_cancelled_default    bigint NOT NULL,
  churn_default_pct              numeric(7,2),
  CONSTRAINT kpi_snapshot_pkey PRIMARY KEY (portfolio_id, as_of, window_days)
);
CREATE INDEX kpi_snapshot_creditor_idx ON cobranca.kpi_snapshot (creditor_id, as_of);
COMMENT ON TABLE cobranca.kpi_snapshot IS
  'Portfolio KPIs per day, stored by the job refresh_kpis (one row per portfolio, as_of day and window); the history behind kpi_portfolio and the trend charts. Definitions: doc/kpis.md';
COMMENT ON COLUMN cobranca.kpi_snapshot.portfolio_id IS 'the portfolio';
COMMENT ON COLUMN cobranca.kpi_snapshot.creditor_id IS 'the portfolio''s creditor';
COMMENT ON COLUMN cobranca.kpi_snapshot.portfolio_name IS 'the portfolio''s name';
COMMENT ON COLUMN cobranca.kpi_snapshot.as_of IS 'the day the figures describe (end of that day, in the creditor''s time zone); the window is the window_days days ending with it';
COMMENT ON COLUMN cobranca.kpi_snapshot.window_days IS 'length in days of the window of the flow figures (recovery, contacts, agreements, days to receive, cost, notices, churn); 30 in the stored snapshots';
COMMENT ON COLUMN cobranca.kpi_snapshot.computed_at IS 'when the figures were computed: data recorded after it is not in them';
COMMENT ON COLUMN cobranca.kpi_snapshot.open_balance IS 'BRL still owed at as_of on invoices issued by then (amount − payments up to as_of), cancelled, written-off and in-agreement invoices excluded (an agreement''s debt is carried by its installments); = disputed_balance + aging_to_fall_due + overdue_balance';
COMMENT ON COLUMN cobranca.kpi_snapshot.disputed_balance IS 'part of open_balance on invoices with a dispute open at as_of (not overdue while disputed)';
COMMENT ON COLUMN cobranca.kpi_snapshot.overdue_balance IS 'part of open_balance past its due date and not disputed: the sum of the five aging buckets from 1 day on';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_to_fall_due IS 'open, undisputed balance not yet due (due on or after as_of)';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_1_30 IS 'overdue balance 1 to 30 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_31_60 IS 'overdue balance 31 to 60 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_61_90 IS 'overdue balance 61 to 90 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_91_180 IS 'overdue balance 91 to 180 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.aging_over_180 IS 'overdue balance more than 180 days past due';
COMMENT ON COLUMN cobranca.kpi_snapshot.overdue_at_start IS 'overdue_balance at the start of the window (as_of − window_days)';
COMMENT ON COLUMN cobranca.kpi_snapshot.recovered_from_overdue IS 'payments received in the window on the invoices overdue at its start, each capped at its overdue balance then';
COMMENT ON COLUMN cobranca.kpi_snapshot.recovery_rate_pct IS 'recovered_from_overdue ÷ overdue_at_start × 100; NULL when nothing was overdue at the start';
COMMENT ON COLUMN cobranca.kpi_snapshot.recovered IS 'real recovered: all payments received in the window after their invoice''s due date (late money brought in)';
COMMENT ON COLUMN cobranca.kpi_snapshot.contacts_attempted IS 'contacts of the window (by contact day) that were attempted: any status but scheduled or cancelled';
COMMENT ON COLUMN cobranca.kpi_snapshot.contacts_effective IS 'contacts of the window that reached the payer: delivered, read, replied or done';
COMMENT ON COLUMN cobranca.kpi_snapshot.effective_contact_rate_pct IS 'contacts_effective ÷ contacts_attempted × 100; NULL without attempts';
COMMENT ON COLUMN cobranca.kpi_snapshot.agreements IS 'agreements (cobranca.agreement) accepted in the window, by acceptance day in the creditor''s time zone, whatever became of them since';
COMMENT ON COLUMN cobranca.kpi_snapshot.agreement_rate_pct IS 'agreements ÷ contacts_effective × 100; NULL without effective contacts';
COMMENT ON COLUMN cobranca.kpi_snapshot.mean_days_to_receive IS 'mean of paid_on − issued_on, in days, over invoices settled in the window; NULL when none';
COMMENT ON COLUMN cobranca.kpi_snapshot.billed_90d IS 'amount of the invoices issued in the 90 days ending with as_of, agreement installments and cancelled invoices excluded';
COMMENT ON COLUMN cobranca.kpi_snapshot.dso_days IS 'days sales outstanding: open_balance ÷ billed_90d × 90; NULL when nothing was billed';
COMMENT ON COLUMN cobranca.kpi_snapshot.contact_cost IS 'attempted contacts of the window × their channel''s cost (cobranca.channel_cost, the creditor''s own row or the default)';
COMMENT ON COLUMN cobranca.kpi_snapshot.cost_per_real_recovered IS 'contact_cost ÷ recovered: BRL spent on contacts per BRL of late money received; NULL when nothing was recovered';
COMMENT ON COLUMN cobranca.kpi_snapshot.notices_due_by_day50 IS 'RN 593 default notices whose day 50 of default (default_since + 50) fell in the window, void ones and those cured before any confirmation excluded';
COMMENT ON COLUMN cobranca.kpi_snapshot.notices_confirmed_by_day50 IS 'of notices_due_by_day50, those whose 10-day term started by day 50: confirmed, or closed unreachable after the last attempt (default_notice.confirmed_by_day_50)';
COMMENT ON COLUMN cobranca.kpi_snapshot.notices_confirmed_by_day50_pct IS 'notices_confirmed_by_day50 ÷ notices_due_by_day50 × 100; NULL when none was due';
COMMENT ON COLUMN cobranca.kpi_snapshot.contracts_active_at_start IS 'contracts started by the start of the window and active then (active now, or changed status after it)';
COMMENT ON COLUMN cobranca.kpi_snapshot.contracts_cancelled_default IS 'contracts cancelled for default (status cancelled, reason default) with the change in the window';
COMMENT ON COLUMN cobranca.kpi_snapshot.churn_default_pct IS 'churn by default: contracts_cancelled_default ÷ contracts_active_at_start × 100; NULL when none was active';

SELECT pg_catalog.pg_extension_config_dump('cobranca.kpi_snapshot', '');

-- Who reads snapshots: supervisors, the rows of the portfolios assigned to
-- their login.  97_security.sql enables and forces row-level security on the
-- table (class custom: these are its policies and grants); channel_cost is
-- of class config there.
CREATE POLICY supervisor ON cobranca.kpi_snapshot
  FOR SELECT TO cobranca_supervisor
  USING (portfolio_id IN (SELECT a.portfolio_id FROM cobranca.assignment a
                           WHERE a.login = CURRENT_USER));
REVOKE ALL ON cobranca.kpi_snapshot FROM PUBLIC;
GRANT SELECT ON cobranca.kpi_snapshot TO cobranca_supervisor;

CREATE FUNCTION cobranca.kpi_portfolio_at(as_of date, window_days integer DEFAULT 30)
RETURNS SETOF cobranca.kpi_snapshot
LANGUAGE sql STABLE
AS $kpi$
WITH prm AS (
  SELECT $1 AS d, $1 - $2 AS s, $2 AS w
), pay AS (
  -- payments per invoice up to as_of: up to the window's start, in the
  -- window, and in the window after the due date (days in the creditor's
  -- time zone)
  SELECT p.invoice_id,
         pg_catalog.sum(p.amount) FILTER (WHERE x.paid_on <= prm.d) AS paid_to_d,
         pg_catalog.sum(p.amount) FILTER (WHERE x.paid_on <= prm.s) AS paid_to_s,
         pg_catalog.sum(p.amount) FILTER (WHERE x.paid_on > prm.s AND x.paid_on <= prm.d) AS paid_window,
         pg_catalog.sum(p.amount) FILTER (WHERE x.paid_on > prm.s AND x.paid_on <= prm.d
                                            AND x.paid_on > i.due_on) AS paid_late_window
    FROM prm
    JOIN cobranca.payment p ON p.paid_at < (prm.d + 2)::timestamp AT TIME ZONE 'UTC'
    JOIN cobranca.invoice i ON i.id = p.invoice_id
    JOIN cobranca.creditor c ON c.id = p.creditor_id
   CROSS JOIN LATERAL (SELECT (p.paid_at AT TIME ZONE c.timezone)::date AS paid_on) x
   GROUP BY p.invoice_id
), inv AS (
  -- each invoice issued by as_of that is not cancelled or written off
  SELECT i.id, i.portfolio_id, i.kind, i.status, i.amount, i.issued_on, i.due_on, i.paid_on,
         COALESCE(pay.paid_to_d, 0) AS paid_to_d,
         COALESCE(pay.paid_to_s, 0) AS paid_to_s,
         COALESCE(pay.paid_window, 0) AS paid_window,
         COALESCE(pay.paid_late_window, 0) AS paid_late_window
    FROM prm
    JOIN cobranca.invoice i ON i.issued_on <= prm.d
    LEFT JOIN pay ON pay.invoice_id = i.id
   WHERE i.status NOT IN ('cancelled', 'written_off')
), disp AS (
  SELECT dp.invoice_id,
         pg_catalog.bool_or(dp.answered_on IS NULL OR dp.answered_on > prm.d) AS at_d,
         pg_catalog.bool_or(dp.opened_on <= prm.s
                            AND (dp.answered_on IS NULL OR dp.answered_on > prm.s)) AS at_s
    FROM prm JOIN cobranca.dispute dp ON dp.opened_on <= prm.d
   GROUP BY dp.invoice_id
), bal AS (
  SELECT inv.*,
         inv.status <> 'in_agreement' AS carried,
         GREATEST(inv.amount - inv.paid_to_d, 0) AS bal_d,
         GREATEST(inv.amount - inv.paid_to_s, 0) AS bal_s,
         COALESCE(disp.at_d, false) AS disputed_d,
         COALESCE(disp.at_s, false) AS disputed_s,
         prm.d - inv.due_on AS days_late,
         inv.issued_on <= prm.s AND inv.due_on < prm.s AS due_at_s,
         prm.d, prm.s
    FROM prm, inv LEFT JOIN disp ON disp.invoice_id = inv.id
), inv_k AS (
  SELECT b.portfolio_id,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried) AS open_balance,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND b.disputed_d) AS disputed_balance,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late >= 1) AS overdue_balance,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late <= 0) AS aging_to_fall_due,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late BETWEEN 1 AND 30) AS aging_1_30,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late BETWEEN 31 AND 60) AS aging_31_60,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late BETWEEN 61 AND 90) AS aging_61_90,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late BETWEEN 91 AND 180) AS aging_91_180,
         pg_catalog.sum(b.bal_d) FILTER (WHERE b.carried AND NOT b.disputed_d AND b.days_late > 180) AS aging_over_180,
         pg_catalog.sum(b.bal_s) FILTER (WHERE b.carried AND NOT b.disputed_s AND b.due_at_s) AS overdue_at_start,
         pg_catalog.sum(LEAST(b.paid_window, b.bal_s))
           FILTER (WHERE b.carried AND NOT b.disputed_s AND b.due_at_s) AS recovered_from_overdue,
         pg_catalog.sum(b.paid_late_window) AS recovered,
         pg_catalog.avg(b.paid_on - b.issued_on)
           FILTER (WHERE b.paid_on > b.s AND b.paid_on <= b.d) AS mean_days_to_receive,
         pg_catalog.sum(b.amount)
           FILTER (WHERE b.kind <> 'installment' AND b.issued_on > b.d - 90) AS billed_90d
    FROM bal b
   GROUP BY b.portfolio_id
), con AS (
  SELECT ct.portfolio_id,
         pg_catalog.count(*) FILTER (WHERE ct.status NOT IN ('scheduled', 'cancelled')) AS attempted,
         pg_catalog.count(*) FILTER (WHERE ct.status IN ('delivered', 'read', 'replied', 'done')) AS effective,
         pg_catalog.sum(COALESCE(own.cost, dflt.cost, 0))
           FILTER (WHERE ct.status NOT IN ('scheduled', 'cancelled')) AS cost
    FROM prm
    JOIN cobranca.contact ct ON ct.contact_on > prm.s AND ct.contact_on <= prm.d
    LEFT JOIN cobranca.channel_cost own
      ON own.creditor_id = ct.creditor_id AND own.channel = ct.channel
    LEFT JOIN cobranca.channel_cost dflt
      ON dflt.creditor_id IS NULL AND dflt.channel = ct.channel
   GROUP BY ct.portfolio_id
), agr AS (
  -- agreements accepted in the window (acceptance day in the creditor's
  -- time zone), whatever became of them since
  SELECT ag.portfolio_id, pg_catalog.count(*) AS agreements
    FROM prm
    JOIN cobranca.agreement ag ON ag.accepted_at IS NOT NULL
                              AND ag.accepted_at < (prm.d + 2)::timestamp AT TIME ZONE 'UTC'
    JOIN cobranca.creditor c ON c.id = ag.creditor_id
   WHERE (ag.accepted_at AT TIME ZONE c.timezone)::date > prm.s
     AND (ag.accepted_at AT TIME ZONE c.timezone)::date <= prm.d
   GROUP BY ag.portfolio_id
), ntc AS (
  -- day n of a default is default_since + n; confirmed_by_day_50 is set by
  -- the notice's trigger (its 10-day term started by day 50)
  SELECT n.portfolio_id,
         pg_catalog.count(*) AS due,
         pg_catalog.count(*) FILTER (WHERE n.confirmed_by_day_50) AS confirmed
    FROM prm
    JOIN cobranca.default_notice n
      ON n.default_since + 50 > prm.s AND n.default_since + 50 <= prm.d
   WHERE n.status <> 'void'
     AND NOT (n.status = 'cured' AND n.term_start_on IS NULL)
   GROUP BY n.portfolio_id
), chn AS (
  SELECT k.portfolio_id,
         pg_catalog.count(*) FILTER (WHERE k.starts_on <= prm.s
                                       AND (k.status = 'active' OR k.changed_on > prm.s)) AS active_at_start,
         pg_catalog.count(*) FILTER (WHERE k.status = 'cancelled' AND k.status_reason = 'default'
                                       AND k.changed_on > prm.s AND k.changed_on <= prm.d) AS cancelled_default
    FROM prm,
         (SELECT ck.portfolio_id, ck.starts_on, ck.status, ck.status_reason,
                 (ck.status_changed_at AT TIME ZONE c.timezone)::date AS changed_on
            FROM cobranca.contract ck JOIN cobranca.creditor c ON c.id = ck.creditor_id) k
   GROUP BY k.portfolio_id
)
SELECT p.id, p.creditor_id, p.name, prm.d, prm.w, pg_catalog.now(),
       COALESCE(ik.open_balance, 0)::numeric(16,2),
       COALESCE(ik.disputed_balance, 0)::numeric(16,2),
       COALESCE(ik.overdue_balance, 0)::numeric(16,2),
       COALESCE(ik.aging_to_fall_due, 0)::numeric(16,2),
       COALESCE(ik.aging_1_30, 0)::numeric(16,2),
       COALESCE(ik.aging_31_60, 0)::numeric(16,2),
       COALESCE(ik.aging_61_90, 0)::numeric(16,2),
       COALESCE(ik.aging_91_180, 0)::numeric(16,2),
       COALESCE(ik.aging_over_180, 0)::numeric(16,2),
       COALESCE(ik.overdue_at_start, 0)::numeric(16,2),
       COALESCE(ik.recovered_from_overdue, 0)::numeric(16,2),
       pg_catalog.round(100 * ik.recovered_from_overdue / NULLIF(ik.overdue_at_start, 0), 2)::numeric(7,2),
       COALESCE(ik.recovered, 0)::numeric(16,2),
       COALESCE(con.attempted, 0),
       COALESCE(con.effective, 0),
       pg_catalog.round(100.0 * con.effective / NULLIF(con.attempted, 0), 2)::numeric(7,2),
       COALESCE(agr.agreements, 0),
       pg_catalog.round(100.0 * COALESCE(agr.agreements, 0) / NULLIF(con.effective, 0), 2)::numeric(7,2),
       pg_catalog.round(ik.mean_days_to_receive, 1)::numeric(10,1),
       COALESCE(ik.billed_90d, 0)::numeric(16,2),
       pg_catalog.round(COALESCE(ik.open_balance, 0) * 90 / NULLIF(ik.billed_90d, 0), 1)::numeric(10,1),
       COALESCE(con.cost, 0)::numeric(16,2),
       pg_catalog.round(COALESCE(con.cost, 0) / NULLIF(ik.recovered, 0), 4)::numeric(12,4),
       COALESCE(ntc.due, 0),
       COALESCE(ntc.confirmed, 0),
       pg_catalog.round(100.0 * ntc.confirmed / NULLIF(ntc.due, 0), 2)::numeric(7,2),
       COALESCE(chn.active_at_start, 0),
       COALESCE(chn.cancelled_default, 0),
       pg_catalog.round(100.0 * chn.cancelled_default / NULLIF(chn.active_at_start, 0), 2)::numeric(7,2)
  FROM prm
 CROSS JOIN cobranca.portfolio p
  LEFT JOIN inv_k ik ON ik.portfolio_id = p.id
  LEFT JOIN con ON con.portfolio_id = p.id
  LEFT JOIN agr ON agr.portfolio_id = p.id
  LEFT JOIN ntc ON ntc.portfolio_id = p.id
  LEFT JOIN chn ON chn.portfolio_id = p.id
 ORDER BY p.id
$kpi$;
COMMENT ON FUNCTION cobranca.kpi_portfolio_at(date, integer) IS
  'Portfolio KPIs computed live as of the end of day as_of, flow figures over the window_days days ending with it (default 30); one row per portfolio the caller may see; columns as in cobranca.kpi_snapshot, definitions in doc/kpis.md';

CREATE FUNCTION cobranca.kpi_refresh_seconds() RETURNS integer
  AS 'MODULE_PATHNAME', 'cobranca_kpi_refresh_seconds'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.kpi_refresh_seconds() IS
  'the setting cobranca.kpi_refresh_interval in seconds: least time between two KPI snapshots of the same day';

CREATE FUNCTION cobranca.refresh_kpis(as_of timestamptz) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $refresh$
DECLARE
  day   date;
  fresh interval := pg_catalog.make_interval(secs => cobranca.kpi_refresh_seconds());
  n     bigint;
  total bigint := 0;
BEGIN
  -- each creditor's "today" is its own local date
  FOR day IN SELECT DISTINCT (refresh_kpis.as_of AT TIME ZONE c.timezone)::date
               FROM cobranca.creditor c ORDER BY 1
  LOOP
    -- computing is a scan of every invoice: keep a snapshot of this day
    -- younger than cobranca.kpi_refresh_interval, unless a portfolio has none
    CONTINUE WHEN fresh > interval '0'
      AND NOT EXISTS (
        SELECT 1
          FROM cobranca.portfolio p
          JOIN cobranca.creditor c ON c.id = p.creditor_id
         WHERE (refresh_kpis.as_of AT TIME ZONE c.timezone)::date = day
           AND NOT EXISTS (SELECT 1 FROM cobranca.kpi_snapshot s
                            WHERE s.portfolio_id = p.id AND s.as_of = day AND s.window_days = 30
                              AND s.computed_at > pg_catalog.now() - fresh));
    DELETE FROM cobranca.kpi_snapshot s
     USING cobranca.creditor c
     WHERE c.id = s.creditor_id AND s.as_of = day AND s.window_days = 30
       AND (refresh_kpis.as_of AT TIME ZONE c.timezone)::date = day;
    INSERT INTO cobranca.kpi_snapshot
    SELECT k.*
      FROM cobranca.kpi_portfolio_at(day, 30) k
      JOIN cobranca.creditor c ON c.id = k.creditor_id
     WHERE (refresh_kpis.as_of AT TIME ZONE c.timezone)::date = day;
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
  END LOOP;
  RETURN total;
END
$refresh$;
COMMENT ON FUNCTION cobranca.refresh_kpis(timestamptz) IS
  'Job refresh_kpis (runs as its owner, so that every portfolio is counted; executable by cobranca_admin): stores every portfolio''s KPIs as of the given instant''s local day (30-day window) in cobranca.kpi_snapshot, replacing that day''s earlier snapshot unless it is younger than cobranca.kpi_refresh_interval; returns the rows stored';
REVOKE EXECUTE ON FUNCTION cobranca.refresh_kpis(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cobranca.refresh_kpis(timestamptz) TO cobranca_admin;

INSERT INTO cobranca.job (name, position, function, description) VALUES
  ('refresh_kpis', 60, 'cobranca.refresh_kpis(timestamptz)',
   'Store the day''s portfolio KPIs in cobranca.kpi_snapshot (read by cobranca.kpi_portfolio)');

CREATE VIEW cobranca.kpi_portfolio WITH (security_invoker = true) AS
SELECT DISTINCT ON (s.portfolio_id) s.*
  FROM cobranca.kpi_snapshot s
 WHERE s.window_days = 30
 ORDER BY s.portfolio_id, s.as_of DESC;
COMMENT ON VIEW cobranca.kpi_portfolio IS
  'Each portfolio''s latest KPIs (30-day window), as stored by the job refresh_kpis: as_of and computed_at say as of when; cobranca.kpi_portfolio_at(date) computes them live. Definitions: doc/kpis.md';

-- the view's columns mean what the snapshot's do
DO $comments$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT a.attname, d.description
             FROM pg_catalog.pg_attribute a
             JOIN pg_catalog.pg_description d
               ON d.objoid = a.attrelid AND d.objsubid = a.attnum
                AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
            WHERE a.attrelid = 'cobranca.kpi_snapshot'::pg_catalog.regclass
  LOOP
    EXECUTE pg_catalog.format('COMMENT ON COLUMN cobranca.kpi_portfolio.%I IS %L',
                              r.attname, r.description);
  END LOOP;
END
$comments$;

GRANT SELECT ON cobranca.kpi_portfolio, cobranca.claims_ratio_report,
  cobranca.claims_premiums_monthly TO cobranca_supervisor;

-- ==== src/sql/90_jobs.sql
-- The job runner (src/worker.c): one collection cycle runs every enabled job
-- of cobranca.job in position order, each in its own subtransaction, and
-- keeps one row per job per cycle in cobranca.job_run.
--
-- Two cycles never run at once in one database: cobranca.run_jobs() takes
-- the transaction-level advisory lock (1668244082, 1) ('cobr', 1; the same
-- key as COBRANCA_CYCLE_LOCK_KEY1/2 in src/worker.h) and waits for a cycle
-- running elsewhere; the background worker only tries it and skips its
-- cycle when someone else holds it.

CREATE SEQUENCE cobranca.job_cycle_seq;
COMMENT ON SEQUENCE cobranca.job_cycle_seq IS
  'numbers the collection cycles: every row a cycle writes in cobranca.job_run carries the same number';

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
COMMENT ON TABLE cobranca.job_run IS
  'History of the collection cycles: one row per job per cycle, kept for cobranca.job_run_retention days (job prune_job_runs)';
COMMENT ON COLUMN cobranca.job_run.id IS 'row number';
COMMENT ON COLUMN cobranca.job_run.cycle IS 'number of the cycle (cobranca.job_cycle_seq); the rows of one cycle share it';
COMMENT ON COLUMN cobranca.job_run.job IS 'name of the job (cobranca.job.name); run_jobs for an error that stopped the whole cycle of the background worker';
COMMENT ON COLUMN cobranca.job_run.as_of IS 'instant the cycle ran for, passed to every job';
COMMENT ON COLUMN cobranca.job_run.started_at IS 'wall-clock start of the job';
COMMENT ON COLUMN cobranca.job_run.finished_at IS 'wall-clock end of the job';
COMMENT ON COLUMN cobranca.job_run.rows IS 'rows the job created or changed, as it reported them; null when it failed';
COMMENT ON COLUMN cobranca.job_run.error IS 'error message when the job failed (its work was rolled back, the other jobs ran); null on success';
COMMENT ON COLUMN cobranca.job_run.sqlstate IS 'SQLSTATE of the error; null on success';
COMMENT ON COLUMN cobranca.job_run.pid IS 'process id of the backend that ran the cycle (the background worker or a session calling run_jobs)';

SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_cycle_seq', '');

CREATE FUNCTION cobranca.job_run_retention_days() RETURNS integer
  AS 'MODULE_PATHNAME', 'cobranca_job_run_retention_days'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.job_run_retention_days() IS
  'days of history kept in cobranca.job_run: the setting cobranca.job_run_retention';

CREATE FUNCTION cobranca.run_jobs(as_of timestamptz DEFAULT pg_catalog.now())
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

CREATE FUNCTION cobranca.prune_job_runs(as_of timestamptz) RETURNS bigint
  LANGUAGE sql
  SET search_path = pg_catalog, pg_temp
AS $fn$
  WITH gone AS (
    DELETE FROM cobranca.job_run r
     WHERE r.started_at < LEAST(prune_job_runs.as_of, pg_catalog.now())
                          - pg_catalog.make_interval(days => cobranca.job_run_retention_days())
    RETURNING 1)
  SELECT pg_catalog.count(*) FROM gone
$fn$;
COMMENT ON FUNCTION cobranca.prune_job_runs(timestamptz) IS
  'Job: deletes the cobranca.job_run rows older than cobranca.job_run_retention days before as_of (never later than now, so a cycle never prunes itself); returns how many';
REVOKE ALL ON FUNCTION cobranca.prune_job_runs(timestamptz) FROM PUBLIC;

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('prune_job_runs', 90, 'cobranca.prune_job_runs(timestamptz)',
        'delete job history older than cobranca.job_run_retention days');

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

-- ==== src/sql/92_partition.sql
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

-- ==== src/sql/92_partition_defaults.sql
-- The default partitions of the time-partitioned tables (src/sql/92_partition.sql).


-- The default partitions (made with their tables): members of the
-- extension, their rows dumped.
SELECT cobranca.partition_prepare('cobranca.audit_log', 'cobranca.audit_log_default');
SELECT cobranca.partition_prepare('cobranca.job_run', 'cobranca.job_run_default');
COMMENT ON TABLE cobranca.audit_log_default IS
  'rows of cobranca.audit_log whose month has no partition yet (job maintain_partitions moves them out)';
COMMENT ON TABLE cobranca.job_run_default IS
  'rows of cobranca.job_run whose month has no partition yet (job maintain_partitions moves them out)';
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_default', '');

-- ==== src/sql/93_replica.sql
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

-- ==== src/sql/94_citus.sql
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

-- ==== src/sql/95_sample.sql
-- Sample portfolio generator, for demos, tests and benchmarks.
--
-- Deterministic: every choice is a hash of (seed, row number, salt), not
-- random(), so the same call gives the same portfolio whatever the plan.

-- No SET clause: the planner inlines it into the generator's statements
-- (it is called several times for every row), so its operators are
-- schema-qualified instead.
CREATE FUNCTION cobranca.sample_random(seed integer, n bigint, salt integer)
  RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT (pg_catalog.hashint8extended(n, seed::bigint OPERATOR(pg_catalog.*) 1000003 OPERATOR(pg_catalog.+) salt)
          OPERATOR(pg_catalog.&) 2147483647)::float8
         OPERATOR(pg_catalog./) 2147483648.0::float8
$$;
COMMENT ON FUNCTION cobranca.sample_random(integer, bigint, integer) IS
  'deterministic pseudo-random number in [0,1) from (seed, n, salt), for the sample generator';

CREATE FUNCTION cobranca.sample_cpf(n bigint) RETURNS text
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

CREATE FUNCTION cobranca.generate_sample(seed integer DEFAULT 42,
                                         payers integer DEFAULT 2000,
                                         months integer DEFAULT 14,
                                         as_of date DEFAULT CURRENT_DATE)
  RETURNS TABLE (entity text, rows bigint)
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  op_id    bigint;
  cl_id    bigint;
  pf_pf    bigint;
  pf_col   bigint;
  pf_cli   bigint;
  first_m  date := (date_trunc('month', as_of) - make_interval(months => months - 1))::date;
  n        bigint;
BEGIN
  IF payers < 1 OR months < 1 OR months > 120 THEN
    RAISE EXCEPTION 'generate_sample: payers must be positive and months between 1 and 120'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('payers is %s, months is %s.', payers, months);
  END IF;

  INSERT INTO cobranca.creditor (name, document, kind, ans_registry, address, city, uf, pix_key,
                                 fine_pct, interest_month_pct, service_phone, service_email, service_site)
  VALUES ('Vida Plena Saúde S.A.', '11222333000181', 'health_plan', '412345',
          'Av. Paulista, 1000, Bela Vista', 'São Paulo', 'SP', 'cobranca@vidaplena.com.br',
          2.00, 1.00, '08007771234', 'atendimento@vidaplena.com.br', 'www.vidaplena.com.br')
  ON CONFLICT (document) DO UPDATE SET name = EXCLUDED.name
  RETURNING id INTO op_id;
  INSERT INTO cobranca.creditor (name, document, kind, address, city, uf, pix_key,
                                 fine_pct, interest_month_pct, service_phone, service_email)
  VALUES ('Clínica Bem Estar Ltda.', '60574652000161', 'clinic',
          'Rua Voluntários da Pátria, 250, Botafogo', 'Rio de Janeiro', 'RJ', '60574652000161',
          2.00, 1.00, '2130001234', 'financeiro@bemestar.com.br')
  ON CONFLICT (document) DO UPDATE SET name = EXCLUDED.name
  RETURNING id INTO cl_id;

  INSERT INTO cobranca.portfolio (creditor_id, name) VALUES (op_id, 'Pessoa física')
    ON CONFLICT (creditor_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id INTO pf_pf;
  INSERT INTO cobranca.portfolio (creditor_id, name) VALUES (op_id, 'Coletivos')
    ON CONFLICT (creditor_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id INTO pf_col;
  INSERT INTO cobranca.portfolio (creditor_id, name) VALUES (cl_id, 'Particulares')
    ON CONFLICT (creditor_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id INTO pf_cli;
  entity := 'creditor'; rows := 2; RETURN NEXT;
  entity := 'portfolio'; rows := 3; RETURN NEXT;

  SET LOCAL client_min_messages = warning;
  DROP TABLE IF EXISTS pg_temp.sample_payer, pg_temp.sample_invoice;
  RESET client_min_messages;

  -- payers: 85% beneficiaries of the operator, 15% patients of the clinic
  CREATE TEMP TABLE sample_payer ON COMMIT DROP AS
  SELECT i,
         cobranca.sample_random(seed, i, 1) AS r_creditor,
         cobranca.sample_random(seed, i, 2) AS r_plan,
         cobranca.sample_random(seed, i, 3) AS r_profile,
         cobranca.sample_random(seed, i, 4) AS r_uf,
         cobranca.sample_random(seed, i, 5) AS r_contact,
         cobranca.sample_random(seed, i, 6) AS r_amount
    FROM generate_series(1, payers) AS i;

  INSERT INTO cobranca.payer (portfolio_id, external_id, kind, document, name, email, phone,
                              whatsapp, uf, timezone, opt_out)
  SELECT CASE WHEN s.r_creditor >= 0.85 THEN pf_cli
              WHEN s.r_plan >= 0.65 THEN pf_col ELSE pf_pf END,
         'P' || lpad(s.i::text, 8, '0'),
         'person',
         cobranca.sample_cpf(s.i + seed::bigint * 1000000),
         (ARRAY['Ana','Bruno','Carla','Daniel','Eduarda','Felipe','Gabriela','Henrique','Isabela',
                'João','Larissa','Marcos','Natália','Otávio','Patrícia','Rafael','Sofia','Thiago',
                'Vanessa','Wagner'])[1 + (s.i * 7 % 20)::int] || ' ' ||
         (ARRAY['Silva','Santos','Oliveira','Souza','Rodrigues','Ferreira','Alves','Pereira',
                'Lima','Gomes','Costa','Ribeiro','Martins','Carvalho','Almeida','Lopes','Soares',
                'Fernandes','Vieira','Barbosa'])[1 + (s.i * 13 % 20)::int],
         CASE WHEN s.r_contact < 0.80 THEN 'pagador' || s.i || '@exemplo.com.br' END,
         CASE WHEN s.r_contact < 0.90 THEN '55119' || lpad((s.i % 100000000)::text, 8, '0') END,
         CASE WHEN s.r_contact > 0.15 THEN '55119' || lpad((s.i % 100000000)::text, 8, '0') END,
         u.uf, u.tz,
         CASE WHEN s.r_contact > 0.95 THEN ARRAY['sms'] ELSE '{}' END
    FROM sample_payer s
    CROSS JOIN LATERAL (
      SELECT CASE WHEN s.r_uf < 0.45 THEN 'SP' WHEN s.r_uf < 0.60 THEN 'RJ'
                  WHEN s.r_uf < 0.70 THEN 'MG' WHEN s.r_uf < 0.75 THEN 'ES'
                  WHEN s.r_uf < 0.80 THEN 'BA' WHEN s.r_uf < 0.84 THEN 'PE'
                  WHEN s.r_uf < 0.88 THEN 'RS' WHEN s.r_uf < 0.91 THEN 'PR'
                  WHEN s.r_uf < 0.94 THEN 'AL' WHEN s.r_uf < 0.97 THEN 'AM'
                  WHEN s.r_uf < 0.99 THEN 'MT' ELSE 'AC' END AS uf) u0
    CROSS JOIN LATERAL (
      SELECT u0.uf,
             CASE u0.uf WHEN 'AM' THEN 'America/Manaus' WHEN 'MT' THEN 'America/Cuiaba'
                        WHEN 'AC' THEN 'America/Rio_Branco' ELSE 'America/Sao_Paulo' END AS tz) u
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'payer'; rows := n; RETURN NEXT;

  -- one contract per beneficiary of the operator
  INSERT INTO cobranca.contract (payer_id, external_id, number, plan_name, plan_ans_registry,
                                 plan_type, paid_by_person, starts_on)
  SELECT p.id, 'C' || substr(p.external_id, 2), 'VP-' || substr(p.external_id, 2),
         CASE WHEN s.r_plan < 0.40 THEN 'Vida Plena Essencial'
              WHEN s.r_plan < 0.65 THEN 'Vida Plena Família'
              ELSE 'Vida Plena Coletivo' END,
         '48765432' || (s.i % 10)::text,
         CASE WHEN s.r_plan < 0.40 THEN 'individual' WHEN s.r_plan < 0.65 THEN 'family'
              WHEN s.r_plan < 0.90 THEN 'collective_membership' ELSE 'collective_business' END,
         CASE WHEN s.r_plan < 0.65 THEN true WHEN s.r_plan < 0.80 THEN true ELSE false END,
         first_m - (s.i % 365)::int
    FROM cobranca.payer p
    JOIN sample_payer s ON p.external_id = 'P' || lpad(s.i::text, 8, '0')
   WHERE p.creditor_id = op_id
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'contract'; rows := n; RETURN NEXT;

  -- invoices.  Payment profile per payer (r_profile): punctual 60%, late 22%,
  -- partial 5%, defaulter 8% (stops paying 2 to 5 months before as_of),
  -- never pays 5%.
  CREATE TEMP TABLE sample_invoice ON COMMIT DROP AS
  SELECT p.id AS payer_id, c.id AS contract_id, s.i, s.r_profile, m.k,
         'premium'::text AS kind,
         (first_m + make_interval(months => m.k))::date AS competence,
         (first_m + make_interval(months => m.k))::date - 10 AS issued_on,
         (first_m + make_interval(months => m.k))::date + 9 AS due_on,
         round((180 + s.r_amount * 1200 * CASE c.plan_type WHEN 'family' THEN 2.2 ELSE 1 END)::numeric, 2) AS amount
    FROM cobranca.payer p
    JOIN sample_payer s ON p.external_id = 'P' || lpad(s.i::text, 8, '0')
    JOIN cobranca.contract c ON c.payer_id = p.id
    CROSS JOIN generate_series(0, months) AS m(k)
   WHERE p.creditor_id = op_id
  UNION ALL
  SELECT p.id, c.id, s.i, s.r_profile, m.k, 'copay',
         (first_m + make_interval(months => m.k))::date,
         (first_m + make_interval(months => m.k))::date - 10,
         (first_m + make_interval(months => m.k))::date + 9,
         round((15 + cobranca.sample_random(seed, s.i * 1000 + m.k, 7) * 280)::numeric, 2)
    FROM cobranca.payer p
    JOIN sample_payer s ON p.external_id = 'P' || lpad(s.i::text, 8, '0')
    JOIN cobranca.contract c ON c.payer_id = p.id
    CROSS JOIN generate_series(0, months - 1) AS m(k)
   WHERE p.creditor_id = op_id AND cobranca.sample_random(seed, s.i * 1000 + m.k, 8) < 0.25
  UNION ALL
  SELECT p.id, NULL, s.i, s.r_profile, m.k, 'private', NULL,
         (first_m + make_interval(months => m.k) + make_interval(days => (s.i % 20)::int))::date,
         (first_m + make_interval(months => m.k) + make_interval(days => (s.i % 20)::int + 15))::date,
         round((120 + cobranca.sample_random(seed, s.i * 1000 + m.k, 9) * 2400)::numeric, 2)
    FROM cobranca.payer p
    JOIN sample_payer s ON p.external_id = 'P' || lpad(s.i::text, 8, '0')
    CROSS JOIN generate_series(0, months - 1) AS m(k)
   WHERE p.creditor_id = cl_id AND cobranca.sample_random(seed, s.i * 1000 + m.k, 10) < 0.15;

  INSERT INTO cobranca.invoice (payer_id, contract_id, external_id, kind, competence,
                                issued_on, due_on, amount)
  SELECT payer_id, contract_id,
         upper(substr(kind, 1, 2)) || '-' || i || '-' || k, kind, competence, issued_on, due_on, amount
    FROM sample_invoice
   WHERE issued_on <= as_of
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'invoice'; rows := n; RETURN NEXT;

  -- payments, by profile; only those dated up to as_of exist yet
  INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
  SELECT inv.id, 'PG-' || inv.external_id,
         (x.paid_on + time '10:00' + make_interval(mins => (x.r * 600)::int)) AT TIME ZONE 'America/Sao_Paulo',
         CASE WHEN x.partial THEN round(inv.amount * 0.5, 2) ELSE inv.amount END,
         (ARRAY['pix','boleto','card','transfer','boleto','pix'])[1 + (inv.id % 6)::int]
    FROM sample_invoice s
    JOIN cobranca.invoice inv ON inv.payer_id = s.payer_id
                             AND inv.external_id = upper(substr(s.kind, 1, 2)) || '-' || s.i || '-' || s.k
    CROSS JOIN LATERAL (
      SELECT cobranca.sample_random(seed, inv.id, 11) AS r,
             s.due_on + CASE
               WHEN s.r_profile < 0.60 THEN -(s.i % 5)::int
               WHEN s.r_profile < 0.82 THEN 3 + (cobranca.sample_random(seed, inv.id, 12) * 45)::int
               ELSE (cobranca.sample_random(seed, inv.id, 12) * 10)::int END AS paid_on,
             s.r_profile >= 0.82 AND s.r_profile < 0.87 AND cobranca.sample_random(seed, inv.id, 13) < 0.4 AS partial,
             CASE
               WHEN s.r_profile >= 0.95 THEN false                                    -- never pays
               WHEN s.r_profile >= 0.87 THEN s.competence IS NULL
                      OR s.competence < (date_trunc('month', as_of)
                                         - make_interval(months => 1 + (s.i % 4)::int))::date
               WHEN s.kind = 'private' THEN cobranca.sample_random(seed, inv.id, 14) < 0.7
               ELSE cobranca.sample_random(seed, inv.id, 15) < 0.97 END AS pays
    ) x
   WHERE x.pays AND x.paid_on <= as_of
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'payment'; rows := n; RETURN NEXT;

  -- disputes on 2% of the unpaid invoices; a third of them answered
  INSERT INTO cobranca.dispute (invoice_id, external_id, opened_on, reason, answered_on, outcome)
  SELECT inv.id, 'DS-' || inv.external_id, LEAST(inv.due_on + 5, as_of),
         (ARRAY['Valor de coparticipação não reconhecido', 'Reajuste contestado',
                'Cobrança em duplicidade alegada'])[1 + (inv.id % 3)::int],
         CASE WHEN cobranca.sample_random(seed, inv.id, 17) < 0.33 THEN LEAST(inv.due_on + 20, as_of) END,
         CASE WHEN cobranca.sample_random(seed, inv.id, 17) < 0.33 THEN 'rejected' END
    FROM cobranca.invoice inv
   WHERE inv.creditor_id IN (op_id, cl_id) AND inv.status = 'open'
     AND cobranca.sample_random(seed, inv.id, 16) < 0.02
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'dispute'; rows := n; RETURN NEXT;

  -- claims: 0 to 3 a month per contract; hospitalizations for 1.5% of them
  INSERT INTO cobranca.claim (contract_id, external_id, occurred_on, amount, category)
  SELECT c.id, 'SN-' || c.id || '-' || m.k || '-' || j,
         (first_m + make_interval(months => m.k, days => (j * 7 + c.id % 7)::int))::date,
         round((40 + cobranca.sample_random(seed, c.id * 10000 + m.k * 10 + j, 18)
                * CASE WHEN j = 3 THEN 6000 ELSE 450 END)::numeric, 2),
         (ARRAY['consultation','exam','therapy','hospital'])[1 + j]
    FROM cobranca.contract c
    CROSS JOIN generate_series(0, months - 1) AS m(k)
    CROSS JOIN generate_series(0, 3) AS j
   WHERE c.creditor_id = op_id
     AND cobranca.sample_random(seed, c.id * 10000 + m.k * 10 + j, 19) < CASE WHEN j = 3 THEN 0.02 ELSE 0.35 END
     AND (first_m + make_interval(months => m.k, days => (j * 7 + c.id % 7)::int))::date <= as_of
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'claim'; rows := n; RETURN NEXT;

  INSERT INTO cobranca.hospitalization (contract_id, external_id, admitted_on, discharged_on)
  SELECT c.id, 'IN-' || c.id, as_of - 3 - (c.id % 40)::int,
         CASE WHEN cobranca.sample_random(seed, c.id, 21) < 0.5 THEN as_of - (c.id % 3)::int END
    FROM cobranca.contract c
   WHERE c.creditor_id = op_id AND cobranca.sample_random(seed, c.id, 20) < 0.015
  ON CONFLICT (creditor_id, external_id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  entity := 'hospitalization'; rows := n; RETURN NEXT;

  DROP TABLE pg_temp.sample_payer, pg_temp.sample_invoice;
END
$$;
COMMENT ON FUNCTION cobranca.generate_sample(integer, integer, integer, date) IS
  'creates a deterministic sample portfolio (an operator and a clinic, payers, contracts, premiums, copays, private bills, payments, disputes, claims, hospitalizations) and returns what it inserted';

-- ==== src/sql/97_security.sql
-- Row-level security, grants and audit triggers, applied to every table of
-- the schema by class.  This file runs late so that it sees every table.
--
-- Every table of schema cobranca has exactly one line in the list below;
-- CREATE EXTENSION fails if one is missing, so that no table is forgotten.
-- A new table needs one line: ('name', 'class').  The classes, the matrix
-- they implement and the reasons are in doc/security.md:
--
--   class      rows seen by staff (analyst, supervisor, legal)   erp       analyst  supervisor legal  admin
--   tenant     creditors of their assigned portfolios             R own     R        R          R      SIUD
--   portfolio  their assigned portfolios                          R own     R        R          R      SIUD
--   payer      rows of their portfolios (portfolio_id, or the     SIUD own  R        R          R      -
--   billing      parent row through invoice_id, contract_id,      SIUD own  R        R          R      -
--   money        payer_id, contact_id or agreement_id, which      SIUD own  R        R          -      -
--                the parent's policy filters)
--   work                                                          SIUD own  SIU      SIU        R      -
--   notice                                                        R own     R        R          RU     -
--   report     (written by jobs or functions: scores, agreements)  R own     R        R          R      -
--   health     (health data: the ERP only; aggregates via views)  SIUD own  -        -          -      -
--   config     creditor_id null or one they work                  R         R        R          R      SIUD
--   access     their own rows (login = current_user)              R own     R own    R own      R own  SIUD
--   audit      legal: rows of the creditors it works              -         -        -          R      R
--   hold       legal: holds of the creditors it works             -         -        -          SI     SIUD
--   ops        run history of the jobs                            -         -        -          -      R
--   custom     the module that owns the table keeps its own policies and grants (reviewed);
--              here only row-level security is enabled and forced
--   internal   nobody (functions reach them as their owner)       -         -        -          -      -
-- R = SELECT, S/I/U/D = SELECT/INSERT/UPDATE/DELETE; "own" = the creditor of
-- cobranca.erp_login.  Every class but audit, ops, custom and internal gets
-- the audit capture trigger.  A line for a table that does not exist (yet) is
-- dropped, so that the list may name tables of modules still to come.  Superusers and BYPASSRLS roles are not filtered.

CREATE TABLE cobranca.table_class (
  table_name name PRIMARY KEY,
  class      text NOT NULL
    CHECK (class IN ('tenant', 'portfolio', 'payer', 'billing', 'money', 'work', 'notice', 'report',
                     'health', 'config', 'access', 'audit', 'hold', 'ops', 'custom', 'internal'))
);
COMMENT ON TABLE cobranca.table_class IS
  'The security class of every table of the schema (see doc/security.md); filled by CREATE EXTENSION, which refuses to finish if a table has none';

INSERT INTO cobranca.table_class (table_name, class) VALUES
  ('creditor',         'tenant'),
  ('portfolio',        'portfolio'),
  ('payer',            'payer'),
  ('contract',         'billing'),
  ('invoice',          'billing'),
  ('payment',          'money'),
  ('dispute',          'money'),
  ('contact',          'work'),
  ('contact_event',    'work'),
  ('protocol_counter', 'work'),
  ('agreement',        'report'),
  ('agreement_installment', 'report'),
  ('invoice_score',    'internal'),
  ('kpi_snapshot',     'custom'),
  ('default_notice',   'notice'),
  ('claim',            'health'),
  ('hospitalization',  'health'),
  ('cadence_rule',     'config'),
  ('score_model',      'config'),
  ('agreement_tier',   'config'),
  ('job',              'config'),
  ('channel_cost',     'config'),
  ('holiday',          'config'),
  ('contact_window',   'config'),
  ('channel_capacity', 'config'),
  ('job_run',          'ops'),
  ('assignment',       'access'),
  ('erp_login',        'access'),
  ('audit_log',        'audit'),
  ('audit_seal',       'audit'),
  ('audit_hold',       'hold'),
  ('audit_seal_state', 'internal'),
  ('key_ring',         'internal'),
  ('table_class',      'internal');

-- A TRUNCATE of a domain table leaves a trace too (one row per statement).
CREATE FUNCTION cobranca.audit_truncate() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
  PERFORM cobranca.audit_note(TG_TABLE_NAME, 'TRUNCATE', NULL, NULL, NULL, NULL);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.audit_truncate() IS
  'statement trigger: records a TRUNCATE of a domain table in cobranca.audit_log';
REVOKE ALL ON FUNCTION cobranca.audit_truncate() FROM PUBLIC;

CREATE FUNCTION cobranca.unclassified_tables() RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT pg_catalog.string_agg(c.relname, ', ' ORDER BY c.relname)
    FROM pg_catalog.pg_class c
   WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind IN ('r', 'p')
     AND NOT c.relispartition	-- a partition takes its table's class
     AND NOT EXISTS (SELECT 1 FROM cobranca.table_class k WHERE k.table_name = c.relname)
$$;
COMMENT ON FUNCTION cobranca.unclassified_tables() IS
  'names of the tables of schema cobranca without a security class (null when none): CREATE EXTENSION refuses to finish while there is one';

DO $security$
DECLARE
  t record;
  classes text[];
  entry text;
  missing text;
  roles constant text[] := ARRAY['cobranca_erp', 'cobranca_analyst', 'cobranca_supervisor',
                                 'cobranca_legal', 'cobranca_admin'];
  -- privileges by class, in the order of "roles"
  privs constant jsonb := '{
    "tenant":    ["SELECT", "SELECT", "SELECT", "SELECT", "SELECT, INSERT, UPDATE, DELETE"],
    "portfolio": ["SELECT", "SELECT", "SELECT", "SELECT", "SELECT, INSERT, UPDATE, DELETE"],
    "payer":     ["SELECT, INSERT, UPDATE, DELETE", "SELECT", "SELECT", "SELECT", ""],
    "billing":   ["SELECT, INSERT, UPDATE, DELETE", "SELECT", "SELECT", "SELECT", ""],
    "money":     ["SELECT, INSERT, UPDATE, DELETE", "SELECT", "SELECT", "", ""],
    "work":      ["SELECT, INSERT, UPDATE, DELETE", "SELECT, INSERT, UPDATE", "SELECT, INSERT, UPDATE", "SELECT", ""],
    "notice":    ["SELECT", "SELECT", "SELECT", "SELECT, UPDATE", ""],
    "report":    ["SELECT", "SELECT", "SELECT", "SELECT", ""],
    "health":    ["SELECT, INSERT, UPDATE, DELETE", "", "", "", ""],
    "config":    ["SELECT", "SELECT", "SELECT", "SELECT", "SELECT, INSERT, UPDATE, DELETE"],
    "access":    ["SELECT", "SELECT", "SELECT", "SELECT", "SELECT, INSERT, UPDATE, DELETE"],
    "audit":     ["", "", "", "SELECT", "SELECT"],
    "hold":      ["", "", "", "SELECT, INSERT", "SELECT, INSERT, UPDATE, DELETE"],
    "ops":       ["", "", "", "", "SELECT"],
    "custom":    ["", "", "", "", ""],
    "internal":  ["", "", "", "", ""]
  }';
  erp_creditors constant text :=
    '(SELECT e.creditor_id FROM cobranca.erp_login e WHERE e.login = CURRENT_USER)';
  my_creditors constant text :=
    '(SELECT a.creditor_id FROM cobranca.assignment a WHERE a.login = CURRENT_USER)';
  my_portfolios constant text :=
    '(SELECT a.portfolio_id FROM cobranca.assignment a WHERE a.login = CURRENT_USER)';
  has_col boolean;
  cols text;
  staff_filter text;
  erp_filter text;
  admin_filter text;
  f text;
  p text;
  parent record;
BEGIN
  missing := cobranca.unclassified_tables();
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'tables without a security class: %', missing
      USING ERRCODE = 'invalid_object_definition',
            DETAIL = 'Every table of schema cobranca must be listed in src/sql/97_security.sql.',
            HINT = 'Add one line (''table'', ''class'') to the list; the classes are described in doc/security.md.';
  END IF;
  DELETE FROM cobranca.table_class k
   WHERE pg_catalog.to_regclass('cobranca.' || pg_catalog.quote_ident(k.table_name)) IS NULL;

  -- read the list first: table_class itself is altered in the loop
  classes := ARRAY(SELECT k.table_name || ':' || k.class FROM cobranca.table_class k ORDER BY k.table_name);
  FOREACH entry IN ARRAY classes LOOP
    SELECT pg_catalog.split_part(entry, ':', 1) AS table_name, pg_catalog.split_part(entry, ':', 2) AS class,
           ('cobranca.' || pg_catalog.quote_ident(pg_catalog.split_part(entry, ':', 1)))::regclass AS rel
      INTO t;
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t.rel);
    EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t.rel);
    IF t.class = 'custom' THEN
      CONTINUE;
    END IF;
    EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC, %s', t.rel, pg_catalog.array_to_string(roles, ', '));

    -- the row filters of the class
    staff_filter := NULL; erp_filter := NULL; admin_filter := NULL;
    IF t.class = 'tenant' THEN
      staff_filter := 'id IN ' || my_creditors;
      erp_filter := 'id IN ' || erp_creditors;
      admin_filter := 'true';
    ELSIF t.class = 'portfolio' THEN
      staff_filter := 'id IN ' || my_portfolios;
      erp_filter := 'creditor_id IN ' || erp_creditors;
      admin_filter := 'true';
    ELSIF t.class IN ('payer', 'billing', 'money', 'work', 'notice', 'report', 'health') THEN
      erp_filter := 'creditor_id IN ' || erp_creditors;
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = t.rel AND a.attname = 'portfolio_id' AND NOT a.attisdropped) THEN
        staff_filter := 'portfolio_id IN ' || my_portfolios;
      ELSE
        SELECT v.col, v.parent INTO parent
          FROM (VALUES (1, 'invoice_id', 'invoice'), (2, 'contract_id', 'contract'), (3, 'payer_id', 'payer'),
                       (4, 'contact_id', 'contact'), (5, 'agreement_id', 'agreement'))
               AS v(o, col, parent)
         WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = t.rel AND a.attname = v.col AND NOT a.attisdropped)
         ORDER BY v.o LIMIT 1;
        IF FOUND THEN
          -- the parent's own policy decides which parents the role sees
          staff_filter := pg_catalog.format('%I IN (SELECT x.id FROM cobranca.%I x)', parent.col, parent.parent);
        ELSE
          staff_filter := 'creditor_id IN ' || my_creditors;
        END IF;
      END IF;
    ELSIF t.class = 'config' THEN
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = t.rel AND a.attname = 'creditor_id' AND NOT a.attisdropped) THEN
        staff_filter := 'creditor_id IS NULL OR creditor_id IN ' || my_creditors;
        erp_filter := 'creditor_id IS NULL OR creditor_id IN ' || erp_creditors;
      ELSE
        staff_filter := 'true';
        erp_filter := 'true';
      END IF;
      admin_filter := 'true';
    ELSIF t.class = 'access' THEN
      staff_filter := 'login = CURRENT_USER';
      erp_filter := 'login = CURRENT_USER';
      admin_filter := 'true';
    ELSIF t.class = 'ops' THEN
      admin_filter := 'true';
    ELSIF t.class IN ('audit', 'hold') THEN
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = t.rel AND a.attname = 'creditor_id' AND NOT a.attisdropped) THEN
        staff_filter := 'creditor_id IN ' || my_creditors;
      ELSE
        staff_filter := 'chain_id IN ' || my_creditors;
      END IF;
      admin_filter := 'true';
    END IF;

    FOR i IN 1 .. 5 LOOP
      p := privs -> t.class ->> (i - 1);
      IF p IS NULL OR p = '' THEN
        CONTINUE;
      END IF;
      f := CASE roles[i] WHEN 'cobranca_erp' THEN erp_filter
                         WHEN 'cobranca_admin' THEN admin_filter
                         ELSE staff_filter END;
      IF f IS NULL THEN
        RAISE EXCEPTION 'class % gives % privileges but no row filter', t.class, roles[i];
      END IF;
      -- encrypted documents are never readable: SELECT is granted column by column
      has_col := EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = t.rel AND a.attname = 'document_cipher' AND NOT a.attisdropped);
      IF has_col THEN
        SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = t.rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'document_cipher';
        EXECUTE pg_catalog.format('GRANT SELECT (%s) ON %s TO %I', cols, t.rel, roles[i]);
        p := pg_catalog.btrim(pg_catalog.replace(pg_catalog.replace(p, 'SELECT, ', ''), 'SELECT', ''));
        IF p <> '' THEN
          EXECUTE pg_catalog.format('GRANT %s ON %s TO %I', p, t.rel, roles[i]);
        END IF;
      ELSE
        EXECUTE pg_catalog.format('GRANT %s ON %s TO %I', p, t.rel, roles[i]);
      END IF;
      EXECUTE pg_catalog.format('CREATE POLICY %I ON %s FOR ALL TO %I USING (%s) WITH CHECK (%s)',
                                pg_catalog.replace(roles[i], 'cobranca_', ''), t.rel, roles[i], f, f);
    END LOOP;

    IF t.class NOT IN ('audit', 'ops', 'internal') THEN
      EXECUTE pg_catalog.format('CREATE TRIGGER audit_capture AFTER INSERT OR UPDATE OR DELETE ON %s '
                                'FOR EACH ROW EXECUTE FUNCTION cobranca.audit_capture()', t.rel);
      EXECUTE pg_catalog.format('CREATE TRIGGER audit_truncate AFTER TRUNCATE ON %s '
                                'FOR EACH STATEMENT EXECUTE FUNCTION cobranca.audit_truncate()', t.rel);
    END IF;
  END LOOP;

  -- views read their tables as the view's owner, who is not filtered: a view
  -- is security_invoker (the reader's policies apply) or filters with
  -- visible_portfolio()/visible_creditor(); either way it is a security
  -- barrier, so that no leaky function sees rows before its filter
  FOR t IN SELECT c.oid::regclass AS rel FROM pg_catalog.pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind = 'v'
              AND NOT COALESCE('security_invoker=true' = ANY (c.reloptions), false)
  LOOP
    EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_barrier = true)', t.rel);
  END LOOP;

  -- identity sequences: no role needs them (identity columns draw without a
  -- privilege); reading one would show how many rows all tenants wrote
  EXECUTE (SELECT 'REVOKE ALL ON SEQUENCE ' || string_agg(c.oid::regclass::text, ', ') ||
                  ' FROM PUBLIC, ' || pg_catalog.array_to_string(roles, ', ')
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind = 'S');
END
$security$;
