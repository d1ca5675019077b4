-- Envelope encryption of payer documents (crypto.c).
--
-- The data key is stored only wrapped under the master key (the file named by
-- cobranca.master_key_file); it is created on first use, so that a restore
-- brings back the dumped key instead of making a new one.  See doc/security.md.

CREATE TABLE cobranca.key_ring (
  id            smallint PRIMARY KEY CHECK (id BETWEEN 1 AND 255),
  wrapped       bytea NOT NULL,
  master_key_id bytea NOT NULL CHECK (octet_length(master_key_id) = 8),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  rotated_at    timestamptz
);
COMMENT ON TABLE cobranca.key_ring IS
  'Data keys of the document encryption, each wrapped (AES-256-GCM) under the master key; readable by no role, rewritten only by cobranca.rotate_master_key()';
COMMENT ON COLUMN cobranca.key_ring.id IS 'key id, carried in every ciphertext';
COMMENT ON COLUMN cobranca.key_ring.wrapped IS 'version(1) | iv(12) | tag(16) | encrypted key(32)';
COMMENT ON COLUMN cobranca.key_ring.master_key_id IS 'id of the master key that wraps it: first 8 bytes of a SHA-256 of that key';
COMMENT ON COLUMN cobranca.key_ring.rotated_at IS 'when it was last re-wrapped by rotate_master_key()';
REVOKE ALL ON cobranca.key_ring FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('cobranca.key_ring', '');

-- The key material of a data key never changes: only its wrapping does.
CREATE FUNCTION cobranca.key_ring_guard() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
  IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
    RAISE EXCEPTION 'cobranca.key_ring rows cannot be removed'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = 'Documents encrypted under a removed key could never be read again.',
            HINT = 'Use cobranca.rotate_master_key() to change the master key.';
  END IF;
  IF NEW.id <> OLD.id OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'cobranca.key_ring: only the wrapping of a key may change'
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = pg_catalog.format('Key %s: id and created_at are fixed.', OLD.id);
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION cobranca.key_ring_guard() IS
  'refuses DELETE, TRUNCATE and changes of id on cobranca.key_ring';
CREATE TRIGGER key_ring_guard BEFORE UPDATE OR DELETE ON cobranca.key_ring
  FOR EACH ROW EXECUTE FUNCTION cobranca.key_ring_guard();
CREATE TRIGGER key_ring_no_truncate BEFORE TRUNCATE ON cobranca.key_ring
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.key_ring_guard();

CREATE FUNCTION cobranca.document_encrypt(normalized text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'cobranca_document_encrypt'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.document_encrypt(text) IS
  'AES-256-GCM ciphertext of a normalized document under the data key (random IV): version | key id | iv | tag | ciphertext';

CREATE FUNCTION cobranca.document_decrypt(cipher bytea) RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_document_decrypt'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.document_decrypt(bytea) IS
  'the normalized document in a ciphertext of document_encrypt; raises 22P03 (malformed) or XX001 (altered or foreign key). Not executable by the roles: use cobranca.reveal_document()';

CREATE FUNCTION cobranca.document_digest(normalized text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'cobranca_document_digest'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION cobranca.document_digest(text) IS
  'keyed digest (HMAC-SHA-256) of a normalized document, the same for the same document in one installation: for lookups';

CREATE FUNCTION cobranca.rotate_master_key() RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_rotate_master_key'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION cobranca.rotate_master_key() IS
  'superuser: draws a new master key, re-wraps the data key under it (no document is re-encrypted) and appends it to the key file as the current key, older keys kept before it; returns the new master key id';

CREATE FUNCTION cobranca.master_key_id() RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_master_key_id'
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION cobranca.master_key_id() IS
  'superuser: id (hex, 8 bytes of a SHA-256) of the current master key, to check which key file is in use; never the key';

REVOKE ALL ON FUNCTION cobranca.document_encrypt(text), cobranca.document_decrypt(bytea),
  cobranca.document_digest(text), cobranca.rotate_master_key(), cobranca.master_key_id(),
  cobranca.key_ring_guard() FROM PUBLIC;
-- writers of payer rows (ERP and staff) pass through the payer trigger, which
-- encrypts and digests; decrypting is reserved to reveal_document()
GRANT EXECUTE ON FUNCTION cobranca.document_encrypt(text), cobranca.document_digest(text)
  TO cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_legal, cobranca_admin;
