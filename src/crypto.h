/*-------------------------------------------------------------------------
 *
 * crypto.h
 *	  Envelope encryption of payer documents (AES-256-GCM), keyed digests
 *	  (HMAC-SHA-256) and plain SHA-256.  crypto.c is the only file that
 *	  includes OpenSSL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_CRYPTO_H
#define COBRANCA_CRYPTO_H

#include "postgres.h"

#define COBRANCA_SHA256_LEN		32

/* SHA-256 of a buffer into out[32]; raises an error if OpenSSL fails */
extern void CobrancaSha256(const void *data, size_t len, uint8 *out);

/* An incremental SHA-256, for hashing a row field by field */
typedef struct CobrancaSha256Ctx CobrancaSha256Ctx;
extern CobrancaSha256Ctx *CobrancaSha256Begin(void);
extern void CobrancaSha256Add(CobrancaSha256Ctx *ctx, const void *data, size_t len);
extern void CobrancaSha256End(CobrancaSha256Ctx *ctx, uint8 *out);

/* the normalized document in a document ciphertext (clean errors) */
extern text *CobrancaDocumentDecrypt(bytea *cipher);

#endif							/* COBRANCA_CRYPTO_H */
