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
