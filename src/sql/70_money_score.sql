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
  SET search_path = pg_catalog, pg_temp
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
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT c.principal, c.fine, c.interest, c.total
    FROM cobranca.invoice_charges(ARRAY[invoice_id], as_of) c
$$;
COMMENT ON FUNCTION cobranca.updated_amount_breakdown(bigint, date) IS
  'the updated amount of an invoice in parts: principal (balance), fine, interest and total; no row for an unknown invoice';

CREATE FUNCTION cobranca.updated_amount(invoice_id bigint, as_of date DEFAULT CURRENT_DATE)
  RETURNS numeric
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
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
