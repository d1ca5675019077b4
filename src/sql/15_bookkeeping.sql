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
