/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Checks behind the tables' CHECK constraints.
 *
 * A plain CHECK constraint fails with "new row violates check constraint"
 * and the whole row as detail, which tells an ERP little.  These functions
 * return true for a good value and otherwise raise an error that names the
 * field, the value and what would have been accepted.  They are IMMUTABLE
 * and STRICT (a NULL is left to NOT NULL), so a constraint built on them
 * costs one function call per row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/timestamp.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "validate.h"

static const char *const brazilian_ufs[] = {
	"AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS",
	"MT", "PA", "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC",
	"SE", "SP", "TO"
};

static const char *const channels[] = {
	"email", "sms", "whatsapp", "phone", "letter"
};

/*
 * A value as shown in a message: at most SHOW_CHARS characters (a 1 MB
 * value is never echoed whole), control characters written as \xNN so
 * that a value cannot forge lines in the server log, and a note of the
 * full length when cut.
 */
#define SHOW_CHARS 60

char *
CobrancaShowValue(const char *value)
{
	StringInfoData out;
	int			len = strlen(value);
	int			cut = pg_mbcharcliplen(value, len, SHOW_CHARS);

	initStringInfo(&out);
	for (int i = 0; i < cut; i++)
	{
		unsigned char c = (unsigned char) value[i];

		if (c < 0x20 || c == 0x7F)
			appendStringInfo(&out, "\\x%02X", c);
		else
			appendStringInfoChar(&out, (char) c);
	}
	if (cut < len)
		appendStringInfo(&out, "... (%d characters)", pg_mbstrlen_with_len(value, len));
	return out.data;
}

bool
CobrancaIsUF(const char *uf)
{
	for (int i = 0; i < lengthof(brazilian_ufs); i++)
		if (strcmp(uf, brazilian_ufs[i]) == 0)
			return true;
	return false;
}

bool
CobrancaIsChannel(const char *channel)
{
	for (int i = 0; i < lengthof(channels); i++)
		if (strcmp(channel, channels[i]) == 0)
			return true;
	return false;
}

/*
 * Accept IANA zone names only ("America/Manaus", "UTC"): POSIX-style
 * specifications such as "BRT3" would load but silently ignore daylight
 * saving rules.
 */
void
CobrancaCheckTimezone(const char *field, const char *tzname)
{
	bool		ok = (tzname[0] != '\0' && strlen(tzname) < TZ_STRLEN_MAX);

	if (ok && strchr(tzname, '/') == NULL && strcmp(tzname, "UTC") != 0)
		ok = false;
	if (ok && pg_tzset(tzname) == NULL)
		ok = false;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid time zone for %s: \"%s\"", field, CobrancaShowValue(tzname)),
				 errdetail("%s must be an IANA time zone name known to the server.", field),
				 errhint("Brazilian payers use America/Sao_Paulo, America/Manaus, America/Rio_Branco, America/Noronha or another America/ zone of Brazil.")));
}

PG_FUNCTION_INFO_V1(cobranca_check_positive);

/* check_positive(field text, value numeric): value > 0, not NaN */
Datum
cobranca_check_positive(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Numeric		value = PG_GETARG_NUMERIC(1);
	bool		ok;

	if (numeric_is_nan(value) || numeric_is_inf(value))
		ok = false;
	else
		ok = DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											   NumericGetDatum(value),
											   NumericGetDatum(int64_to_numeric(0)))) > 0;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s must be greater than zero", field),
				 errdetail("%s is %s.", field,
						   DatumGetCString(DirectFunctionCall1(numeric_out,
															   NumericGetDatum(value)))),
				 errhint("Amounts are positive values in BRL; record reversals by deleting or correcting the original row.")));
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_member);

/* check_member(field text, value text, allowed text[]) */
Datum
cobranca_check_member(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *value = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ArrayType  *allowed = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	StringInfoData list;

	deconstruct_array(allowed, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			continue;
		if (strcmp(value, TextDatumGetCString(elems[i])) == 0)
			PG_RETURN_BOOL(true);
	}

	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			appendStringInfo(&list, "%s%s", list.len > 0 ? ", " : "",
							 TextDatumGetCString(elems[i]));

	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("invalid %s: \"%s\"", field, CobrancaShowValue(value)),
			 errdetail("%s must be one of: %s.", field, list.data)));
	PG_RETURN_BOOL(false);		/* keep compiler quiet */
}

/* a date as YYYY-MM-DD whatever DateStyle says: messages must read the same everywhere */
static char *
iso_date(DateADT d)
{
	struct pg_tm tm;
	char		buf[MAXDATELEN + 1];

	if (DATE_NOT_FINITE(d))
		EncodeSpecialDate(d, buf);
	else
	{
		j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
		EncodeDateOnly(&tm, USE_ISO_DATES, buf);
	}
	return pstrdup(buf);
}

PG_FUNCTION_INFO_V1(cobranca_check_not_before);

/* check_not_before(late_field text, late date, early_field text, early date) */
Datum
cobranca_check_not_before(PG_FUNCTION_ARGS)
{
	char	   *late_field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	DateADT		late = PG_GETARG_DATEADT(1);
	char	   *early_field = text_to_cstring(PG_GETARG_TEXT_PP(2));
	DateADT		early = PG_GETARG_DATEADT(3);

	if (late < early)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s is before %s", late_field, early_field),
				 errdetail("%s is %s and %s is %s.",
						   late_field, iso_date(late), early_field, iso_date(early)),
				 errhint("Check the order of the dates sent.")));
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_uf);

/* check_uf(field text, uf text) */
Datum
cobranca_check_uf(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *uf = text_to_cstring(PG_GETARG_TEXT_PP(1));

	if (!CobrancaIsUF(uf))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("invalid %s: \"%s\"", field, CobrancaShowValue(uf)),
				 errdetail("%s must be the two upper-case letters of a Brazilian state or DF.", field),
				 errhint("For example SP, RJ, MG or DF.")));
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_timezone);

/* check_timezone(field text, tz text) */
Datum
cobranca_check_timezone(PG_FUNCTION_ARGS)
{
	CobrancaCheckTimezone(text_to_cstring(PG_GETARG_TEXT_PP(0)),
						  text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_channels);

/* check_channels(field text, channels text[]): every element a known channel */
Datum
cobranca_check_channels(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *c = nulls[i] ? "NULL" : TextDatumGetCString(elems[i]);

		if (nulls[i] || !CobrancaIsChannel(c))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("invalid channel in %s: \"%s\"", field, CobrancaShowValue(c)),
					 errdetail("Channels are email, sms, whatsapp, phone and letter.")));
	}
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_range);

/* check_range(field text, value numeric, low numeric, high numeric): low <= value <= high */
Datum
cobranca_check_range(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		value = PG_GETARG_DATUM(1);
	Datum		low = PG_GETARG_DATUM(2);
	Datum		high = PG_GETARG_DATUM(3);

	if (numeric_is_nan(DatumGetNumeric(value)) ||
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, value, low)) < 0 ||
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, value, high)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s is out of range", field),
				 errdetail("%s is %s; it must be between %s and %s.", field,
						   DatumGetCString(DirectFunctionCall1(numeric_out, value)),
						   DatumGetCString(DirectFunctionCall1(numeric_out, low)),
						   DatumGetCString(DirectFunctionCall1(numeric_out, high)))));
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_rule);

/*
 * check_rule(ok boolean, message text, detail text): a CHECK constraint
 * on several columns that fails with its own words instead of the row.
 */
Datum
cobranca_check_rule(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_GETARG_BOOL(0))
		PG_RETURN_BOOL(true);
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("%s", text_to_cstring(PG_GETARG_TEXT_PP(1))),
			 errdetail("%s", text_to_cstring(PG_GETARG_TEXT_PP(2)))));
	PG_RETURN_BOOL(false);		/* keep compiler quiet */
}

PG_FUNCTION_INFO_V1(cobranca_check_text);

/*
 * check_text(field text, value text, max_chars integer, multiline boolean):
 * 1 to max_chars characters, no control character (tab, line feed and
 * carriage return only when multiline).
 */
Datum
cobranca_check_text(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	text	   *t = PG_GETARG_TEXT_PP(1);
	int32		max_chars = PG_GETARG_INT32(2);
	bool		multiline = PG_GETARG_BOOL(3);
	const char *p = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	int			chars;

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s is empty", field),
				 errdetail("%s must have 1 to %d characters.", field, max_chars),
				 errhint("Send NULL when there is no value.")));
	chars = pg_mbstrlen_with_len(p, len);
	if (chars > max_chars)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s is too long", field),
				 errdetail("%s has %d characters; at most %d are accepted. It begins \"%s\".",
						   field, chars, max_chars,
						   CobrancaShowValue(text_to_cstring(t))),
				 errhint("Shorten the value at its source; it is not truncated silently.")));
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if ((c < 0x20 && !(multiline && (c == '\t' || c == '\n' || c == '\r'))) || c == 0x7F)
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("%s contains a control character", field),
					 errdetail("%s has the byte 0x%02X at character %d: \"%s\".", field, c,
							   pg_mbstrlen_with_len(p, i) + 1,
							   CobrancaShowValue(text_to_cstring(t))),
					 errhint(multiline ?
							 "Only tab, line feed and carriage return are accepted among control characters." :
							 "This field is one line of text: no tab, line feed or other control character.")));
	}
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_pattern);

/*
 * check_pattern(field text, value text, pattern text, expected text):
 * value matches the regular expression pattern; expected says in words
 * what does.
 */
Datum
cobranca_check_pattern(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	text	   *value = PG_GETARG_TEXT_PP(1);
	text	   *pattern = PG_GETARG_TEXT_PP(2);
	char	   *expected = text_to_cstring(PG_GETARG_TEXT_PP(3));

	if (!DatumGetBool(DirectFunctionCall2Coll(textregexeq, C_COLLATION_OID,
											  PointerGetDatum(value),
											  PointerGetDatum(pattern))))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("invalid %s: \"%s\"", field, CobrancaShowValue(text_to_cstring(value))),
				 errdetail("%s must be %s.", field, expected)));
	PG_RETURN_BOOL(true);
}

/* the dates a business row may carry: no 'infinity', no 4713 BC, no year 294276 */
#define FIRST_DATE_Y 1900
#define LAST_DATE_Y 2099

static void
check_date_julian(const char *field, const char *shown, bool finite, int julian)
{
	if (!finite || julian < date2j(FIRST_DATE_Y, 1, 1) || julian > date2j(LAST_DATE_Y, 12, 31))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", field),
				 errdetail("%s is %s; it must be a date from %d-01-01 to %d-12-31.",
						   field, shown, FIRST_DATE_Y, LAST_DATE_Y),
				 errhint("'infinity' and '-infinity' are not dates of a bill; send NULL where the field is optional.")));
}

PG_FUNCTION_INFO_V1(cobranca_check_date);

/* check_date(field text, value date): a finite date from 1900 to 2099 */
Datum
cobranca_check_date(PG_FUNCTION_ARGS)
{
	DateADT		d = PG_GETARG_DATEADT(1);

	check_date_julian(text_to_cstring(PG_GETARG_TEXT_PP(0)), iso_date(d),
					  !DATE_NOT_FINITE(d), DATE_NOT_FINITE(d) ? 0 : d + POSTGRES_EPOCH_JDATE);
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_timestamp);

/* check_timestamp(field text, value timestamptz): finite, in UTC from 1900 to 2099 */
Datum
cobranca_check_timestamp(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
	bool		finite = !TIMESTAMP_NOT_FINITE(ts);
	int			julian = 0;
	char	   *shown;

	if (finite)
		julian = (int) (ts / USECS_PER_DAY + POSTGRES_EPOCH_JDATE - (ts % USECS_PER_DAY < 0 ? 1 : 0));
	shown = DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(ts)));
	check_date_julian(text_to_cstring(PG_GETARG_TEXT_PP(0)), shown, finite, julian);
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_members);

/* check_members(field text, values text[], allowed text[]): every element one of allowed */
Datum
cobranca_check_members(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *allowed = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *elems,
			   *ok;
	bool	   *nulls,
			   *oknulls;
	int			n,
				nok;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	deconstruct_array(allowed, TEXTOID, -1, false, TYPALIGN_INT, &ok, &oknulls, &nok);
	for (int i = 0; i < n; i++)
	{
		char	   *v = nulls[i] ? "NULL" : TextDatumGetCString(elems[i]);
		bool		found = false;

		for (int j = 0; j < nok && !nulls[i] && !found; j++)
			found = !oknulls[j] && strcmp(v, TextDatumGetCString(ok[j])) == 0;
		if (!found)
		{
			StringInfoData list;

			initStringInfo(&list);
			for (int j = 0; j < nok; j++)
				if (!oknulls[j])
					appendStringInfo(&list, "%s%s", list.len > 0 ? ", " : "",
									 TextDatumGetCString(ok[j]));
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("invalid element of %s: \"%s\"", field, CobrancaShowValue(v)),
					 errdetail("Element %d of %s is \"%s\"; each must be one of: %s.",
							   i + 1, field, CobrancaShowValue(v), list.data)));
		}
	}
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_check_finite);

/* check_finite(field text, values float8[]): no NULL, NaN or infinity */
Datum
cobranca_check_finite(PG_FUNCTION_ARGS)
{
	char	   *field = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (nulls[i] || isnan(DatumGetFloat8(elems[i])) || isinf(DatumGetFloat8(elems[i])))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("%s has a value that is not a finite number", field),
					 errdetail("Element %d of %s is %s.", i + 1, field,
							   nulls[i] ? "NULL" :
							   DatumGetCString(DirectFunctionCall1(float8out, elems[i]))),
					 errhint("Every coefficient must be a finite number.")));
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_show_value);

/* show_value(text): the value as messages show it (CobrancaShowValue) */
Datum
cobranca_show_value(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(CobrancaShowValue(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}
