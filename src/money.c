/*-------------------------------------------------------------------------
 *
 * money.c
 *	  Money: late charges (updated amount), installment splitting and
 *	  schedules.  The PIX BR Code and the boleto line are in paycode.c.
 *
 * Amounts are handled as int64 cents, so that every rounding is explicit:
 * charges are rounded to the cent half-even, and an installment split
 * always sums back to its total exactly.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"

#include "cobranca.h"
#include "money.h"
#include "validate.h"

/* legal caps, in basis points (hundredths of a percent) */
#define FINE_CAP_BP			200		/* 2% (CDC art. 52 §1º) */
#define INTEREST_CAP_BP		100		/* 1% a month (CC art. 406) */

#define MAX_CENTS			INT64CONST(100000000000000)	/* numeric(14,2) */

/*
 * A numeric with at most two decimals as int64 hundredths (cents of a
 * real, or basis points of a percent).  More decimals, NaN, infinities or
 * values beyond numeric(14,2) are refused with an error naming the field.
 */
int64
CobrancaNumericToCents(Numeric value, const char *field)
{
	char	   *s;
	const char *p;
	bool		neg = false;
	int64		whole = 0;
	int64		frac = 0;
	int			fdigits = 0;
	bool		ok = true;

	if (numeric_is_nan(value) || numeric_is_inf(value))
		ok = false;
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(value)));
	p = s;
	if (ok && *p == '-')
	{
		neg = true;
		p++;
	}
	for (; ok && *p >= '0' && *p <= '9'; p++)
	{
		whole = whole * 10 + (*p - '0');
		if (whole >= MAX_CENTS / 100)
			ok = false;
	}
	if (ok && *p == '.')
	{
		for (p++; *p >= '0' && *p <= '9'; p++)
		{
			if (fdigits < 2)
			{
				frac = frac * 10 + (*p - '0');
				fdigits++;
			}
			else if (*p != '0')
				ok = false;
		}
	}
	if (ok && *p != '\0')
		ok = false;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is not an amount with at most two decimals", field),
				 errdetail("%s is %s.", field, CobrancaShowValue(s)),
				 errhint("Amounts are BRL with cents, below 10^12.")));
	while (fdigits < 2)
	{
		frac *= 10;
		fdigits++;
	}
	pfree(s);
	return neg ? -(whole * 100 + frac) : whole * 100 + frac;
}

Numeric
CobrancaCentsToNumeric(int64 cents)
{
	char		buf[64];
	uint64		a = cents < 0 ? (uint64) (-cents) : (uint64) cents;

	snprintf(buf, sizeof(buf), "%s" UINT64_FORMAT ".%02d",
			 cents < 0 ? "-" : "", a / 100, (int) (a % 100));
	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(buf),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/* num / den rounded half-even; num >= 0, den > 0 */
static int64
DivRoundHalfEven(int128 num, int128 den)
{
	int128		q = num / den;
	int128		r = num - q * den;

	if (2 * r > den || (2 * r == den && (q % 2) != 0))
		q++;
	return (int64) q;
}

/*
 * Late charges on a balance: the fine once, the interest simple and pro rata
 * die (a month counted as 30 days) over the days after the due date that
 * were not disputed.  Percentages above the legal caps are capped.
 */
void
CobrancaLateCharges(int64 balance, int32 late_days, int64 fine_bp,
					int64 interest_bp, bool fine_due,
					int64 *fine, int64 *interest)
{
	*fine = 0;
	*interest = 0;
	if (balance <= 0)
		return;
	fine_bp = Max(0, Min(fine_bp, FINE_CAP_BP));
	interest_bp = Max(0, Min(interest_bp, INTEREST_CAP_BP));
	if (fine_due)
		*fine = DivRoundHalfEven((int128) balance * fine_bp, 10000);
	if (late_days > 0)
		*interest = DivRoundHalfEven((int128) balance * interest_bp * late_days,
									 (int128) 10000 * 30);
}

PG_FUNCTION_INFO_V1(cobranca_late_charges);

/*
 * late_charges(balance numeric, due_on date, as_of date, fine_pct numeric,
 *              interest_month_pct numeric, disputed_days int, disputed bool)
 *   -> (principal, fine, interest, total)
 *
 * disputed_days: days after the due date, up to as_of, on which a dispute
 * was open (no interest accrues on them); disputed: a dispute is open at
 * as_of (no fine while the debt itself is contested).
 */
Datum
cobranca_late_charges(PG_FUNCTION_ARGS)
{
	int64		balance = CobrancaNumericToCents(PG_GETARG_NUMERIC(0), "balance");
	DateADT		due_on = PG_GETARG_DATEADT(1);
	DateADT		as_of = PG_GETARG_DATEADT(2);
	int64		fine_bp = CobrancaNumericToCents(PG_GETARG_NUMERIC(3), "fine_pct");
	int64		interest_bp = CobrancaNumericToCents(PG_GETARG_NUMERIC(4), "interest_month_pct");
	int32		disputed_days = PG_GETARG_INT32(5);
	bool		disputed = PG_GETARG_BOOL(6);
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int64		fine = 0;
	int64		interest = 0;
	int32		late_days;

	if (DATE_NOT_FINITE(due_on) || DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("late charges need finite dates"),
				 errdetail("due_on and as_of must be calendar dates, not infinity.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "late_charges must return a row");
	tupdesc = BlessTupleDesc(tupdesc);

	if (balance < 0)
		balance = 0;
	if (as_of > due_on)
	{
		late_days = (as_of - due_on) - Max(disputed_days, 0);
		CobrancaLateCharges(balance, Max(late_days, 0), fine_bp, interest_bp,
							!disputed, &fine, &interest);
	}
	values[0] = NumericGetDatum(CobrancaCentsToNumeric(balance));
	values[1] = NumericGetDatum(CobrancaCentsToNumeric(fine));
	values[2] = NumericGetDatum(CobrancaCentsToNumeric(interest));
	values[3] = NumericGetDatum(CobrancaCentsToNumeric(balance + fine + interest));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * Split total cents in n installments: equal parts, the remainder of the
 * division on the first, so that they sum to the total exactly.
 */
static void
SplitCents(int64 total, int32 n, int64 *parts)
{
	int64		base = total / n;
	int64		rest = total - base * n;

	for (int i = 0; i < n; i++)
		parts[i] = base;
	parts[0] += rest;
}

static void
CheckSplit(int64 total, int32 n, Numeric total_num)
{
	if (n < 1 || n > 360)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("installments must be between 1 and 360"),
				 errdetail("installments is %d.", n)));
	if (total <= 0 || total / n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("total cannot be split in %d installments of at least one cent", n),
				 errdetail("total is %s.",
						   DatumGetCString(DirectFunctionCall1(numeric_out,
															   NumericGetDatum(total_num)))),
				 errhint("Use fewer installments.")));
}

PG_FUNCTION_INFO_V1(cobranca_discounted);

/*
 * discounted(total numeric, discount_pct numeric) -> numeric: the total less
 * the discount, the discount rounded to the cent half-even.
 */
Datum
cobranca_discounted(PG_FUNCTION_ARGS)
{
	int64		total = CobrancaNumericToCents(PG_GETARG_NUMERIC(0), "total");
	Numeric		pct_num = PG_GETARG_NUMERIC(1);
	int64		pct_bp = CobrancaNumericToCents(pct_num, "discount_pct");

	if (pct_bp < 0 || pct_bp > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("discount_pct must be between 0 and 100"),
				 errdetail("discount_pct is %s.",
						   DatumGetCString(DirectFunctionCall1(numeric_out,
															   NumericGetDatum(pct_num))))));
	if (total < 0)
		total = 0;
	PG_RETURN_NUMERIC(CobrancaCentsToNumeric(total - DivRoundHalfEven((int128) total * pct_bp, 10000)));
}

PG_FUNCTION_INFO_V1(cobranca_agreement_grace);

/* agreement_grace_days() -> int: the setting, with the library loaded */
Datum
cobranca_agreement_grace(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(cobranca_agreement_grace_days);
}

PG_FUNCTION_INFO_V1(cobranca_split_amount);

/* split_amount(total numeric, n int) -> numeric[] */
Datum
cobranca_split_amount(PG_FUNCTION_ARGS)
{
	Numeric		total_num = PG_GETARG_NUMERIC(0);
	int64		total = CobrancaNumericToCents(total_num, "total");
	int32		n = PG_GETARG_INT32(1);
	int64	   *parts;
	Datum	   *elems;

	CheckSplit(total, n, total_num);
	parts = palloc(sizeof(int64) * n);
	elems = palloc(sizeof(Datum) * n);
	SplitCents(total, n, parts);
	for (int i = 0; i < n; i++)
		elems[i] = NumericGetDatum(CobrancaCentsToNumeric(parts[i]));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, NUMERICOID, -1, false,
										  TYPALIGN_INT));
}

/*
 * Business days for due dates: not Saturday or Sunday, not a national
 * holiday (the fixed ones of Lei 662/1949 and Lei 14.759/2023, Good Friday
 * and Corpus Christi, on which banks do not open).
 */
static int
EasterJulian(int year)
{
	/* anonymous Gregorian algorithm (Meeus/Jones/Butcher) */
	int			a = year % 19,
				b = year / 100,
				c = year % 100,
				d = b / 4,
				e = b % 4,
				f = (b + 8) / 25,
				g = (b - f + 1) / 3,
				h = (19 * a + b - d - g + 15) % 30,
				i = c / 4,
				k = c % 4,
				l = (32 + 2 * e + 2 * i - h - k) % 7,
				m = (a + 11 * h + 22 * l) / 451,
				month = (h + l - 7 * m + 114) / 31,
				day = ((h + l - 7 * m + 114) % 31) + 1;

	return date2j(year, month, day);
}

static bool
IsBankHoliday(int julian)
{
	static const int fixed[][2] = {
		{1, 1}, {4, 21}, {5, 1}, {9, 7}, {10, 12}, {11, 2}, {11, 15},
		{11, 20}, {12, 25}
	};
	int			year,
				month,
				day,
				easter;

	j2date(julian, &year, &month, &day);
	for (int i = 0; i < lengthof(fixed); i++)
		if (fixed[i][0] == month && fixed[i][1] == day)
			return !(month == 11 && day == 20 && year < 2024);
	easter = EasterJulian(year);
	return julian == easter - 2 || julian == easter + 60;
}

int
CobrancaNextBankDay(int julian)
{
	for (;;)
	{
		int			dow = j2day(julian);

		if (dow != 0 && dow != 6 && !IsBankHoliday(julian))
			return julian;
		julian++;
	}
}

/* the same day k months after (year, month, day), clamped to the month end */
static int
AddMonths(int year, int month, int day, int k)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			m0 = (month - 1) + k;
	int			y = year + m0 / 12;
	int			m = m0 % 12 + 1;
	int			last = mdays[m - 1];

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		last = 29;
	return date2j(y, m, Min(day, last));
}

PG_FUNCTION_INFO_V1(cobranca_installment_schedule);

/*
 * installment_schedule(total numeric, n int, first_due date)
 *   -> setof (n int, due_on date, amount numeric)
 *
 * Monthly installments from first_due, each due date moved to the next
 * bank business day; amounts as split_amount.
 */
Datum
cobranca_installment_schedule(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Numeric		total_num = PG_GETARG_NUMERIC(0);
	int64		total = CobrancaNumericToCents(total_num, "total");
	int32		n = PG_GETARG_INT32(1);
	DateADT		first_due = PG_GETARG_DATEADT(2);
	int64	   *parts;
	int			year,
				month,
				day;

	if (DATE_NOT_FINITE(first_due))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("first_due must be a calendar date")));
	CheckSplit(total, n, total_num);
	parts = palloc(sizeof(int64) * n);
	SplitCents(total, n, parts);
	j2date(first_due + POSTGRES_EPOCH_JDATE, &year, &month, &day);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		int			due = CobrancaNextBankDay(AddMonths(year, month, day, i));

		values[0] = Int32GetDatum(i + 1);
		values[1] = DateADTGetDatum(due - POSTGRES_EPOCH_JDATE);
		values[2] = NumericGetDatum(CobrancaCentsToNumeric(parts[i]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
