/*-------------------------------------------------------------------------
 *
 * score.c
 *	  The payment-probability model: logistic scoring, training by Newton's
 *	  method (IRLS) with L2 regularisation, the AUC of a holdout and the
 *	  priority of an invoice.
 *
 * Features are built set-based in SQL (cobranca.score_features, the one
 * place that lists them); this file only sees vectors of float8.  The
 * coefficient vector has the intercept first, then one coefficient per
 * feature.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/numeric.h"

#include "money.h"
#include "score.h"

#define MAX_FEATURES	64
#define MAX_ITERATIONS	50
#define TOLERANCE		1e-8

/* the float8 elements of a one-dimensional array without NULLs */
static double *
Float8Elements(ArrayType *a, const char *field, int *n)
{
	if (ARR_ELEMTYPE(a) != FLOAT8OID)
		elog(ERROR, "%s must be a float8 array", field);
	if (ARR_NDIM(a) > 1 || ARR_HASNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional float8 array without nulls", field)));
	*n = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];
	return (double *) ARR_DATA_PTR(a);
}

static inline double
Sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	else
	{
		double		e = exp(z);

		return e / (1.0 + e);
	}
}

/* sigmoid(coef[0] + sum coef[j+1] * x[j]) */
double
CobrancaLogisticScore(const double *coef, int ncoef, const double *x, int nx)
{
	double		z = coef[0];

	for (int j = 0; j < nx; j++)
		z += coef[j + 1] * x[j];
	return Sigmoid(z);
}

void
CobrancaCheckModelSizes(int ncoef, int nx)
{
	if (ncoef != nx + 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("model and feature vector do not match"),
				 errdetail("The model has %d coefficients; %d features need %d (intercept first).",
						   ncoef, nx, nx + 1),
				 errhint("Retrain the model with cobranca.train_score_model() after changing the features.")));
}

PG_FUNCTION_INFO_V1(cobranca_logistic);

/* logistic(coefficients float8[], x float8[]) -> float8 in [0,1] */
Datum
cobranca_logistic(PG_FUNCTION_ARGS)
{
	int			ncoef,
				nx;
	double	   *coef = Float8Elements(PG_GETARG_ARRAYTYPE_P(0), "coefficients", &ncoef);
	double	   *x = Float8Elements(PG_GETARG_ARRAYTYPE_P(1), "x", &nx);

	CobrancaCheckModelSizes(ncoef, nx);
	PG_RETURN_FLOAT8(CobrancaLogisticScore(coef, ncoef, x, nx));
}

/* ---------------------------------------------------------- training */

typedef struct FitState
{
	int			p;				/* features, without the intercept */
	int64		n;				/* rows */
	int64		cap;
	double	   *x;				/* n rows of p */
	bool	   *y;
	double		lambda;
} FitState;

PG_FUNCTION_INFO_V1(cobranca_logistic_fit_trans);

/* logistic_fit(x float8[], y boolean, lambda float8): transition */
Datum
cobranca_logistic_fit_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	MemoryContext old;
	FitState   *st;
	double	   *x;
	int			nx;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "logistic_fit_trans called in non-aggregate context");
	st = PG_ARGISNULL(0) ? NULL : (FitState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);		/* rows without a vector or label are skipped */
	x = Float8Elements(PG_GETARG_ARRAYTYPE_P(1), "x", &nx);

	old = MemoryContextSwitchTo(aggcontext);
	if (st == NULL)
	{
		if (nx < 1 || nx > MAX_FEATURES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a model has 1 to %d features", MAX_FEATURES),
					 errdetail("The feature vector has %d elements.", nx)));
		st = palloc0(sizeof(FitState));
		st->p = nx;
		st->cap = 1024;
		st->x = MemoryContextAllocHuge(aggcontext, sizeof(double) * st->cap * nx);
		st->y = MemoryContextAllocHuge(aggcontext, sizeof(bool) * st->cap);
		st->lambda = PG_ARGISNULL(3) ? 1.0 : PG_GETARG_FLOAT8(3);
		if (!(st->lambda >= 0) || isinf(st->lambda))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lambda must be a finite number >= 0"),
					 errdetail("lambda is %g.", st->lambda)));
	}
	if (nx != st->p)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("feature vectors of different lengths"),
				 errdetail("The first had %d elements, this one %d.", st->p, nx)));
	if (st->n == st->cap)
	{
		st->cap *= 2;
		st->x = repalloc_huge(st->x, sizeof(double) * st->cap * st->p);
		st->y = repalloc_huge(st->y, sizeof(bool) * st->cap);
	}
	for (int j = 0; j < nx; j++)
	{
		if (!isfinite(x[j]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature %d of row %lld is not finite", j + 1, (long long) st->n + 1)));
		st->x[st->n * st->p + j] = x[j];
	}
	st->y[st->n] = PG_GETARG_BOOL(2);
	st->n++;
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(st);
}

/* Solve A z = b for symmetric positive definite A (k x k) by Cholesky, in place */
static bool
CholeskySolve(double *a, double *b, int k)
{
	for (int j = 0; j < k; j++)
	{
		double		d = a[j * k + j];

		for (int m = 0; m < j; m++)
			d -= a[j * k + m] * a[j * k + m];
		if (!(d > 0))
			return false;
		d = sqrt(d);
		a[j * k + j] = d;
		for (int i = j + 1; i < k; i++)
		{
			double		s = a[i * k + j];

			for (int m = 0; m < j; m++)
				s -= a[i * k + m] * a[j * k + m];
			a[i * k + j] = s / d;
		}
	}
	/* L y = b */
	for (int i = 0; i < k; i++)
	{
		double		s = b[i];

		for (int m = 0; m < i; m++)
			s -= a[i * k + m] * b[m];
		b[i] = s / a[i * k + i];
	}
	/* L' z = y */
	for (int i = k - 1; i >= 0; i--)
	{
		double		s = b[i];

		for (int m = i + 1; m < k; m++)
			s -= a[m * k + i] * b[m];
		b[i] = s / a[i * k + i];
	}
	return true;
}

/*
 * Newton's method on the L2-penalised log-likelihood (the intercept is not
 * penalised): beta += (X'WX + lambda I)^-1 (X'(y - p) - lambda beta).
 */
static void
FitLogistic(FitState *st, double *beta)
{
	int			k = st->p + 1;
	double	   *h = palloc(sizeof(double) * k * k);
	double	   *g = palloc(sizeof(double) * k);
	double	   *row = palloc(sizeof(double) * k);

	memset(beta, 0, sizeof(double) * k);
	for (int iter = 0; iter < MAX_ITERATIONS; iter++)
	{
		double		step = 0;

		CHECK_FOR_INTERRUPTS();
		memset(h, 0, sizeof(double) * k * k);
		memset(g, 0, sizeof(double) * k);
		for (int64 i = 0; i < st->n; i++)
		{
			double		p,
						w,
						r;

			row[0] = 1.0;
			memcpy(row + 1, st->x + i * st->p, sizeof(double) * st->p);
			p = CobrancaLogisticScore(beta, k, row + 1, st->p);
			w = Max(p * (1 - p), 1e-12);
			r = (st->y[i] ? 1.0 : 0.0) - p;
			for (int a = 0; a < k; a++)
			{
				g[a] += row[a] * r;
				for (int b = 0; b <= a; b++)
					h[a * k + b] += w * row[a] * row[b];
			}
		}
		for (int a = 1; a < k; a++)
		{
			g[a] -= st->lambda * beta[a];
			h[a * k + a] += st->lambda;
		}
		/* tiny ridge on everything keeps a degenerate column solvable */
		for (int a = 0; a < k; a++)
		{
			h[a * k + a] += 1e-9;
			for (int b = a + 1; b < k; b++)
				h[a * k + b] = h[b * k + a];
		}
		if (!CholeskySolve(h, g, k))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the model's Hessian is not positive definite"),
					 errhint("Use a larger lambda or more varied training data.")));
		for (int a = 0; a < k; a++)
		{
			beta[a] += g[a];
			step = Max(step, fabs(g[a]));
		}
		if (step < TOLERANCE)
			break;
	}
	pfree(h);
	pfree(g);
	pfree(row);
}

PG_FUNCTION_INFO_V1(cobranca_logistic_fit_final);

/* logistic_fit: final, the coefficients (intercept first), NULL without rows */
Datum
cobranca_logistic_fit_final(PG_FUNCTION_ARGS)
{
	FitState   *st;
	double	   *beta;
	Datum	   *elems;
	int			k;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "logistic_fit_final called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (FitState *) PG_GETARG_POINTER(0);
	if (st->n == 0)
		PG_RETURN_NULL();
	k = st->p + 1;
	beta = palloc(sizeof(double) * k);
	FitLogistic(st, beta);
	elems = palloc(sizeof(Datum) * k);
	for (int a = 0; a < k; a++)
	{
		if (!isfinite(beta[a]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("training diverged"),
					 errhint("Use a larger lambda.")));
		elems[a] = Float8GetDatum(beta[a]);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, k, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* --------------------------------------------------------------- AUC */

typedef struct AucPoint
{
	double		score;
	bool		label;
} AucPoint;

typedef struct AucState
{
	int64		n;
	int64		cap;
	AucPoint   *pts;
} AucState;

PG_FUNCTION_INFO_V1(cobranca_auc_trans);

/* auc(score float8, label boolean): transition */
Datum
cobranca_auc_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	AucState   *st;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "auc_trans called in non-aggregate context");
	st = PG_ARGISNULL(0) ? NULL : (AucState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);
	if (st == NULL)
	{
		st = MemoryContextAllocZero(aggcontext, sizeof(AucState));
		st->cap = 1024;
		st->pts = MemoryContextAllocHuge(aggcontext, sizeof(AucPoint) * st->cap);
	}
	if (st->n == st->cap)
	{
		st->cap *= 2;
		st->pts = repalloc_huge(st->pts, sizeof(AucPoint) * st->cap);
	}
	st->pts[st->n].score = PG_GETARG_FLOAT8(1);
	st->pts[st->n].label = PG_GETARG_BOOL(2);
	st->n++;
	PG_RETURN_POINTER(st);
}

static int
AucPointCmp(const void *a, const void *b)
{
	double		x = ((const AucPoint *) a)->score;
	double		y = ((const AucPoint *) b)->score;

	return (x > y) - (x < y);
}

PG_FUNCTION_INFO_V1(cobranca_auc_final);

/*
 * auc: final.  The Mann-Whitney form: the chance that a random positive
 * scores above a random negative, ties counting one half (mid-ranks).
 * NULL when one class is missing.
 */
Datum
cobranca_auc_final(PG_FUNCTION_ARGS)
{
	AucState   *st;
	double		rank_sum = 0;
	int64		pos = 0;
	int64		neg;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "auc_final called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (AucState *) PG_GETARG_POINTER(0);
	qsort(st->pts, st->n, sizeof(AucPoint), AucPointCmp);
	for (int64 i = 0; i < st->n;)
	{
		int64		j = i;
		int64		tie_pos = 0;
		double		mid;

		while (j < st->n && st->pts[j].score == st->pts[i].score)
		{
			if (st->pts[j].label)
				tie_pos++;
			j++;
		}
		mid = (i + 1 + j) / 2.0;	/* mean of ranks i+1 .. j */
		rank_sum += mid * tie_pos;
		pos += tie_pos;
		i = j;
	}
	neg = st->n - pos;
	if (pos == 0 || neg == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((rank_sum - (double) pos * (pos + 1) / 2.0) / ((double) pos * neg));
}

/* ---------------------------------------------------------- priority */

/*
 * Expected recovery (probability x updated amount) raised by urgency:
 *   - up to +100% over the last year before the 5-year limitation period
 *     (CC art. 206 §5º I) ends; nothing once it has ended;
 *   - up to +50% over the 15 days before the creditor's RN 593 notice day,
 *     kept until day 50 of default, for premiums under RN 593.
 */
double
CobrancaPriority(double probability, double amount, int days_to_limitation,
				 int days_overdue, bool rn593, int notice_day)
{
	double		urgency = 1.0;

	if (days_to_limitation <= 0 || amount <= 0 || !(probability > 0))
		return 0.0;
	if (days_to_limitation < 365)
		urgency += (365 - days_to_limitation) / 365.0;
	if (rn593)
	{
		int			start = notice_day - 15;

		if (days_overdue >= start && days_overdue <= 50)
			urgency += 0.5 * Min(1.0, (days_overdue - start + 1) / 15.0);
	}
	return Min(probability, 1.0) * amount * urgency;
}

PG_FUNCTION_INFO_V1(cobranca_priority_value);

/*
 * priority_value(probability float8, updated_amount numeric, due_on date,
 *                limitation_on date, as_of date, rn593 boolean,
 *                notice_day int) -> numeric (cents)
 */
Datum
cobranca_priority_value(PG_FUNCTION_ARGS)
{
	double		probability = PG_GETARG_FLOAT8(0);
	int64		cents = CobrancaNumericToCents(PG_GETARG_NUMERIC(1), "updated_amount");
	DateADT		due_on = PG_GETARG_DATEADT(2);
	DateADT		limitation_on = PG_GETARG_DATEADT(3);
	DateADT		as_of = PG_GETARG_DATEADT(4);
	bool		rn593 = PG_GETARG_BOOL(5);
	int32		notice_day = PG_GETARG_INT32(6);
	double		prio;

	if (DATE_NOT_FINITE(due_on) || DATE_NOT_FINITE(limitation_on) || DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("priority needs finite dates")));
	prio = CobrancaPriority(probability, (double) cents, limitation_on - as_of,
							as_of - due_on, rn593, notice_day);
	PG_RETURN_NUMERIC(CobrancaCentsToNumeric((int64) llround(prio)));
}
