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
