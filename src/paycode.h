/*-------------------------------------------------------------------------
 *
 * paycode.h
 *	  Payment codes: the static PIX BR Code and the boleto linha digitável.
 *
 * The cores below need no server (palloc and StringInfo only), so that
 * test/fuzz/paycode_fuzz.c builds them standalone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_PAYCODE_H
#define COBRANCA_PAYCODE_H

#include "postgres.h"

#include "lib/stringinfo.h"

/* which argument of a PIX payload is wrong (PIX_OK: none) */
typedef enum PixField
{
	PIX_OK = 0,
	PIX_KEY,
	PIX_NAME,
	PIX_CITY,
	PIX_AMOUNT,
	PIX_TXID
} PixField;

/* the longest BR Code PixBuild makes: fixed fields plus the maxima of each */
#define PIX_MAX_LEN			236	/* 6+103+8+7+17+6+29+19+33+8 */
#define PIX_NAME_MAX		25
#define PIX_CITY_MAX		15
#define PIX_TXID_MAX		25
#define PIX_KEY_MAX			77
#define PIX_AMOUNT_MAX		13		/* characters of field 54 */

/* julian days of the boleto due factor's bases */
#define BOLETO_BASE_JULIAN		2450729 /* 1997-10-07: factor 0 */
#define BOLETO_RESTART_JULIAN	2460729 /* 2025-02-22: factor 1000 again */

#define BOLETO_LINE_DIGITS	47
#define BOLETO_BAR_DIGITS	44

extern uint16 CobrancaCrc16(const char *data, size_t len);
extern char *PixPlainText(const char *in, int max);
extern PixField PixBuild(const char *key, const char *name, const char *city,
						 bool has_amount, int64 cents, const char *txid,
						 StringInfo buf, const char **detail);

extern bool BoletoDigits(const char *p, int len, char *out);
extern void BoletoBarcode(const char *line, char *bar);
extern int	BoletoMod10(const char *digits, int len);
extern int	BoletoMod11(const char *digits, int len);
extern bool BoletoLineValid(const char *p, int len);
extern int	BoletoDueJulian(const char *line, int ref_julian, int *julian);

#ifndef COBRANCA_FUZZ
extern bool CobrancaBoletoLineValid(text *t);
#endif

#endif							/* COBRANCA_PAYCODE_H */
