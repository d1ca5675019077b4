-- payment_probability and priority become C (score_one.c): index probes of
-- the payer's rows and a cache valid while the caller sees the same data,
-- instead of running score_invoices for one invoice.  Same arguments, same
-- answers; STRICT (a NULL argument gave NULL before too).
CREATE OR REPLACE FUNCTION cobranca.payment_probability(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS float8
  AS 'MODULE_PATHNAME', 'cobranca_payment_probability'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.payment_probability(bigint, date) IS
  'probability, by the active cobranca.score_model, that the invoice is paid within the next 30 days; NULL for an unknown invoice';

CREATE OR REPLACE FUNCTION cobranca.priority(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS numeric
  AS 'MODULE_PATHNAME', 'cobranca_priority'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.priority(bigint, date) IS
  'expected recovery (probability x updated amount, BRL) raised as the 5-year limitation period and the RN 593 notice day near; 0 for invoices not open';
