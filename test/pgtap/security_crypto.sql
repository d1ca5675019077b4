-- Document encryption: round trip, ciphertext in the table, clean errors,
-- keys out of reach, rotation.
BEGIN;
SELECT plan(20);

SELECT is(cobranca.document_decrypt(cobranca.document_encrypt('14538220620')), '14538220620',
          'round trip of a CPF');
SELECT is(cobranca.document_decrypt(cobranca.document_encrypt('12ABC34501DE35')), '12ABC34501DE35',
          'round trip of an alphanumeric CNPJ');
SELECT isnt(cobranca.document_encrypt('14538220620'), cobranca.document_encrypt('14538220620'),
            'a random IV: the same document encrypts differently each time');
SELECT is(length(cobranca.document_encrypt('14538220620')), 2 + 12 + 16 + 11,
          'ciphertext = version, key id, 12-byte IV, 16-byte tag, then as many bytes as the document');
SELECT is(get_byte(cobranca.document_encrypt('14538220620'), 0), 1, 'the format version is 1');
SELECT is(cobranca.document_digest('14538220620'), cobranca.document_digest('14538220620'),
          'the digest is deterministic');
SELECT isnt(cobranca.document_digest('14538220620'), sha256('14538220620'::bytea),
            'the digest is keyed (not a plain SHA-256 an attacker could recompute)');

INSERT INTO cobranca.creditor (name, document, kind, ans_registry) VALUES ('Cry Op', '11222333000181', 'health_plan', '111111');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'Cry' FROM cobranca.creditor;
INSERT INTO cobranca.payer (portfolio_id, external_id, kind, document, name)
SELECT id, 'CRY1', 'person', '987.654.321-00', 'Cripto' FROM cobranca.portfolio
UNION ALL SELECT id, 'CRY2', 'company', '12.ABC.345/01DE-35', 'Cripto SA' FROM cobranca.portfolio;
SELECT ok((SELECT bool_and(position(convert_to('98765432100', 'UTF8') IN document_cipher) = 0
                           AND position(convert_to('12ABC34501DE35', 'UTF8') IN document_cipher) = 0
                           AND document NOT LIKE '%654.321-00%')
             FROM cobranca.payer WHERE external_id LIKE 'CRY%'),
          'the table holds the ciphertext and the masked form, never the clear document');
SELECT is((SELECT array_agg(cobranca.document_decrypt(document_cipher) ORDER BY external_id) FROM cobranca.payer
            WHERE external_id LIKE 'CRY%'), '{98765432100,12ABC34501DE35}'::text[],
          'the stored ciphertexts decrypt to the normalized documents');
SELECT is(cobranca.find_payer('987.654.321-00'), (SELECT id FROM cobranca.payer WHERE external_id = 'CRY1'),
          'find_payer finds a payer by CPF, punctuation and all');
SELECT is(cobranca.find_payer('12abc34501de35'), (SELECT id FROM cobranca.payer WHERE external_id = 'CRY2'),
          'find_payer finds a payer by alphanumeric CNPJ');

-- clean errors, nothing echoed
SELECT throws_ok($$ SELECT cobranca.document_decrypt(set_byte(c, 39, get_byte(c, 39) # 1))
                      FROM (SELECT cobranca.document_encrypt('14538220620') AS c) x $$,
                 'XX001', 'document ciphertext failed authentication', 'a tampered ciphertext fails authentication');
SELECT throws_ok($$ SELECT cobranca.document_decrypt(overlay(cobranca.document_encrypt('14538220620')
                                                             placing '\x02'::bytea from 2 for 1)) $$,
                 'XX001', 'document ciphertext names an unknown key', 'a ciphertext naming another key is refused');
SELECT throws_ok($$ SELECT cobranca.document_decrypt('\x0101'::bytea) $$, '22P03', 'invalid document ciphertext',
                 'a malformed ciphertext is refused');

-- keys and decryption out of the roles' reach
SELECT ok(NOT has_function_privilege('cobranca_supervisor', 'cobranca.document_decrypt(bytea)', 'EXECUTE')
          AND NOT has_function_privilege('cobranca_admin', 'cobranca.document_decrypt(bytea)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'cobranca.document_decrypt(bytea)', 'EXECUTE'),
          'document_decrypt is executable by no role');
SELECT ok(NOT has_table_privilege('cobranca_admin', 'cobranca.key_ring', 'SELECT')
          AND NOT has_table_privilege('cobranca_erp', 'cobranca.key_ring', 'SELECT'),
          'the key ring is readable by no role');
SELECT throws_ok('DELETE FROM cobranca.key_ring', '42501', 'cobranca.key_ring rows cannot be removed',
                 'a data key cannot be deleted');

-- rotation re-wraps the data key; no document is re-encrypted
SET LOCAL client_min_messages = warning;
CREATE TEMP TABLE before_rotation AS
SELECT k.wrapped, k.master_key_id, (SELECT array_agg(document_cipher ORDER BY id) FROM cobranca.payer) AS ciphers
  FROM cobranca.key_ring k WHERE k.id = 1;
SELECT isnt(cobranca.rotate_master_key(), (SELECT encode(master_key_id, 'hex') FROM before_rotation),
            'rotate_master_key returns a new master key id');
SELECT ok((SELECT k.wrapped <> b.wrapped AND k.master_key_id = decode(cobranca.master_key_id(), 'hex')
             FROM cobranca.key_ring k, before_rotation b WHERE k.id = 1),
          'the data key is re-wrapped under the new master key');
SELECT ok((SELECT (SELECT array_agg(document_cipher ORDER BY id) FROM cobranca.payer) = b.ciphers FROM before_rotation b),
          'no stored ciphertext changed');

SELECT * FROM finish();
ROLLBACK;
