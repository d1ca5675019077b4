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

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
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
				 errmsg("invalid time zone for %s: \"%s\"", field, tzname),
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
			 errmsg("invalid %s: \"%s\"", field, value),
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
				 errmsg("invalid %s: \"%s\"", field, uf),
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
					 errmsg("invalid channel in %s: \"%s\"", field, c),
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
