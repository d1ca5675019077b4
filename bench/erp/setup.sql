-- Three databases for the ERP write mix, created by bench/erp_write.sh:
--   ext      the extension as shipped: tenant, bookkeeping and audit triggers
--   plain    the same tables with every user trigger disabled
--   plpgsql  plain, plus the customary PL/pgSQL row trigger writing jsonb to an audit table
-- :variant and :payers are set by the caller.
CREATE EXTENSION cobranca;
SELECT count(*) FROM cobranca.generate_sample(11, :payers, 3);
-- contacts for the senders' updates
INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at)
SELECT i.creditor_id, i.portfolio_id, i.payer_id, array_agg(i.id), 'email', current_date, now()
  FROM cobranca.invoice i GROUP BY 1, 2, 3;
SELECT cobranca.audit_seal() WHERE to_regproc('cobranca.audit_seal') IS NOT NULL;

SELECT :'variant' <> 'ext' AS untriggered \gset
\if :untriggered
ALTER TABLE cobranca.invoice DISABLE TRIGGER USER;
ALTER TABLE cobranca.payment DISABLE TRIGGER USER;
ALTER TABLE cobranca.contact DISABLE TRIGGER USER;
\endif

SELECT :'variant' = 'plpgsql' AS plpgsql \gset
\if :plpgsql
CREATE TABLE public.audit_plpgsql (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  logged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  txid bigint NOT NULL DEFAULT txid_current(),
  session_user_name name NOT NULL DEFAULT session_user,
  application_name text DEFAULT current_setting('application_name'),
  client_addr inet DEFAULT inet_client_addr(),
  table_name name NOT NULL, operation text NOT NULL, row_id bigint,
  old_values jsonb, new_values jsonb);
CREATE INDEX ON public.audit_plpgsql USING brin (logged_at);
CREATE FUNCTION public.audit_plpgsql() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO public.audit_plpgsql (table_name, operation, row_id, new_values)
    VALUES (TG_TABLE_NAME, TG_OP, NEW.id, to_jsonb(NEW));
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO public.audit_plpgsql (table_name, operation, row_id, old_values, new_values)
    VALUES (TG_TABLE_NAME, TG_OP, NEW.id, to_jsonb(OLD), to_jsonb(NEW));
  ELSE
    INSERT INTO public.audit_plpgsql (table_name, operation, row_id, old_values)
    VALUES (TG_TABLE_NAME, TG_OP, OLD.id, to_jsonb(OLD));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON cobranca.invoice FOR EACH ROW EXECUTE FUNCTION public.audit_plpgsql();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON cobranca.payment FOR EACH ROW EXECUTE FUNCTION public.audit_plpgsql();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON cobranca.contact FOR EACH ROW EXECUTE FUNCTION public.audit_plpgsql();
\endif
VACUUM ANALYZE;
