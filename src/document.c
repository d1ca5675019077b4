/*-------------------------------------------------------------------------
 *
 * document.c
 *	  CPF (individuals) and CNPJ (companies): normalisation, check digits
 *	  and the masked form shown to analysts.
 *
 * CPF: 9 digits and 2 check digits; weights 10..2 then 11..2; a remainder
 * mod 11 below 2 gives 0, otherwise 11 - remainder.  Numbers made of one
 * repeated digit pass the arithmetic but are not issued, so they are refused.
 *
 * CNPJ: 12 characters and 2 numeric check digits; weights 2..9 cycling
 * from the right, same remainder rule.  Since July 2026 (IN RFB 2.229/2024)
 * the first 12 characters may be letters, each valued at its ASCII code
 * minus 48, so that digits keep their value and 'A' is worth 17.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "document.h"

int
DocumentStrip(const char *in, char *out, int maxlen)
{
	int			n = 0;

	for (const char *p = in; *p; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c == '.' || c == '-' || c == '/' || c == ' ' || c == '\t')
			continue;
		if (!(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') &&
			!(c >= 'a' && c <= 'z'))
			return -1;
		if (n >= maxlen)
			return -1;
		out[n++] = (char) ((c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c);
	}
	out[n] = '\0';
	return n;
}

static bool
all_same(const char *s, int len)
{
	for (int i = 1; i < len; i++)
		if (s[i] != s[0])
			return false;
	return true;
}

static int
check_digit(int sum)
{
	int			r = sum % 11;

	return r < 2 ? 0 : 11 - r;
}

bool
CpfValid(const char *d)
{
	int			sum;

	if (strlen(d) != CPF_LEN || all_same(d, CPF_LEN))
		return false;
	for (int i = 0; i < CPF_LEN; i++)
		if (!isdigit((unsigned char) d[i]))
			return false;

	for (int k = 0; k < 2; k++)
	{
		int			len = 9 + k;	/* digits covered by this check digit */

		sum = 0;
		for (int i = 0; i < len; i++)
			sum += (d[i] - '0') * (len + 1 - i);
		if (check_digit(sum) != d[len] - '0')
			return false;
	}
	return true;
}

bool
CnpjValid(const char *c)
{
	if (strlen(c) != CNPJ_LEN || all_same(c, CNPJ_LEN))
		return false;
	for (int i = 0; i < 12; i++)
		if (!isdigit((unsigned char) c[i]) && !(c[i] >= 'A' && c[i] <= 'Z'))
			return false;
	if (!isdigit((unsigned char) c[12]) || !isdigit((unsigned char) c[13]))
		return false;

	for (int k = 0; k < 2; k++)
	{
		int			len = 12 + k;
		int			sum = 0;

		/* weights 2..9, cycling, from the rightmost covered character */
		for (int i = len - 1, w = 2; i >= 0; i--, w = (w == 9) ? 2 : w + 1)
			sum += (c[i] - '0') * w;
		if (check_digit(sum) != c[len] - '0')
			return false;
	}
	return true;
}

/*
 * Masked forms keep the middle characters only, enough for a person to
 * confirm a document read to them on the phone:
 *	 CPF  ***.456.789-**
 *	 CNPJ **.ABC.345 / ****-** (without the blanks)
 * "out" must hold 19 bytes.  A value of the wrong length masks completely.
 */
void
DocumentMask(DocumentKind kind, const char *s, char *out)
{
	size_t		len = strlen(s);

	if (kind == DOC_CPF)
	{
		if (len == CPF_LEN)
			snprintf(out, 19, "***.%.3s.%.3s-**", s + 3, s + 6);
		else
			strcpy(out, "***.***.***-**");
	}
	else
	{
		if (len == CNPJ_LEN)
			snprintf(out, 19, "**.%.3s.%.3s/****-**", s + 2, s + 5);
		else
			strcpy(out, "**.***.***/****-**");
	}
}

/*
 * The SQL-callable functions.  Everything above is plain C, so that the
 * fuzzing harness (test/fuzz) can build it without a server.
 */
#ifndef COBRANCA_FUZZ

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "validate.h"

static DocumentKind
kind_from_text(text *t)
{
	char	   *k = text_to_cstring(t);

	if (strcmp(k, "person") == 0 || strcmp(k, "cpf") == 0)
		return DOC_CPF;
	if (strcmp(k, "company") == 0 || strcmp(k, "cnpj") == 0)
		return DOC_CNPJ;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid document kind: \"%s\"", CobrancaShowValue(k)),
			 errdetail("The kind is person (CPF) or company (CNPJ).")));
	return DOC_CPF;				/* keep compiler quiet */
}

PG_FUNCTION_INFO_V1(cobranca_cpf_valid);

/* cpf_valid(text) → boolean: punctuation allowed, check digits verified */
Datum
cobranca_cpf_valid(PG_FUNCTION_ARGS)
{
	char	   *in = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		buf[CPF_LEN + 1];

	PG_RETURN_BOOL(DocumentStrip(in, buf, CPF_LEN) == CPF_LEN && CpfValid(buf));
}

PG_FUNCTION_INFO_V1(cobranca_cnpj_valid);

/* cnpj_valid(text) → boolean: numeric and 2026 alphanumeric CNPJ */
Datum
cobranca_cnpj_valid(PG_FUNCTION_ARGS)
{
	char	   *in = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		buf[CNPJ_LEN + 1];

	PG_RETURN_BOOL(DocumentStrip(in, buf, CNPJ_LEN) == CNPJ_LEN && CnpjValid(buf));
}

PG_FUNCTION_INFO_V1(cobranca_document_normalize);

/*
 * document_normalize(kind text, document text) → text
 *
 * The canonical form (11 digits, or 14 upper-case characters) of a valid
 * document; raises an error naming what is wrong otherwise.  The value is
 * never echoed in clear: messages carry its masked form.
 */
Datum
cobranca_document_normalize(PG_FUNCTION_ARGS)
{
	DocumentKind kind = kind_from_text(PG_GETARG_TEXT_PP(0));
	char	   *in = text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *name = (kind == DOC_CPF) ? "CPF" : "CNPJ";
	int			want = (kind == DOC_CPF) ? CPF_LEN : CNPJ_LEN;
	char		buf[CNPJ_LEN + 1];
	char		masked[19];
	int			n;
	/* document_normalize(kind, document, field): the column, for messages */
	char	   *field = (PG_NARGS() > 2 && !PG_ARGISNULL(2)) ?
		text_to_cstring(PG_GETARG_TEXT_PP(2)) : NULL;
	char	   *where = field ? psprintf(" in %s", field) : "";
	char	   *hint = (field == NULL || strncmp(field, "payer.", 6) == 0) ?
		"payer.kind person takes a CPF, company takes a CNPJ." :
		psprintf("%s takes a %s.", field, name);

	n = DocumentStrip(in, buf, want);
	if (n != want)
	{
		/* say what is wrong without showing any of the document's digits */
		const char *what = psprintf("%d", n);

		if (n < 0)
		{
			int			pos = 1;

			what = psprintf("more than %d", want);
			for (const char *p = in; *p; p += pg_mblen(p), pos++)
			{
				unsigned char c = (unsigned char) *p;

				if (!(c == '.' || c == '-' || c == '/' || c == ' ' || c == '\t' ||
					  (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
				{
					what = GetDatabaseEncoding() == PG_UTF8 ?
						psprintf("the character U+%04X at position %d",
								 (unsigned) utf8_to_unicode((const unsigned char *) p), pos) :
						psprintf("the byte 0x%02X at position %d", c, pos);
					break;
				}
			}
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid %s%s: malformed value", name, where),
				 errdetail("A %s has %d %s, optionally punctuated with \".\", \"-\" and \"/\"; the value given has %s.",
						   name, want,
						   kind == DOC_CPF ? "digits" : "characters (12 letters or digits, then 2 digits)",
						   what),
				 errhint("%s", hint)));
	}

	for (int i = 0; i < want; i++)
		if ((buf[i] < '0' || buf[i] > '9') && (kind == DOC_CPF || i >= CNPJ_LEN - 2))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid %s%s: malformed value", name, where),
					 errdetail("%s has a letter at position %d of its %d characters, where only a digit can be.",
							   kind == DOC_CPF ? "The CPF" : "The CNPJ", i + 1, want),
					 errhint("%s", kind == DOC_CPF ? "A CPF is all digits; check for a letter O typed for a zero." :
							 "The two check digits of a CNPJ are digits, also in the alphanumeric form.")));

	if (!(kind == DOC_CPF ? CpfValid(buf) : CnpjValid(buf)))
	{
		DocumentMask(kind, buf, masked);
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("invalid %s%s: check digits do not match", name, where),
				 errdetail("The %s %s fails the check-digit test%s.", name, masked,
						   all_same(buf, want) ? " (a number of one repeated character is never issued)" : ""),
				 errhint("Check the document at its source; it may have been mistyped.")));
	}
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

PG_FUNCTION_INFO_V1(cobranca_document_mask);

/* document_mask(kind text, normalized text) → text */
Datum
cobranca_document_mask(PG_FUNCTION_ARGS)
{
	DocumentKind kind = kind_from_text(PG_GETARG_TEXT_PP(0));
	char		masked[19];

	DocumentMask(kind, text_to_cstring(PG_GETARG_TEXT_PP(1)), masked);
	PG_RETURN_TEXT_P(cstring_to_text(masked));
}

#endif							/* COBRANCA_FUZZ */
