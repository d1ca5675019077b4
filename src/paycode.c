/*-------------------------------------------------------------------------
 *
 * paycode.c
 *	  Payment codes: the static PIX BR Code ("copia e cola") with its
 *	  CRC16, and the boleto linha digitável (check digits, due factor).
 *
 * The cores (PixBuild, BoletoLineValid, BoletoDueJulian ...) work on C
 * strings and report problems instead of raising them, so that the
 * libFuzzer harness test/fuzz/paycode_fuzz.c runs them without a server;
 * the SQL-callable wrappers at the end turn a problem into an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "paycode.h"

/* ---------------------------------------------------------------- PIX */

/* CRC16-CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection */
uint16
CobrancaCrc16(const char *data, size_t len)
{
	uint16		crc = 0xFFFF;

	for (size_t i = 0; i < len; i++)
	{
		crc ^= (uint16) ((unsigned char) data[i]) << 8;
		for (int b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16) ((crc << 1) ^ 0x1021) : (uint16) (crc << 1);
	}
	return crc;
}

static inline bool
IsAsciiAlnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/*
 * Text for the name and city fields: letters without accents, digits and
 * a few punctuation marks, so that every bank app reads it; at most max
 * characters.  Accented Latin letters lose their accent, other characters
 * (and bytes that are not UTF-8) become spaces.
 */
char *
PixPlainText(const char *in, int max)
{
	/* U+00C0 .. U+00FF without accents */
	static const char latin1[] =
		"AAAAAAACEEEEIIII" "DNOOOOO*OUUUUYTs"
		"aaaaaaaceeeeiiii" "dnooooo/ouuuuyty";
	StringInfoData out;
	const unsigned char *p = (const unsigned char *) in;
	int			n = 0;

	initStringInfo(&out);
	while (*p && n < max)
	{
		char		c = ' ';

		if (*p < 0x80)
		{
			if (IsAsciiAlnum(*p) || strchr(" .,-&/'", *p) != NULL)
				c = (char) *p;
			p++;
		}
		else
		{
			int			len = pg_utf_mblen(p);

			/* a whole, well-formed sequence, or one byte of junk */
			if (strnlen((const char *) p, len) == (size_t) len && pg_utf8_islegal(p, len))
			{
				pg_wchar	w = utf8_to_unicode(p);

				if (w >= 0xC0 && w <= 0xFF && latin1[w - 0xC0] != '*' && latin1[w - 0xC0] != '/')
					c = latin1[w - 0xC0];
				p += len;
			}
			else
				p++;
		}
		appendStringInfoChar(&out, c);
		n++;
	}
	/* no blanks at either end */
	while (out.len > 0 && out.data[out.len - 1] == ' ')
		out.data[--out.len] = '\0';
	if (out.data[0] == ' ')
	{
		int			lead = strspn(out.data, " ");

		memmove(out.data, out.data + lead, out.len - lead + 1);
		out.len -= lead;
	}
	return out.data;
}

static void
AppendTLV(StringInfo buf, const char *id, const char *value)
{
	size_t		len = strlen(value);

	Assert(len <= 99);
	appendStringInfo(buf, "%s%02d%s", id, (int) len, value);
}

/*
 * A static PIX BR Code, EMV TLV fields as in the Banco Central's BR Code
 * manual, ending in its CRC16, into buf.  name and city are raw (made
 * plain here); txid NULL means "***".  Returns PIX_OK, or the argument
 * that is wrong with *detail saying why (buf is then undefined).
 */
PixField
PixBuild(const char *key, const char *name_in, const char *city_in,
		 bool has_amount, int64 cents, const char *txid,
		 StringInfo buf, const char **detail)
{
	static const char key_rule[] = "A PIX key is 1 to 77 printable ASCII characters without blanks: CPF, CNPJ, e-mail, +55 phone or random key.";
	static const char txid_rule[] = "A txid is 1 to 25 letters or digits.";
	size_t		keylen = strlen(key);
	char	   *name = NULL;
	char	   *city = NULL;
	char		amount[32] = "";
	StringInfoData sub;
	char		crc[5];
	PixField	bad = PIX_OK;

	*detail = NULL;
	if (keylen == 0 || keylen > PIX_KEY_MAX)
		bad = PIX_KEY;
	for (size_t i = 0; i < keylen && bad == PIX_OK; i++)
		if ((unsigned char) key[i] <= 0x20 || (unsigned char) key[i] >= 0x7F)
			bad = PIX_KEY;
	if (bad != PIX_OK)
	{
		*detail = key_rule;
		return bad;
	}
	name = PixPlainText(name_in, PIX_NAME_MAX);
	city = PixPlainText(city_in, PIX_CITY_MAX);
	if (name[0] == '\0')
	{
		bad = PIX_NAME;
		*detail = "The merchant name must have at least one letter or digit.";
	}
	else if (city[0] == '\0')
	{
		bad = PIX_CITY;
		*detail = "The city must have at least one letter.";
	}
	else if (txid != NULL)
	{
		size_t		n = strlen(txid);

		if (n == 0 || n > PIX_TXID_MAX)
			bad = PIX_TXID;
		for (size_t i = 0; i < n && bad == PIX_OK; i++)
			if (!IsAsciiAlnum((unsigned char) txid[i]))
				bad = PIX_TXID;
		if (bad != PIX_OK)
			*detail = txid_rule;
	}
	if (bad == PIX_OK && has_amount)
	{
		if (cents <= 0)
		{
			bad = PIX_AMOUNT;
			*detail = "The amount must be greater than zero.";
		}
		else
		{
			snprintf(amount, sizeof(amount), INT64_FORMAT ".%02d",
					 cents / 100, (int) (cents % 100));
			if (strlen(amount) > PIX_AMOUNT_MAX)
			{
				bad = PIX_AMOUNT;
				*detail = "The BR Code amount field holds 13 characters: amounts below R$ 10.000.000.000,00.";
			}
		}
	}
	if (bad == PIX_OK)
	{
		resetStringInfo(buf);
		initStringInfo(&sub);
		AppendTLV(buf, "00", "01");
		AppendTLV(&sub, "00", "br.gov.bcb.pix");
		AppendTLV(&sub, "01", key);
		AppendTLV(buf, "26", sub.data);
		AppendTLV(buf, "52", "0000");
		AppendTLV(buf, "53", "986");
		if (has_amount)
			AppendTLV(buf, "54", amount);
		AppendTLV(buf, "58", "BR");
		AppendTLV(buf, "59", name);
		AppendTLV(buf, "60", city);
		resetStringInfo(&sub);
		AppendTLV(&sub, "05", txid ? txid : "***");
		AppendTLV(buf, "62", sub.data);
		appendStringInfoString(buf, "6304");
		snprintf(crc, sizeof(crc), "%04X", CobrancaCrc16(buf->data, buf->len));
		appendStringInfoString(buf, crc);
		pfree(sub.data);
	}
	pfree(name);
	pfree(city);
	return bad;
}

/* ------------------------------------------------------------- boleto */

/* mod 10 (FEBRABAN): weights 2,1,2,1... from the right, digits of products summed */
int
BoletoMod10(const char *digits, int len)
{
	int			sum = 0;
	int			w = 2;

	for (int i = len - 1; i >= 0; i--)
	{
		int			p = (digits[i] - '0') * w;

		sum += p / 10 + p % 10;
		w = (w == 2) ? 1 : 2;
	}
	return (10 - sum % 10) % 10;
}

/* mod 11 general digit of the barcode: weights 2..9 from the right; 0, 10, 11 -> 1 */
int
BoletoMod11(const char *digits, int len)
{
	int			sum = 0;
	int			w = 2;
	int			dv;

	for (int i = len - 1; i >= 0; i--)
	{
		sum += (digits[i] - '0') * w;
		w = (w == 9) ? 2 : w + 1;
	}
	dv = 11 - sum % 11;
	return (dv == 0 || dv == 10 || dv == 11) ? 1 : dv;
}

/*
 * The 47 digits of a linha digitável (len bytes at p, no terminator
 * needed) into out (48 bytes), without the dots and blanks people type;
 * false when anything else is there or the count is wrong.
 */
bool
BoletoDigits(const char *p, int len, char *out)
{
	int			n = 0;

	for (int i = 0; i < len; i++)
	{
		if (p[i] >= '0' && p[i] <= '9')
		{
			if (n == BOLETO_LINE_DIGITS)
				return false;
			out[n++] = p[i];
		}
		else if (p[i] != '.' && p[i] != ' ')
			return false;
	}
	out[n] = '\0';
	return n == BOLETO_LINE_DIGITS;
}

/* the 44-digit barcode (45 bytes with the terminator) a linha digitável encodes */
void
BoletoBarcode(const char *line, char *bar)
{
	memcpy(bar, line, 4);			/* bank, currency */
	bar[4] = line[32];				/* general digit */
	memcpy(bar + 5, line + 33, 14); /* due factor, amount */
	memcpy(bar + 19, line + 4, 5);	/* free field 1-5 */
	memcpy(bar + 24, line + 10, 10);	/* free field 6-15 */
	memcpy(bar + 34, line + 21, 10);	/* free field 16-25 */
	bar[44] = '\0';
}

bool
BoletoLineValid(const char *p, int len)
{
	char		line[BOLETO_LINE_DIGITS + 1];
	char		bar[BOLETO_BAR_DIGITS + 1];
	char		body[BOLETO_BAR_DIGITS - 1];

	if (!BoletoDigits(p, len, line))
		return false;
	if (BoletoMod10(line, 9) != line[9] - '0' ||
		BoletoMod10(line + 10, 10) != line[20] - '0' ||
		BoletoMod10(line + 21, 10) != line[31] - '0')
		return false;
	BoletoBarcode(line, bar);
	memcpy(body, bar, 4);
	memcpy(body + 4, bar + 5, 39);
	return BoletoMod11(body, 43) == bar[4] - '0';
}

/*
 * The due date of the 47 digits of a valid line, as a julian day.  The
 * due factor counts days from 1997-10-07; after 9999 (2025-02-21) it
 * restarted at 1000 on 2025-02-22, so one factor names two dates 9000 days
 * apart: the one nearer ref_julian is meant.  Returns 1 with *julian set,
 * 0 for factor 0000 (no due date), -1 for a factor below 1000.
 */
int
BoletoDueJulian(const char *line, int ref_julian, int *julian)
{
	int			factor = 0;
	int			old_date,
				new_date;

	for (int i = 33; i < 37; i++)
		factor = factor * 10 + (line[i] - '0');
	if (factor == 0)
		return 0;
	if (factor < 1000)
		return -1;
	old_date = BOLETO_BASE_JULIAN + factor;
	new_date = BOLETO_RESTART_JULIAN + (factor - 1000);
	/* in 64 bits: the reference may be any date */
	if (Abs((int64) ref_julian - old_date) < Abs((int64) ref_julian - new_date))
		*julian = old_date;
	else
		*julian = new_date;
	return 1;
}

#ifndef COBRANCA_FUZZ

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"

#include "money.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(cobranca_crc16_ccitt);

/* crc16_ccitt(text) -> 4 upper-case hex digits */
Datum
cobranca_crc16_ccitt(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char		out[5];

	snprintf(out, sizeof(out), "%04X",
			 CobrancaCrc16(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

PG_FUNCTION_INFO_V1(cobranca_pix_payload);

/*
 * pix_payload(key text, merchant_name text, city text, amount numeric,
 *             txid text) -> text
 *
 * amount and txid may be NULL (the payer types the amount; txid "***").
 */
Datum
cobranca_pix_payload(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"", "key", "merchant name", "city", "amount", "txid"};
	char	   *args[6] = {NULL};
	bool		has_amount = !PG_ARGISNULL(3);
	int64		cents = 0;
	const char *detail;
	StringInfoData buf;
	PixField	bad;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("PIX key, merchant name and city are required"),
				 errhint("Set the creditor's pix_key, name and city.")));
	args[PIX_KEY] = text_to_cstring(PG_GETARG_TEXT_PP(0));
	args[PIX_NAME] = text_to_cstring(PG_GETARG_TEXT_PP(1));
	args[PIX_CITY] = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (has_amount)
	{
		cents = CobrancaNumericToCents(PG_GETARG_NUMERIC(3), "amount");
		args[PIX_AMOUNT] = DatumGetCString(DirectFunctionCall1(numeric_out,
															   PG_GETARG_DATUM(3)));
	}
	if (!PG_ARGISNULL(4))
		args[PIX_TXID] = text_to_cstring(PG_GETARG_TEXT_PP(4));

	initStringInfo(&buf);
	bad = PixBuild(args[PIX_KEY], args[PIX_NAME], args[PIX_CITY], has_amount, cents,
				   args[PIX_TXID], &buf, &detail);
	if (bad != PIX_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid PIX %s: \"%s\"", names[bad], CobrancaShowValue(args[bad])),
				 errdetail("%s", detail)));
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}

bool
CobrancaBoletoLineValid(text *t)
{
	return BoletoLineValid(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

PG_FUNCTION_INFO_V1(cobranca_boleto_line_valid);

/* boleto_line_valid(text) -> boolean */
Datum
cobranca_boleto_line_valid(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CobrancaBoletoLineValid(PG_GETARG_TEXT_PP(0)));
}

PG_FUNCTION_INFO_V1(cobranca_boleto_due_date);

/*
 * boleto_due_date(line text, reference date) -> date: see BoletoDueJulian;
 * factor 0000 gives NULL.  An infinite reference counts as 2025-02-22.
 */
Datum
cobranca_boleto_due_date(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	DateADT		reference = PG_GETARG_DATEADT(1);
	char		line[BOLETO_LINE_DIGITS + 1];
	int			julian;
	int			rc;

	Assert(date2j(1997, 10, 7) == BOLETO_BASE_JULIAN);
	Assert(date2j(2025, 2, 22) == BOLETO_RESTART_JULIAN);
	if (!BoletoDigits(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), line) ||
		!BoletoLineValid(line, BOLETO_LINE_DIGITS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid boleto linha digitável"),
				 errdetail("The line must have 47 digits whose check digits (mod 10 of fields 1 to 3, mod 11 general digit) match."),
				 errhint("Check with cobranca.boleto_line_valid() first.")));
	rc = BoletoDueJulian(line,
						 DATE_NOT_FINITE(reference) ? BOLETO_RESTART_JULIAN
						 : reference + POSTGRES_EPOCH_JDATE,
						 &julian);
	if (rc == 0)
		PG_RETURN_NULL();
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid boleto due factor %.4s", line + 33),
				 errdetail("Due factors run from 1000 to 9999; 0000 means no due date.")));
	PG_RETURN_DATEADT(julian - POSTGRES_EPOCH_JDATE);
}

#endif							/* COBRANCA_FUZZ */
