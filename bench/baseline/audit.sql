-- Baseline of figure 1 (bench/run): the customary audit trail of a
-- PostgreSQL application, a PL/pgSQL row trigger writing the whole row as
-- jsonb (old and new) into an audit table, on the same tables the ERP writes.
-- Installed in a database whose extension triggers are all disabled.
\set ON_ERROR_STOP 1
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
