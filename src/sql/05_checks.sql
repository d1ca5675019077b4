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
