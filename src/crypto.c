/*-------------------------------------------------------------------------
 *
 * crypto.c
 *	  Envelope encryption of payer documents, keyed digests, SHA-256.
 *	  The only file of the extension that includes OpenSSL.
 *
 * Keys
 *	 - The master key (32 bytes) lives in a file outside the database, named
 *	   by the GUC cobranca.master_key_file (superuser only).  When the GUC is
 *	   empty, the file cobranca_master.key in the data directory is used and
 *	   created, mode 0600, on first use.  The file holds one key per line in
 *	   hex; the last key is the current one, the lines before it are older
 *	   keys (kept so that a key ring wrapped under an older key, e.g. from a
 *	   dump, can still be opened); lines starting with '#' are comments.
 *	 - The data key (32 random bytes) is stored only wrapped, AES-256-GCM
 *	   under the master key, in cobranca.key_ring (dumped by pg_dump).  It
 *	   is created on first use, so that a restore brings back the original
 *	   one.  From it two keys are derived with HMAC-SHA-256: one encrypts
 *	   documents, the other computes their digests.
 *	 - Rotation (rotate_master_key) draws a new master key, re-wraps the
 *	   data key and appends the new key to the key file: no document is
 *	   re-encrypted, and the file is only ever appended to, so that it can
 *	   live in a directory the server cannot write.
 *
 * Formats
 *	 document ciphertext: version(1) = 1 | key id(1) | iv(12) | tag(16) | ct
 *	   the version and key id bytes are authenticated as associated data.
 *	 wrapped data key:	  version(1) = 1 | iv(12) | tag(16) | ct(32)
 *	   with "cobranca key_ring" and the key id as associated data.
 *	 master key id:		  first 8 bytes of SHA-256("cobranca master key" | key)
 *
 * Every backend caches the unwrapped data key (keyed by the OID of the key
 * ring, so that a re-created extension is noticed).  A key created by the
 * current transaction is forgotten if that transaction aborts.
 *
 * OpenSSL contexts are freed on every path: helpers never raise an error
 * while holding one, they return false and the caller reports.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "cobranca.h"
#include "crypto.h"

#define KEY_LEN			32
#define IV_LEN			12
#define TAG_LEN			16
#define CIPHER_VERSION	1
#define CIPHER_HEADER	(2 + IV_LEN + TAG_LEN)	/* version, key id, iv, tag */
#define WRAP_VERSION	1
#define WRAPPED_LEN		(1 + IV_LEN + TAG_LEN + KEY_LEN)
#define MASTER_ID_LEN	8
#define MAX_MASTER_KEYS 32
#define CURRENT_KEY_ID	1		/* one data key per installation */

typedef struct MasterKey
{
	uint8		key[KEY_LEN];
	uint8		id[MASTER_ID_LEN];
} MasterKey;

typedef struct DataKey
{
	bool		valid;
	bool		pending;		/* created by the current transaction */
	uint8		enc[KEY_LEN];	/* document encryption key */
	uint8		mac[KEY_LEN];	/* document digest key */
} DataKey;

static DataKey cached_key;
static Oid	cached_ring_relid = InvalidOid;
static bool xact_callback_registered = false;

/* ---------------------------------------------------------------------
 * Small OpenSSL helpers: return false on failure, never raise.
 * ---------------------------------------------------------------------
 */

static bool
gcm_encrypt(const uint8 *key, const uint8 *iv, const uint8 *aad, int aadlen,
			const uint8 *in, int inlen, uint8 *out, uint8 *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int			len;
	bool		ok;

	if (ctx == NULL)
		return false;
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) == 1 &&
		EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
		EVP_EncryptUpdate(ctx, NULL, &len, aad, aadlen) == 1 &&
		EVP_EncryptUpdate(ctx, out, &len, in, inlen) == 1 &&
		EVP_EncryptFinal_ex(ctx, out + len, &len) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* false when OpenSSL fails or the tag does not authenticate */
static bool
gcm_decrypt(const uint8 *key, const uint8 *iv, const uint8 *aad, int aadlen,
			const uint8 *in, int inlen, const uint8 *tag, uint8 *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int			len;
	bool		ok;

	if (ctx == NULL)
		return false;
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) == 1 &&
		EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
		EVP_DecryptUpdate(ctx, NULL, &len, aad, aadlen) == 1 &&
		EVP_DecryptUpdate(ctx, out, &len, in, inlen) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *) tag) == 1 &&
		EVP_DecryptFinal_ex(ctx, out + len, &len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

static bool
hmac_sha256(const uint8 *key, const void *data, size_t len, uint8 *out)
{
	unsigned int outlen = 0;

	return HMAC(EVP_sha256(), key, KEY_LEN, data, len, out, &outlen) != NULL &&
		outlen == COBRANCA_SHA256_LEN;
}

static void
openssl_failed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("OpenSSL failed to %s", what)));
}

static void
random_bytes(uint8 *buf, int len)
{
	if (RAND_bytes(buf, len) != 1)
		openssl_failed("produce random bytes");
}

/* ---------------------------------------------------------------------
 * SHA-256, also exported for the audit chain.
 * ---------------------------------------------------------------------
 */

struct CobrancaSha256Ctx
{
	EVP_MD_CTX *md;
	MemoryContextCallback cb;
};

static void
sha256_ctx_free(void *arg)
{
	CobrancaSha256Ctx *ctx = (CobrancaSha256Ctx *) arg;

	if (ctx->md != NULL)
		EVP_MD_CTX_free(ctx->md);
	ctx->md = NULL;
}

/*
 * The OpenSSL context is tied to the current memory context: an error
 * between Begin and End frees it when that context is reset or deleted.
 */
CobrancaSha256Ctx *
CobrancaSha256Begin(void)
{
	CobrancaSha256Ctx *ctx = palloc0(sizeof(CobrancaSha256Ctx));

	ctx->cb.func = sha256_ctx_free;
	ctx->cb.arg = ctx;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &ctx->cb);
	ctx->md = EVP_MD_CTX_new();
	if (ctx->md == NULL || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1)
		openssl_failed("start a SHA-256 digest");
	return ctx;
}

void
CobrancaSha256Add(CobrancaSha256Ctx *ctx, const void *data, size_t len)
{
	if (EVP_DigestUpdate(ctx->md, data, len) != 1)
		openssl_failed("update a SHA-256 digest");
}

void
CobrancaSha256End(CobrancaSha256Ctx *ctx, uint8 *out)
{
	unsigned int len = 0;
	bool		ok = EVP_DigestFinal_ex(ctx->md, out, &len) == 1 &&
		len == COBRANCA_SHA256_LEN;

	EVP_MD_CTX_free(ctx->md);
	ctx->md = NULL;
	if (!ok)
		openssl_failed("finish a SHA-256 digest");
}

/*
 * One-shot digests (the audit seal makes one per row) reuse a context and a
 * digest fetched once per backend: EVP_sha256() alone makes OpenSSL look
 * the implementation up again at every initialisation.  Both live as long
 * as the backend; a failure leaves them usable (the next call starts the
 * digest over).
 */
static EVP_MD *sha256_md = NULL;
static EVP_MD_CTX *sha256_ctx = NULL;

void
CobrancaSha256(const void *data, size_t len, uint8 *out)
{
	unsigned int outlen = 0;

	if (sha256_md == NULL)
	{
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (sha256_md == NULL)
			openssl_failed("fetch the SHA-256 digest");
	}
	if (sha256_ctx == NULL)
	{
		sha256_ctx = EVP_MD_CTX_new();
		if (sha256_ctx == NULL)
			openssl_failed("allocate a SHA-256 digest");
	}
	if (EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) != 1 ||
		EVP_DigestUpdate(sha256_ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(sha256_ctx, out, &outlen) != 1 ||
		outlen != COBRANCA_SHA256_LEN)
		openssl_failed("compute a SHA-256 digest");
}

/* ---------------------------------------------------------------------
 * The master key file.
 * ---------------------------------------------------------------------
 */

static bool
master_key_file_is_default(void)
{
	return cobranca_master_key_file == NULL || cobranca_master_key_file[0] == '\0';
}

static char *
master_key_path(void)
{
	if (master_key_file_is_default())
		return psprintf("%s/cobranca_master.key", DataDir);
	return pstrdup(cobranca_master_key_file);
}

static void
master_key_id(const uint8 *key, uint8 *id)
{
	static const char label[] = "cobranca master key";
	uint8		buf[sizeof(label) - 1 + KEY_LEN];
	uint8		digest[COBRANCA_SHA256_LEN];

	memcpy(buf, label, sizeof(label) - 1);
	memcpy(buf + sizeof(label) - 1, key, KEY_LEN);
	CobrancaSha256(buf, sizeof(buf), digest);
	memcpy(id, digest, MASTER_ID_LEN);
	explicit_bzero(buf, sizeof(buf));
}

static void
append_key_line(StringInfo s, const uint8 *key)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < KEY_LEN; i++)
	{
		appendStringInfoChar(s, hex[key[i] >> 4]);
		appendStringInfoChar(s, hex[key[i] & 0xF]);
	}
	appendStringInfoChar(s, '\n');
}

/*
 * Create the key file (exclusive, 0600) with one fresh key, or append a new
 * current key to an existing file: the file is never rewritten, so that a
 * crash or an aborted rotation never loses a key.
 */
static void
write_master_key(const char *path, const MasterKey *key, bool create)
{
	StringInfoData s;
	int			fd;
	int			flags = O_WRONLY | PG_BINARY | (create ? O_CREAT | O_EXCL : O_APPEND);
	bool		ok;

	initStringInfo(&s);
	if (create)
		appendStringInfoString(&s,
							   "# cobranca master key file: one key per line, the last one is current;\n"
							   "# older keys stay so that key rings wrapped under them can be opened.\n"
							   "# Keep a copy in a safe place: without it, encrypted documents are lost.\n");
	else
		appendStringInfo(&s, "# added by cobranca.rotate_master_key() at %s\n",
						 timestamptz_to_str(GetCurrentTimestamp()));
	append_key_line(&s, key->key);

	fd = OpenTransientFilePerm(path, flags, S_IRUSR | S_IWUSR);
	if (fd < 0)
	{
		int			save_errno = errno;

		explicit_bzero(s.data, s.len);
		if (create && save_errno == EEXIST)
			return;				/* another backend created it meanwhile */
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not %s master key file \"%s\": %m", create ? "create" : "open", path),
				 errhint("The server must be able to %s it.", create ? "create" : "write to")));
	}
	ok = write(fd, s.data, s.len) == s.len && pg_fsync(fd) == 0;
	explicit_bzero(s.data, s.len);
	if (CloseTransientFile(fd) != 0)
		ok = false;
	if (!ok)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write master key file \"%s\": %m", path)));
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Read the master keys (current last) into keys[MAX_MASTER_KEYS]; returns
 * how many.  With the GUC empty, a missing file is created with a fresh key.
 */
static int
load_master_keys(MasterKey *keys)
{
	char	   *path = master_key_path();
	int			fd;
	struct stat st;
	char	   *buf;
	int			nkeys = 0;
	int			lineno = 0;
	char	   *p;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0 && errno == ENOENT && master_key_file_is_default())
	{
		MasterKey	fresh;

		random_bytes(fresh.key, KEY_LEN);
		write_master_key(path, &fresh, true);
		explicit_bzero(&fresh, sizeof(fresh));
		ereport(WARNING,
				(errmsg("created the cobranca master key file \"%s\"", path),
				 errdetail("It holds the key that protects the encrypted payer documents; it is not part of any dump or backup of the database."),
				 errhint("Copy it to a safe place now and set cobranca.master_key_file to a file kept outside the data directory.")));
		fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	}
	if (fd < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not open the cobranca master key file \"%s\": %m", path),
				 errhint("Check cobranca.master_key_file.")));
	if (fstat(fd, &st) != 0)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat master key file \"%s\": %m", path)));
	}
	if ((st.st_mode & (S_IRWXO)) != 0 || !S_ISREG(st.st_mode) || st.st_size > 16384)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" is not acceptable", path),
				 errdetail("It must be a regular file of at most 16 kB with no permissions for others."),
				 errhint("chmod 0600 the file.")));
	}
	buf = palloc(st.st_size + 1);
	if (read(fd, buf, st.st_size) != st.st_size)
	{
		CloseTransientFile(fd);
		explicit_bzero(buf, st.st_size);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read master key file \"%s\": %m", path)));
	}
	CloseTransientFile(fd);
	buf[st.st_size] = '\0';

	for (p = buf; *p;)
	{
		char	   *eol = strchr(p, '\n');
		char	   *line = p;
		int			len;

		if (eol)
			*eol = '\0';
		p = eol ? eol + 1 : p + strlen(p);
		lineno++;
		len = strlen(line);
		while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (len != 2 * KEY_LEN || nkeys >= MAX_MASTER_KEYS)
		{
			explicit_bzero(buf, st.st_size);
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("invalid master key file \"%s\"", path),
					 errdetail(nkeys >= MAX_MASTER_KEYS ? "Line %d: more than 32 keys." :
							   "Line %d is not a key: keys are 64 hexadecimal digits.", lineno)));
		}
		for (int i = 0; i < KEY_LEN; i++)
		{
			int			hi = hexval(line[2 * i]),
						lo = hexval(line[2 * i + 1]);

			if (hi < 0 || lo < 0)
			{
				explicit_bzero(buf, st.st_size);
				explicit_bzero(keys, sizeof(MasterKey) * MAX_MASTER_KEYS);
				ereport(ERROR,
						(errcode(ERRCODE_CONFIG_FILE_ERROR),
						 errmsg("invalid master key file \"%s\"", path),
						 errdetail("Line %d is not a key: keys are 64 hexadecimal digits.", lineno)));
			}
			keys[nkeys].key[i] = (uint8) (hi << 4 | lo);
		}
		master_key_id(keys[nkeys].key, keys[nkeys].id);
		nkeys++;
	}
	explicit_bzero(buf, st.st_size);
	if (nkeys == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" holds no key", path)));
	return nkeys;
}

static char *
hex_of(const uint8 *b, int len)
{
	static const char hex[] = "0123456789abcdef";
	char	   *s = palloc(2 * len + 1);

	for (int i = 0; i < len; i++)
	{
		s[2 * i] = hex[b[i] >> 4];
		s[2 * i + 1] = hex[b[i] & 0xF];
	}
	s[2 * len] = '\0';
	return s;
}

/* ---------------------------------------------------------------------
 * Wrapping the data key.
 * ---------------------------------------------------------------------
 */

static void
wrap_aad(int keyid, uint8 *aad)
{
	memcpy(aad, "cobranca key_ring", 17);
	aad[17] = (uint8) keyid;
}

static void
wrap_data_key(const MasterKey *mk, int keyid, const uint8 *dk, uint8 *wrapped)
{
	uint8		aad[18];

	wrap_aad(keyid, aad);
	wrapped[0] = WRAP_VERSION;
	random_bytes(wrapped + 1, IV_LEN);
	if (!gcm_encrypt(mk->key, wrapped + 1, aad, sizeof(aad), dk, KEY_LEN,
					 wrapped + 1 + IV_LEN + TAG_LEN, wrapped + 1 + IV_LEN))
		openssl_failed("wrap the data key");
}

/* Unwrap with the master key whose id is "mkid"; raises a clean error */
static void
unwrap_data_key(MasterKey *keys, int nkeys, int keyid, const uint8 *mkid,
				const uint8 *wrapped, int wrappedlen, uint8 *dk)
{
	uint8		aad[18];

	for (int i = 0; i < nkeys; i++)
	{
		if (memcmp(keys[i].id, mkid, MASTER_ID_LEN) != 0)
			continue;
		wrap_aad(keyid, aad);
		if (wrappedlen != WRAPPED_LEN || wrapped[0] != WRAP_VERSION ||
			!gcm_decrypt(keys[i].key, wrapped + 1, aad, sizeof(aad),
						 wrapped + 1 + IV_LEN + TAG_LEN, KEY_LEN,
						 wrapped + 1 + IV_LEN, dk))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the data key %d in cobranca.key_ring does not open with the master key", keyid),
					 errdetail("The wrapped key failed authentication under master key %s.",
							   hex_of(mkid, MASTER_ID_LEN)),
					 errhint("The key ring row was altered, or the master key file holds a different key with the same id.")));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 errmsg("the master key file does not hold the key that wraps the document key"),
			 errdetail("cobranca.key_ring key %d is wrapped under master key %s; the file \"%s\" holds %d other key(s), the current one is %s.",
					   keyid, hex_of(mkid, MASTER_ID_LEN), master_key_path(), nkeys,
					   hex_of(keys[nkeys - 1].id, MASTER_ID_LEN)),
			 errhint("Point cobranca.master_key_file at the key file of the installation this data comes from.")));
}

static void
derive_keys(const uint8 *dk, DataKey *out)
{
	static const char enc_label[] = "cobranca document encryption";
	static const char mac_label[] = "cobranca document digest";

	if (!hmac_sha256(dk, enc_label, sizeof(enc_label) - 1, out->enc) ||
		!hmac_sha256(dk, mac_label, sizeof(mac_label) - 1, out->mac))
		openssl_failed("derive the document keys");
}

/* ---------------------------------------------------------------------
 * The per-backend cache of the data key.
 * ---------------------------------------------------------------------
 */

static void
forget_key(void)
{
	explicit_bzero(&cached_key, sizeof(cached_key));
	cached_ring_relid = InvalidOid;
}

static void
crypto_xact_callback(XactEvent event, void *arg)
{
	if (!cached_key.pending)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
		cached_key.pending = false;
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		forget_key();
}

static void
crypto_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	/* a key created in an aborted subtransaction may be gone: read it again */
	if (event == SUBXACT_EVENT_ABORT_SUB && cached_key.pending)
		forget_key();
}

static Oid
key_ring_relid(void)
{
	Oid			nsp = get_namespace_oid("cobranca", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("key_ring", nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table cobranca.key_ring does not exist"),
				 errhint("CREATE EXTENSION cobranca creates it.")));
	return relid;
}

/*
 * The data key, unwrapped.  With create, a missing key ring gets its key
 * (the first document written); without, NULL is returned then.
 */
static DataKey *
get_data_key(bool create)
{
	Oid			relid = key_ring_relid();
	MasterKey  *keys;
	int			nkeys;
	bool		found;
	uint8		dk[KEY_LEN];
	Oid			argtypes[1] = {INT2OID};
	Datum		args[1] = {Int16GetDatum(CURRENT_KEY_ID)};

	if (cached_key.valid && cached_ring_relid == relid)
		return &cached_key;
	forget_key();

	if (!xact_callback_registered)
	{
		RegisterXactCallback(crypto_xact_callback, NULL);
		RegisterSubXactCallback(crypto_subxact_callback, NULL);
		xact_callback_registered = true;
	}

	keys = palloc0(sizeof(MasterKey) * MAX_MASTER_KEYS);
	SPI_connect();
	/* not read-only: a fresh snapshot sees a key committed meanwhile */
	if (SPI_execute_with_args("SELECT wrapped, master_key_id FROM cobranca.key_ring WHERE id = $1",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read cobranca.key_ring");
	found = SPI_processed == 1;
	if (!found && !create)
	{
		SPI_finish();
		return NULL;
	}

	nkeys = load_master_keys(keys);
	if (found)
	{
		bool		isnull1,
					isnull2;
		bytea	   *wrapped = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull1));
		bytea	   *mkid = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull2));

		if (isnull1 || isnull2 || VARSIZE_ANY_EXHDR(mkid) != MASTER_ID_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("cobranca.key_ring key %d is incomplete", CURRENT_KEY_ID)));
		unwrap_data_key(keys, nkeys, CURRENT_KEY_ID, (uint8 *) VARDATA_ANY(mkid),
						(uint8 *) VARDATA_ANY(wrapped), VARSIZE_ANY_EXHDR(wrapped), dk);
	}
	else
	{
		uint8		wrapped[WRAPPED_LEN];
		Oid			types[3] = {INT2OID, BYTEAOID, BYTEAOID};
		Datum		vals[3];
		bytea	   *w = palloc(VARHDRSZ + WRAPPED_LEN);
		bytea	   *m = palloc(VARHDRSZ + MASTER_ID_LEN);

		random_bytes(dk, KEY_LEN);
		wrap_data_key(&keys[nkeys - 1], CURRENT_KEY_ID, dk, wrapped);
		SET_VARSIZE(w, VARHDRSZ + WRAPPED_LEN);
		memcpy(VARDATA(w), wrapped, WRAPPED_LEN);
		SET_VARSIZE(m, VARHDRSZ + MASTER_ID_LEN);
		memcpy(VARDATA(m), keys[nkeys - 1].id, MASTER_ID_LEN);
		vals[0] = Int16GetDatum(CURRENT_KEY_ID);
		vals[1] = PointerGetDatum(w);
		vals[2] = PointerGetDatum(m);
		if (SPI_execute_with_args("INSERT INTO cobranca.key_ring (id, wrapped, master_key_id) "
								  "VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
								  3, types, vals, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write cobranca.key_ring");
		if (SPI_processed != 1)
		{
			/* created by a concurrent transaction that committed: use it */
			DataKey    *theirs;

			explicit_bzero(dk, KEY_LEN);
			explicit_bzero(keys, sizeof(MasterKey) * MAX_MASTER_KEYS);
			SPI_finish();
			theirs = get_data_key(false);
			if (theirs == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access to cobranca.key_ring"),
						 errdetail("A concurrent transaction created the document key, which this transaction's snapshot does not see."),
						 errhint("Retry the transaction.")));
			return theirs;
		}
		cached_key.pending = true;
	}
	SPI_finish();
	explicit_bzero(keys, sizeof(MasterKey) * MAX_MASTER_KEYS);
	derive_keys(dk, &cached_key);
	explicit_bzero(dk, KEY_LEN);
	cached_key.valid = true;
	cached_ring_relid = relid;
	return &cached_key;
}

/* ---------------------------------------------------------------------
 * SQL-callable functions.
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(cobranca_document_encrypt);

/* document_encrypt(normalized text) → bytea */
Datum
cobranca_document_encrypt(PG_FUNCTION_ARGS)
{
	text	   *plain = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(plain);
	DataKey    *key = get_data_key(true);
	bytea	   *out = palloc(VARHDRSZ + CIPHER_HEADER + len);
	uint8	   *p = (uint8 *) VARDATA(out);

	SET_VARSIZE(out, VARHDRSZ + CIPHER_HEADER + len);
	p[0] = CIPHER_VERSION;
	p[1] = CURRENT_KEY_ID;
	random_bytes(p + 2, IV_LEN);
	if (!gcm_encrypt(key->enc, p + 2, p, 2, (uint8 *) VARDATA_ANY(plain), len,
					 p + CIPHER_HEADER, p + 2 + IV_LEN))
		openssl_failed("encrypt a document");
	PG_RETURN_BYTEA_P(out);
}

/*
 * The normalized document in a ciphertext of document_encrypt; raises a
 * clean error (never the value) when it is malformed, names an unknown key
 * or fails authentication.
 */
text *
CobrancaDocumentDecrypt(bytea *in)
{
	int			len = VARSIZE_ANY_EXHDR(in);
	const uint8 *p = (const uint8 *) VARDATA_ANY(in);
	DataKey    *key;
	text	   *out;

	if (len < CIPHER_HEADER || p[0] != CIPHER_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid document ciphertext"),
				 errdetail(len < CIPHER_HEADER ? "The value is %d bytes long, shorter than the %d-byte header." :
						   "Unknown format version %d.", len < CIPHER_HEADER ? len : p[0], CIPHER_HEADER)));
	if (p[1] != CURRENT_KEY_ID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("document ciphertext names an unknown key"),
				 errdetail("Key %d is not in cobranca.key_ring.", p[1])));
	key = get_data_key(false);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("document ciphertext names an unknown key"),
				 errdetail("cobranca.key_ring is empty.")));
	out = palloc(VARHDRSZ + len - CIPHER_HEADER + 1);
	SET_VARSIZE(out, VARHDRSZ + len - CIPHER_HEADER);
	if (!gcm_decrypt(key->enc, p + 2, p, 2, p + CIPHER_HEADER, len - CIPHER_HEADER,
					 p + 2 + IV_LEN, (uint8 *) VARDATA(out)))
	{
		explicit_bzero(VARDATA(out), len - CIPHER_HEADER);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("document ciphertext failed authentication"),
				 errdetail("The value was altered, or it was encrypted under another installation's key."),
				 errhint("Check that cobranca.master_key_file and cobranca.key_ring come from the same installation as the data.")));
	}
	return out;
}

PG_FUNCTION_INFO_V1(cobranca_document_decrypt);

/* document_decrypt(bytea) → text */
Datum
cobranca_document_decrypt(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(CobrancaDocumentDecrypt(PG_GETARG_BYTEA_PP(0)));
}

PG_FUNCTION_INFO_V1(cobranca_document_digest);

/* document_digest(normalized text) → bytea: HMAC-SHA-256 under the digest key */
Datum
cobranca_document_digest(PG_FUNCTION_ARGS)
{
	text	   *plain = PG_GETARG_TEXT_PP(0);
	DataKey    *key = get_data_key(true);
	bytea	   *out = palloc(VARHDRSZ + COBRANCA_SHA256_LEN);

	SET_VARSIZE(out, VARHDRSZ + COBRANCA_SHA256_LEN);
	if (!hmac_sha256(key->mac, VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain),
					 (uint8 *) VARDATA(out)))
		openssl_failed("compute a document digest");
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(cobranca_rotate_master_key);

/*
 * rotate_master_key() → text: draw a new master key, re-wrap every data key
 * under it, and append it to the key file as the current key.  Returns the
 * new master key id (hex).  Older keys stay in the file: should the
 * transaction abort, the key ring is still wrapped under one of them and
 * still opens.
 */
Datum
cobranca_rotate_master_key(PG_FUNCTION_ARGS)
{
	MasterKey  *keys = palloc0(sizeof(MasterKey) * (MAX_MASTER_KEYS + 1));
	int			nkeys;
	uint64		nrows;
	char	   *newid;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may rotate the cobranca master key"),
				 errdetail("The rotation rewrites the master key file on the server.")));
	(void) key_ring_relid();

	/* keys[nkeys] will be the new key, after the file's keys */
	nkeys = load_master_keys(keys);
	if (nkeys >= MAX_MASTER_KEYS)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("the master key file already holds %d keys", nkeys),
				 errhint("Remove keys no longer needed (older than any dump you keep) from the start of the file.")));
	random_bytes(keys[nkeys].key, KEY_LEN);
	master_key_id(keys[nkeys].key, keys[nkeys].id);

	SPI_connect();
	if (SPI_execute("LOCK TABLE cobranca.key_ring IN EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY ||
		SPI_execute("SELECT id, wrapped, master_key_id FROM cobranca.key_ring ORDER BY id",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read cobranca.key_ring");
	nrows = SPI_processed;
	{
		SPITupleTable *tt = SPI_tuptable;

		for (uint64 r = 0; r < nrows; r++)
		{
			bool		n1,
						n2,
						n3;
			int			id = DatumGetInt16(SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &n1));
			bytea	   *wrapped = DatumGetByteaPP(SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &n2));
			bytea	   *mkid = DatumGetByteaPP(SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &n3));
			uint8		dk[KEY_LEN];
			uint8		rewrapped[WRAPPED_LEN];
			bytea	   *w = palloc(VARHDRSZ + WRAPPED_LEN);
			bytea	   *m = palloc(VARHDRSZ + MASTER_ID_LEN);
			Oid			types[3] = {INT2OID, BYTEAOID, BYTEAOID};
			Datum		vals[3];

			if (n1 || n2 || n3 || VARSIZE_ANY_EXHDR(mkid) != MASTER_ID_LEN)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("cobranca.key_ring key %d is incomplete", id)));
			unwrap_data_key(keys, nkeys, id, (uint8 *) VARDATA_ANY(mkid),
							(uint8 *) VARDATA_ANY(wrapped), VARSIZE_ANY_EXHDR(wrapped), dk);
			wrap_data_key(&keys[nkeys], id, dk, rewrapped);
			explicit_bzero(dk, KEY_LEN);
			SET_VARSIZE(w, VARHDRSZ + WRAPPED_LEN);
			memcpy(VARDATA(w), rewrapped, WRAPPED_LEN);
			SET_VARSIZE(m, VARHDRSZ + MASTER_ID_LEN);
			memcpy(VARDATA(m), keys[nkeys].id, MASTER_ID_LEN);
			vals[0] = Int16GetDatum(id);
			vals[1] = PointerGetDatum(w);
			vals[2] = PointerGetDatum(m);
			if (SPI_execute_with_args("UPDATE cobranca.key_ring SET wrapped = $2, master_key_id = $3, "
									  "rotated_at = pg_catalog.now() WHERE id = $1",
									  3, types, vals, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "could not update cobranca.key_ring");
		}
	}
	SPI_finish();

	write_master_key(master_key_path(), &keys[nkeys], false);
	newid = hex_of(keys[nkeys].id, MASTER_ID_LEN);
	explicit_bzero(keys, sizeof(MasterKey) * (MAX_MASTER_KEYS + 1));
	ereport(NOTICE,
			(errmsg("master key rotated: %llu data key(s) re-wrapped under master key %s",
					(unsigned long long) nrows, newid),
			 errhint("Back up the new key file now; older keys stay in it for older dumps.")));
	PG_RETURN_TEXT_P(cstring_to_text(newid));
}

PG_FUNCTION_INFO_V1(cobranca_master_key_id);

/* master_key_id() → text: id (hex) of the current master key, never the key */
Datum
cobranca_master_key_id(PG_FUNCTION_ARGS)
{
	MasterKey  *keys = palloc0(sizeof(MasterKey) * MAX_MASTER_KEYS);
	int			nkeys;
	char	   *id;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may read the cobranca master key file")));
	nkeys = load_master_keys(keys);
	id = hex_of(keys[nkeys - 1].id, MASTER_ID_LEN);
	explicit_bzero(keys, sizeof(MasterKey) * MAX_MASTER_KEYS);
	PG_RETURN_TEXT_P(cstring_to_text(id));
}
