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

CREATE FUNCTION cobranca.document_mask(kind text, normalized text) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_document_mask'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.document_mask(text, text) IS
  'masked form of a normalized document: ***.456.789-** for a CPF, **.ABC.345/****-** for a CNPJ';
