/*-------------------------------------------------------------------------
 *
 * claims_ratio.c
 *	  The claims-ratio aggregate (sinistralidade):
 *	  cobranca.claims_ratio(claims numeric, premiums numeric) returns
 *	  sum(claims) / sum(premiums) x 100 rounded to 2 decimals, or NULL when
 *	  the premiums add up to zero.
 *
 * The state is two sums in integer cents (128-bit), so the result is exact
 * however many rows are added, in whatever order, split across however many
 * parallel workers, and removing rows again (moving-window mode) gives back
 * exactly the state before they were added: no float drift, no rounding
 * that depends on the plan.
 *
 * Reading a numeric into cents is the hot path.  The general route
 * (numeric_mul, numeric_int8) allocates several numerics per row; instead
 * the value is read straight from its stored form, whose layout is fixed by
 * the on-disk format (pg_upgrade carries numeric values over bit for bit):
 * a 16-bit header (short form: sign, display scale and weight packed in it;
 * long form: sign and display scale, then a 16-bit weight) followed by
 * base-10000 digits, most significant first, the first at position
 * "weight", trailing zero digits omitted.  A value with more than two
 * decimals is first rounded to cents (half away from zero, as round(x, 2)).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

/*
 * A numeric argument as stored: a short (1-byte header) varlena is read in
 * place instead of being copied to a 4-byte header first.
 */
#define PG_GETARG_NUMERIC_PACKED(n) \
	((Numeric) PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(n)))

#if !defined(HAVE_INT128)
#error "the claims-ratio aggregate needs a compiler with a 128-bit integer type"
#endif

typedef struct ClaimsRatioState
{
	int128		claims;			/* sum of claims, in cents */
	int128		premiums;		/* sum of premiums, in cents */
} ClaimsRatioState;

/* stored numeric header bits (see the comment at the top) */
#define NUM_FLAG_MASK		0xC000
#define NUM_NEG				0x4000
#define NUM_SHORT			0x8000
#define NUM_SPECIAL			0xC000
#define NUM_SHORT_NEG		0x2000
#define NUM_SHORT_WSIGN		0x0040
#define NUM_SHORT_WMASK		0x003F
#define NUM_BASE			10000

/* values below 10^20 in magnitude (weight at most 4) are accepted */
#define NUM_MAX_WEIGHT		4

static void
ReportOutOfRange(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("claims ratio out of range"),
			 errdetail("The sum of %s is beyond what the claims ratio can add up.", what)));
}

static void
ReportValueOutOfRange(const char *argname)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("claims ratio argument out of range"),
			 errdetail("Argument %s is 10^20 or more in magnitude.", argname),
			 errhint("Claims and premiums are amounts in BRL.")));
}

/*
 * Read a numeric as an exact number of cents.  Returns false (leaving
 * *cents alone) when the value has a nonzero digit below the cent, so that
 * the caller rounds it first.
 */
static bool
NumericReadCents(Numeric num, const char *argname, int128 *cents)
{
	const char *p = VARDATA_ANY(num);
	int			len = VARSIZE_ANY_EXHDR(num);
	uint16		header;
	int			weight;
	bool		negative;
	int			hdrsize;
	int			ndigits;
	int128		whole = 0;
	int			frac = 0;

	if (len < (int) sizeof(uint16))
		elog(ERROR, "corrupt numeric value");
	memcpy(&header, p, sizeof(uint16));

	if ((header & NUM_FLAG_MASK) == NUM_SPECIAL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("claims ratio of a value that is not a number"),
				 errdetail("Argument %s is %s.", argname,
						   header == NUM_SPECIAL ? "NaN" : "infinite"),
				 errhint("Claims and premiums are amounts in BRL.")));

	if ((header & NUM_FLAG_MASK) == NUM_SHORT)
	{
		negative = (header & NUM_SHORT_NEG) != 0;
		weight = (header & NUM_SHORT_WMASK);
		if (header & NUM_SHORT_WSIGN)
			weight |= ~NUM_SHORT_WMASK;
		hdrsize = sizeof(uint16);
	}
	else
	{
		int16		w;

		if (len < (int) (2 * sizeof(uint16)))
			elog(ERROR, "corrupt numeric value");
		negative = (header & NUM_FLAG_MASK) == NUM_NEG;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		hdrsize = 2 * sizeof(uint16);
	}
	ndigits = (len - hdrsize) / (int) sizeof(int16);
	p += hdrsize;

	if (ndigits == 0)
	{
		*cents = 0;
		return true;
	}
	if (weight > NUM_MAX_WEIGHT)
		ReportValueOutOfRange(argname);

	for (int i = 0; i < ndigits; i++)
	{
		int			pos = weight - i;
		int16		d;

		memcpy(&d, p + i * sizeof(int16), sizeof(int16));
		if (pos >= 0)
			continue;			/* whole part: done below */
		if (pos == -1)
		{
			if (d % 100 != 0)
				return false;
			frac = d / 100;
		}
		else if (d != 0)
			return false;
	}
	/* whole part: positions weight .. 0; omitted trailing digits are zero */
	for (int pos = weight, i = 0; pos >= 0; pos--, i++)
	{
		int16		d = 0;

		if (i < ndigits)
			memcpy(&d, p + i * sizeof(int16), sizeof(int16));
		whole = whole * NUM_BASE + d;
	}
	*cents = whole * 100 + frac;
	if (negative)
		*cents = -*cents;
	return true;
}

static int128
NumericToCents(Numeric num, const char *argname)
{
	int128		cents;

	if (!NumericReadCents(num, argname, &cents))
	{
		Numeric		rounded;

		rounded = DatumGetNumeric(DirectFunctionCall2(numeric_round,
													  NumericGetDatum(num),
													  Int32GetDatum(2)));
		if (!NumericReadCents(rounded, argname, &cents))
			elog(ERROR, "numeric rounded to cents still has digits below the cent");
	}
	return cents;
}

static inline void
AddCents(int128 *sum, int128 value, const char *what)
{
	if (__builtin_add_overflow(*sum, value, sum))
		ReportOutOfRange(what);
}

static inline void
SubCents(int128 *sum, int128 value, const char *what)
{
	if (__builtin_sub_overflow(*sum, value, sum))
		ReportOutOfRange(what);
}

static ClaimsRatioState *
StateGet(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;
	ClaimsRatioState *state;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context", fname)));
	if (!PG_ARGISNULL(0))
		return (ClaimsRatioState *) PG_GETARG_POINTER(0);
	state = (ClaimsRatioState *) MemoryContextAllocZero(aggcontext,
														sizeof(ClaimsRatioState));
	return state;
}

/*
 * Transition: add one row.  A NULL claim or premium adds nothing (like
 * sum() skips NULLs), so a month without claims may be fed as NULL.
 */
PG_FUNCTION_INFO_V1(cobranca_claims_ratio_trans);
Datum
cobranca_claims_ratio_trans(PG_FUNCTION_ARGS)
{
	ClaimsRatioState *state = StateGet(fcinfo, "cobranca.claims_ratio_trans");

	if (!PG_ARGISNULL(1))
		AddCents(&state->claims, NumericToCents(PG_GETARG_NUMERIC_PACKED(1), "claims"),
				 "claims");
	if (!PG_ARGISNULL(2))
		AddCents(&state->premiums, NumericToCents(PG_GETARG_NUMERIC_PACKED(2), "premiums"),
				 "premiums");
	PG_RETURN_POINTER(state);
}

/*
 * Inverse transition (moving-window mode): remove a row added before.
 * Integer sums make this exact, so a sliding 12-month window costs two
 * rows per step instead of twelve.
 */
PG_FUNCTION_INFO_V1(cobranca_claims_ratio_inv);
Datum
cobranca_claims_ratio_inv(PG_FUNCTION_ARGS)
{
	ClaimsRatioState *state;

	if (PG_ARGISNULL(0))
		elog(ERROR, "claims ratio inverse transition called with no state");
	state = StateGet(fcinfo, "cobranca.claims_ratio_inv");
	if (!PG_ARGISNULL(1))
		SubCents(&state->claims, NumericToCents(PG_GETARG_NUMERIC_PACKED(1), "claims"),
				 "claims");
	if (!PG_ARGISNULL(2))
		SubCents(&state->premiums, NumericToCents(PG_GETARG_NUMERIC_PACKED(2), "premiums"),
				 "premiums");
	PG_RETURN_POINTER(state);
}

/* Combine two partial states (parallel aggregation). */
PG_FUNCTION_INFO_V1(cobranca_claims_ratio_combine);
Datum
cobranca_claims_ratio_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	ClaimsRatioState *state1;
	ClaimsRatioState *state2;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context",
						"cobranca.claims_ratio_combine")));
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	state2 = (ClaimsRatioState *) PG_GETARG_POINTER(1);
	if (PG_ARGISNULL(0))
	{
		state1 = (ClaimsRatioState *) MemoryContextAlloc(aggcontext,
														 sizeof(ClaimsRatioState));
		*state1 = *state2;
		PG_RETURN_POINTER(state1);
	}
	state1 = (ClaimsRatioState *) PG_GETARG_POINTER(0);
	AddCents(&state1->claims, state2->claims, "claims");
	AddCents(&state1->premiums, state2->premiums, "premiums");
	PG_RETURN_POINTER(state1);
}

static void
SendInt128(StringInfo buf, int128 v)
{
	pq_sendint64(buf, (int64) (v >> 64));
	pq_sendint64(buf, (int64) (uint64) v);
}

static int128
GetInt128(StringInfo buf)
{
	uint64		hi = (uint64) pq_getmsgint64(buf);
	uint64		lo = (uint64) pq_getmsgint64(buf);

	return (int128) (((uint128) hi << 64) | lo);
}

PG_FUNCTION_INFO_V1(cobranca_claims_ratio_serialize);
Datum
cobranca_claims_ratio_serialize(PG_FUNCTION_ARGS)
{
	ClaimsRatioState *state;
	StringInfoData buf;

	if (!AggCheckCallContext(fcinfo, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context",
						"cobranca.claims_ratio_serialize")));
	state = (ClaimsRatioState *) PG_GETARG_POINTER(0);
	pq_begintypsend(&buf);
	SendInt128(&buf, state->claims);
	SendInt128(&buf, state->premiums);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(cobranca_claims_ratio_deserialize);
Datum
cobranca_claims_ratio_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *sstate;
	ClaimsRatioState *state;
	StringInfoData buf;

	if (!AggCheckCallContext(fcinfo, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context",
						"cobranca.claims_ratio_deserialize")));
	sstate = PG_GETARG_BYTEA_PP(0);
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(sstate), VARSIZE_ANY_EXHDR(sstate));
	state = (ClaimsRatioState *) palloc(sizeof(ClaimsRatioState));
	state->claims = GetInt128(&buf);
	state->premiums = GetInt128(&buf);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/* Decimal text of a 128-bit integer (for results beyond int64). */
static char *
Int128ToText(int128 v)
{
	char		digits[48];
	char	   *p = digits + sizeof(digits) - 1;
	uint128		u = v < 0 ? -(uint128) v : (uint128) v;

	*p = '\0';
	do
	{
		*--p = '0' + (int) (u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	return pstrdup(p);
}

/*
 * Final: claims / premiums x 100, rounded half away from zero to 2
 * decimals, computed on the integer sums.  NULL when premiums are zero.
 * Never changes the state (window aggregates call it once per row).
 */
PG_FUNCTION_INFO_V1(cobranca_claims_ratio_final);
Datum
cobranca_claims_ratio_final(PG_FUNCTION_ARGS)
{
	ClaimsRatioState *state;
	int128		num;
	int128		q;
	int128		r;
	int128		absr;
	int128		absd;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (ClaimsRatioState *) PG_GETARG_POINTER(0);
	if (state->premiums == 0)
		PG_RETURN_NULL();

	/* hundredths of a percent: claims x 100 (percent) x 100 (2 decimals) */
	if (__builtin_mul_overflow(state->claims, (int128) 10000, &num))
		ReportOutOfRange("claims");
	q = num / state->premiums;
	r = num % state->premiums;
	absr = r < 0 ? -r : r;
	absd = state->premiums < 0 ? -state->premiums : state->premiums;
	if (absr >= absd - absr)
		q += ((num < 0) != (state->premiums < 0)) ? -1 : 1;

	if (q >= PG_INT64_MIN && q <= PG_INT64_MAX)
		PG_RETURN_NUMERIC(int64_div_fast_to_numeric((int64) q, 2));
	else
	{
		int128		whole = q / 100;
		int			cents = (int) (q % 100);
		char	   *text;

		if (cents < 0)
			cents = -cents;
		text = psprintf("%s%s.%02d", (q < 0 && whole == 0) ? "-" : "",
						Int128ToText(whole), cents);
		PG_RETURN_DATUM(DirectFunctionCall3(numeric_in,
											CStringGetDatum(text),
											ObjectIdGetDatum(InvalidOid),
											Int32GetDatum(-1)));
	}
}
