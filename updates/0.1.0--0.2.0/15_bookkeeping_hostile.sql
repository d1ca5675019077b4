-- 0.2.0: a bad status_reason sent with an active contract is refused, not dropped
-- silently; document errors name their column and never show the document;
-- an unknown payer.kind is named.
CREATE OR REPLACE FUNCTION cobranca.creditor_document() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  NEW.document := cobranca.document_normalize('company', NEW.document, 'creditor.document');
  RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION cobranca.payer_document() RETURNS trigger
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
CREATE OR REPLACE FUNCTION cobranca.contract_defaults() RETURNS trigger
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
