-- cobranca.score_invoices in C (score_batch.c): the same results in one
-- pass instead of a subquery per invoice.
CREATE OR REPLACE FUNCTION cobranca.score_invoices(invoice_ids bigint[], as_of date)
  RETURNS TABLE (invoice_id bigint, model_id bigint, probability float8,
                 updated_amount numeric, priority numeric)
  AS 'MODULE_PATHNAME', 'cobranca_score_invoices'
  LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION cobranca.score_invoices(bigint[], date) IS
  'payment probability (active model), updated amount and priority of the given invoices on a day; priority is 0 unless the invoice is open';
