/*-------------------------------------------------------------------------
 *
 * score_batch.c
 *	  cobranca.score_invoices: payment probability, updated amount and
 *	  priority of many invoices in one pass.
 *
 * The features are those of cobranca.score_features (70_money_score.sql,
 * where they are defined and what training uses); here they are gathered
 * without a subquery per invoice, in one of three ways:
 *	 - a few invoices: five statements with generic plans kept for the
 *	   backend, probing the indexes;
 *	 - many: the same statements planned for the arrays at hand, read
 *	   through cursors sorted by payer and merged payer by payer (memory
 *	   flat: one payer's rows at a time);
 *	 - a good part of the portfolio with no row security to apply (the
 *	   jobs): one sequential scan of each table, keyed in arrays indexed
 *	   by id (hash tables for ids far apart); memory grows with the
 *	   invoices asked for and the largest payer id.
 * The computation of one invoice's scores (CobrancaScoreCompute) is shared
 * with payment_probability and priority (score_one.c).
 * The statements: the invoices asked for with their creditor's rates and
 * contract; the payers' invoices due in the 12 months before the day; the
 * payers' disputes open on the day; the disputes of the invoices asked for
 * (days without interest); the contacts made before the day, per invoice.
 * Every statement runs as the caller (row security applies as it does to
 * the SQL definition), in the caller's snapshot; the direct scans use that
 * snapshot too.  test/pgtap/score_batch.sql checks that the results equal
 * those of the SQL definitions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "executor/executor.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "money.h"
#include "score.h"
#include "score_batch.h"

#define FETCH_ROWS	8192

/* ------------------------------------------------------------ statements */

/* $1 invoice ids, $2 day */
static const char *const target_sql =
"SELECT i.payer_id, i.id, i.kind, i.status, i.due_on, i.amount::float8,"
"       (i.balance * 100)::bigint, (cr.fine_pct * 100)::bigint,"
"       (cr.interest_month_pct * 100)::bigint, cr.notice_day,"
"       c.id IS NOT NULL, c.plan_type, c.paid_by_person"
"  FROM pg_catalog.unnest($1::bigint[]) AS u(id)"
"  JOIN cobranca.invoice i ON i.id = u.id"
"  JOIN cobranca.creditor cr ON cr.id = i.creditor_id"
"  LEFT JOIN cobranca.contract c ON c.id = i.contract_id"
" ORDER BY i.payer_id, i.id";

/* $1 payer ids, $2 day: days late of the invoices due in the last 12 months */
static const char *const history_sql =
"SELECT h.payer_id, h.id, LEAST(COALESCE(h.paid_on, $2::date), $2::date) - h.due_on"
"  FROM pg_catalog.unnest($1::bigint[]) AS p(id)"
"  JOIN cobranca.invoice h ON h.payer_id = p.id"
" WHERE h.status <> 'cancelled' AND h.due_on >= $2::date - 365 AND h.due_on < $2::date"
" ORDER BY h.payer_id, h.id";

/* $1 payer ids, $2 day: disputes open on the day, per payer */
static const char *const payer_disputes_sql =
"SELECT di.payer_id, count(*)"
"  FROM pg_catalog.unnest($1::bigint[]) AS p(id)"
"  JOIN cobranca.invoice di ON di.payer_id = p.id"
"  JOIN cobranca.dispute d ON d.invoice_id = di.id"
" WHERE d.opened_on <= $2::date AND (d.answered_on IS NULL OR d.answered_on > $2::date)"
" GROUP BY di.payer_id"
" ORDER BY di.payer_id";

/* $1 invoice ids: their disputes */
static const char *const invoice_disputes_sql =
"SELECT i.payer_id, i.id, d.opened_on, d.answered_on"
"  FROM cobranca.invoice i"
"  JOIN cobranca.dispute d ON d.invoice_id = i.id"
" WHERE i.id IN (SELECT pg_catalog.unnest($1::bigint[]))"
" ORDER BY i.payer_id, i.id, d.opened_on";

/* $1 payer ids, $2 day: contacts made before the day, per invoice */
static const char *const contacts_sql =
"SELECT c.payer_id, x.id, c.id"
"  FROM pg_catalog.unnest($1::bigint[]) AS p(id)"
"  JOIN cobranca.contact c ON c.payer_id = p.id"
"  CROSS JOIN LATERAL pg_catalog.unnest(c.invoice_ids) AS x(id)"
" WHERE c.status NOT IN ('scheduled', 'cancelled') AND c.contact_on < $2::date"
" ORDER BY c.payer_id, x.id, c.id";

/*
 * The same for every payer, when the invoices asked for are a good part of
 * all (the jobs score every open invoice): one scan of each table in payer
 * order costs less than joining it with the list of payers.
 */
static const char *const history_all_sql =
"SELECT h.payer_id, h.id, LEAST(COALESCE(h.paid_on, $2::date), $2::date) - h.due_on"
"  FROM cobranca.invoice h"
" WHERE h.status <> 'cancelled' AND h.due_on >= $2::date - 365 AND h.due_on < $2::date"
"   AND $1::bigint[] IS NOT NULL"
" ORDER BY h.payer_id, h.id";

static const char *const payer_disputes_all_sql =
"SELECT di.payer_id, count(*)"
"  FROM cobranca.invoice di"
"  JOIN cobranca.dispute d ON d.invoice_id = di.id"
" WHERE d.opened_on <= $2::date AND (d.answered_on IS NULL OR d.answered_on > $2::date)"
"   AND $1::bigint[] IS NOT NULL"
" GROUP BY di.payer_id"
" ORDER BY di.payer_id";

static const char *const contacts_all_sql =
"SELECT c.payer_id, x.id, c.id"
"  FROM cobranca.contact c"
"  CROSS JOIN LATERAL pg_catalog.unnest(c.invoice_ids) AS x(id)"
" WHERE c.status NOT IN ('scheduled', 'cancelled') AND c.contact_on < $2::date"
"   AND $1::bigint[] IS NOT NULL"
" ORDER BY c.payer_id, x.id, c.id";

/* a call for at least this share of the invoices scans */
#define SCAN_SHARE	0.10

static const char *const model_sql =
"SELECT m.id, m.coefficients FROM cobranca.score_model m WHERE m.active";

static const char *const payers_sql =
"SELECT DISTINCT i.payer_id FROM pg_catalog.unnest($1::bigint[]) AS u(id)"
" JOIN cobranca.invoice i ON i.id = u.id";

/*
 * Calls for a few invoices (payment_probability, priority, the worklist)
 * reuse plans kept for the backend, generic ones that probe the indexes;
 * calls for many plan each statement for the arrays at hand (hash joins
 * and sorts).
 */
#define SMALL_CALL	64

enum
{
	Q_TARGETS, Q_PAYERS, Q_HISTORY, Q_PAYER_DISPUTES, Q_INVOICE_DISPUTES, Q_CONTACTS, NQUERIES
};

static SPIPlanPtr small_plans[NQUERIES];

/* --------------------------------------------------------------- cursors */

typedef struct Stream
{
	Portal		portal;
	SPITupleTable *tt;
	uint64		pos;
	bool		done;
	int			natts;
	Datum		values[16];
	bool		nulls[16];
} Stream;

static void
StreamOpen(Stream *s, int q, bool small, const char *sql, int nargs,
		   Oid *types, Datum *values)
{
	memset(s, 0, sizeof(Stream));
	if (small)
	{
		if (small_plans[q] == NULL)
		{
			SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, types,
												  CURSOR_OPT_NO_SCROLL | CURSOR_OPT_GENERIC_PLAN);

			if (plan == NULL)
				elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
			if (SPI_keepplan(plan) != 0)
				elog(ERROR, "SPI_keepplan failed");
			small_plans[q] = plan;
		}
		s->portal = SPI_cursor_open(NULL, small_plans[q], values, NULL, true);
	}
	else
		s->portal = SPI_cursor_open_with_args(NULL, sql, nargs, types, values,
											  NULL, true, CURSOR_OPT_NO_SCROLL);
	if (s->portal == NULL)
		elog(ERROR, "could not open a scoring cursor: %s",
			 SPI_result_code_string(SPI_result));
}

/* the current row deformed into s->values/s->nulls; false at the end */
static bool
StreamPeek(Stream *s)
{
	HeapTuple	tup;

	while (!s->done && (s->tt == NULL || s->pos >= s->tt->numvals))
	{
		if (s->tt != NULL)
			SPI_freetuptable(s->tt);
		SPI_cursor_fetch(s->portal, true, FETCH_ROWS);
		s->tt = SPI_tuptable;
		s->pos = 0;
		if (s->tt == NULL || s->tt->numvals == 0)
			s->done = true;
	}
	if (s->done)
		return false;
	tup = s->tt->vals[s->pos];
	s->natts = s->tt->tupdesc->natts;
	Assert(s->natts <= lengthof(s->values));
	heap_deform_tuple(tup, s->tt->tupdesc, s->values, s->nulls);
	return true;
}

static inline void
StreamNext(Stream *s)
{
	s->pos++;
}

static void
StreamClose(Stream *s)
{
	if (s->tt != NULL)
		SPI_freetuptable(s->tt);
	SPI_cursor_close(s->portal);
}

/*
 * Skips rows of payers before payer; true when the current row belongs to
 * payer (the payer id is the first column of every stream).
 */
static bool
StreamAtPayer(Stream *s, int64 payer)
{
	while (StreamPeek(s))
	{
		int64		p = DatumGetInt64(s->values[0]);

		if (p == payer)
			return true;
		if (p > payer)
			return false;
		StreamNext(s);
	}
	return false;
}

/* ----------------------------------------------------------- per payer */



typedef struct Late
{
	int64		id;
	int32		days;
} Late;


typedef struct Made
{
	int64		id;				/* invoice */
	int64		n;				/* distinct contacts */
} Made;

/* growable arrays of one payer's rows */
#define GROW(arr, n, cap) \
	do { \
		if ((n) == (cap)) \
		{ \
			(cap) = (cap) ? (cap) * 2 : 16; \
			(arr) = (arr) ? repalloc((arr), sizeof(*(arr)) * (cap)) \
						  : palloc(sizeof(*(arr)) * (cap)); \
		} \
	} while (0)

int
CobrancaKindCode(text *t)
{
	char	   *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);

#define IS(lit) (len == sizeof(lit) - 1 && memcmp(s, lit, len) == 0)
	if (IS("premium"))
		return KIND_PREMIUM;
	if (IS("copay"))
		return KIND_COPAY;
	if (IS("private"))
		return KIND_PRIVATE;
	if (IS("disallowance"))
		return KIND_DISALLOWANCE;
	if (IS("installment"))
		return KIND_INSTALLMENT;
	return KIND_OTHER;
}

int
CobrancaPlanCode(text *t)
{
	char	   *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);

	if (IS("individual"))
		return PLAN_INDIVIDUAL;
	if (IS("family"))
		return PLAN_FAMILY;
	if (IS("collective_membership"))
		return PLAN_MEMBERSHIP;
	if (IS("collective_business"))
		return PLAN_BUSINESS;
	return PLAN_OTHER;
}

bool
CobrancaTextIs(Datum d, const char *lit)
{
	text	   *t = DatumGetTextPP(d);
	size_t		len = VARSIZE_ANY_EXHDR(t);

	return len == strlen(lit) && memcmp(VARDATA_ANY(t), lit, len) == 0;
#undef IS
}

/* index of the first element with id >= id in a sorted array, by id */
#define LOWER_BOUND(arr, n, key, out) \
	do { \
		int			lo_ = 0, hi_ = (n); \
		while (lo_ < hi_) \
		{ \
			int			mid_ = (lo_ + hi_) / 2; \
			if ((arr)[mid_].id < (key)) lo_ = mid_ + 1; else hi_ = mid_; \
		} \
		(out) = lo_; \
	} while (0)

/* date + interval '5 years', as a date (29 February becomes the 28th) */
static DateADT
PlusFiveYears(DateADT d)
{
	int			y,
				m,
				day;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	y += 5;
	if (m == 2 && day == 29 && !isleap(y))
		day = 28;
	return date2j(y, m, day) - POSTGRES_EPOCH_JDATE;
}

static int
SpanCmp(const void *a, const void *b)
{
	DateADT		x = ((const DateADT *) a)[0];
	DateADT		y = ((const DateADT *) b)[0];

	return (x > y) - (x < y);
}

/*
 * Days of [due_on + 1, max(due_on, as_of) + 1) on which one of the
 * invoice's disputes was open (each from opened_on until answered_on, or
 * until after as_of while unanswered), counted once; *open_now when one is
 * open on as_of.  As cobranca.invoice_charges.
 */
static int32
DisputedDays(const Span *spans, int n, DateADT due_on, DateADT as_of,
			 bool *open_now)
{
	DateADT    *iv;
	int			k = 0;
	int32		days = 0;
	DateADT		lo = due_on + 1;
	DateADT		hi = Max(due_on, as_of) + 1;
	DateADT		cur_lo = 0,
				cur_hi = 0;
	bool		have = false;

	*open_now = false;
	if (n == 0)
		return 0;				/* most invoices: no dispute */
	iv = palloc(sizeof(DateADT) * 2 * n);
	for (int j = 0; j < n; j++)
	{
		DateADT		o = spans[j].opened_on;
		DateADT		e = spans[j].answered_null ? as_of + 1 : spans[j].answered_on;
		DateADT		a,
					b;

		if (o <= as_of && (spans[j].answered_null || spans[j].answered_on > as_of))
			*open_now = true;
		e = Max(o, e);
		a = Max(o, lo);
		b = Min(e, hi);
		if (a < b)
		{
			iv[2 * k] = a;
			iv[2 * k + 1] = b;
			k++;
		}
	}
	qsort(iv, k, sizeof(DateADT) * 2, SpanCmp);
	for (int j = 0; j < k; j++)
	{
		DateADT		a = iv[2 * j],
					b = iv[2 * j + 1];

		if (have && a <= cur_hi)
			cur_hi = Max(cur_hi, b);
		else
		{
			if (have)
				days += cur_hi - cur_lo;
			cur_lo = a;
			cur_hi = b;
			have = true;
		}
	}
	if (have)
		days += cur_hi - cur_lo;
	pfree(iv);
	return days;
}


/*
 * The scores of one invoice: the features (own_n and own_sum are those of
 * the payer's other invoices), the model, cobranca.invoice_charges and
 * cobranca.priority_value.
 */
void
CobrancaScoreCompute(const Model *model, const Target *t, DateADT as_of,
					 int64 own_n, int64 own_sum, int64 open_disputes, int64 ncontacts,
					 const Span *spans, int nspans, ScoreResult *r)
{
	double		x[NFEATURES];
	double		probability;
	int32		disputed_days;
	bool		open_now;
	int64		fine = 0,
				interest = 0,
				principal,
				total;

	x[0] = log(1 + (double) Max(as_of - t->due_on, 0));
	x[1] = log(1 + t->amount);
	x[2] = t->kind == KIND_COPAY;
	x[3] = t->kind == KIND_PRIVATE;
	x[4] = t->kind == KIND_DISALLOWANCE;
	x[5] = t->kind == KIND_INSTALLMENT;
	x[6] = (double) own_n;
	x[7] = own_n > 0 ? (double) own_sum / (double) own_n / 30 : 0;
	x[8] = (double) open_disputes;
	x[9] = t->plan == PLAN_FAMILY;
	x[10] = t->plan == PLAN_MEMBERSHIP;
	x[11] = t->plan == PLAN_BUSINESS;
	x[12] = t->plan == PLAN_NULL;
	x[13] = (double) ncontacts;
	probability = CobrancaLogisticScore(model->coef, model->ncoef, x, NFEATURES);

	/* updated amount: cobranca.invoice_charges */
	disputed_days = DisputedDays(spans, nspans, t->due_on, as_of, &open_now);
	principal = t->cancelled ? 0 : Max(t->balance, 0);
	if (as_of > t->due_on)
		CobrancaLateCharges(principal, Max((as_of - t->due_on) - Max(disputed_days, 0), 0),
							t->fine_bp, t->interest_bp, !open_now,
							&fine, &interest);
	total = principal + fine + interest;

	r->probability = probability;
	r->total = total;
	r->open = t->open;
	r->priority = 0;
	if (t->open)
	{
		/*
		 * rn593: a premium of a contract that a person pays directly
		 * (cobranca.rn593_subject); an unknown paid_by_person, or no
		 * contract, counts as not subject, as the notices do
		 */
		bool		rn593 = false;
		double		prio;

		if (t->kind == KIND_PREMIUM)
		{
			if (t->plan == PLAN_INDIVIDUAL || t->plan == PLAN_FAMILY)
				rn593 = true;
			else if (t->plan != PLAN_NULL && !t->paid_by_person_null)
				rn593 = t->paid_by_person;
		}
		prio = CobrancaPriority(probability, (double) total,
								PlusFiveYears(t->due_on) - as_of,
								as_of - t->due_on, rn593,
								t->notice_day);
		r->priority = (int64) llround(prio);
	}
}

/* one result row of cobranca.score_invoices */
static void
EmitScore(ReturnSetInfo *rsinfo, const Model *model, const Target *t, DateADT as_of,
		  int64 own_n, int64 own_sum, int64 open_disputes, int64 ncontacts,
		  const Span *spans, int nspans)
{
	ScoreResult r;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	CobrancaScoreCompute(model, t, as_of, own_n, own_sum, open_disputes, ncontacts,
						 spans, nspans, &r);
	values[0] = Int64GetDatum(t->id);
	values[1] = Int64GetDatum(model->id);
	values[2] = Float8GetDatum(r.probability);
	values[3] = NumericGetDatum(int64_div_fast_to_numeric(r.total, 2));
	if (!r.open)
		values[4] = NumericGetDatum(int64_to_numeric(0));
	else
		values[4] = NumericGetDatum(int64_div_fast_to_numeric(r.priority, 2));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* ------------------------------------------------------- the direct path */

/*
 * Without row security to apply (the jobs run as the owner; superusers),
 * scoring a good part of the portfolio reads the tables straight, in one
 * sequential scan each, and keys them by id in arrays (see TargetIndex and
 * PayerTable) or hash tables: no executor, no sorts.  Same snapshot, same
 * rows, same results as the statements above.
 */

/* open addressing, int64 key -> int32 value; key 0 is never used by an id */
typedef struct IdMap
{
	uint32		mask;
	int64	   *keys;
	int32	   *vals;
} IdMap;

static void
IdMapInit(IdMap *m, int64 n)
{
	uint64		cap = 64;

	while (cap < (uint64) n * 2)
		cap <<= 1;
	m->mask = (uint32) (cap - 1);
	m->keys = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * cap);
	memset(m->keys, 0, sizeof(int64) * cap);
	m->vals = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * cap);
}

static inline uint32
IdHash(int64 k)
{
	uint64		h = (uint64) k * UINT64CONST(0x9E3779B97F4A7C15);

	return (uint32) (h >> 32);
}

/* the slot of key; *found tells whether it is there */
static inline uint32
IdMapSlot(const IdMap *m, int64 k, bool *found)
{
	uint32		i = IdHash(k) & m->mask;

	while (m->keys[i] != 0)
	{
		if (m->keys[i] == k)
		{
			*found = true;
			return i;
		}
		i = (i + 1) & m->mask;
	}
	*found = false;
	return i;
}

static inline int32
IdMapGet(const IdMap *m, int64 k)
{
	bool		found;
	uint32		i;

	if (k == 0)
		return -1;
	i = IdMapSlot(m, k, &found);
	return found ? m->vals[i] : -1;
}

/* grows a hash map when it is half full */
static void
IdMapGrow(IdMap *m, int64 count)
{
	IdMap		old = *m;
	bool		found;

	if ((uint64) (count + 1) * 2 <= m->mask)
		return;
	IdMapInit(m, (int64) (old.mask + 1));
	for (uint32 k = 0; k <= old.mask; k++)
		if (old.keys[k] != 0)
		{
			uint32		s2 = IdMapSlot(m, old.keys[k], &found);

			m->keys[s2] = old.keys[k];
			m->vals[s2] = old.vals[k];
		}
	pfree(old.keys);
	pfree(old.vals);
}

/*
 * The invoices asked for: id -> index of the target.  Ids are identities,
 * nearly consecutive, and the table is read in about the order they were
 * made: when the ids asked for span a range not much wider than their
 * number, an array over that range is read almost in sequence where a hash
 * table would be probed at random; otherwise a hash table.
 */
typedef struct TargetIndex
{
	uint64		lo;
	uint64		n;				/* slots of the array; 0: the hash table */
	int32	   *dense;			/* -1: not asked for */
	IdMap		map;
} TargetIndex;

static inline int32
TargetGet(const TargetIndex *x, int64 id)
{
	if (x->n > 0)
	{
		uint64		off = (uint64) id - x->lo;

		return off < x->n ? x->dense[off] : -1;
	}
	return IdMapGet(&x->map, id);
}

typedef struct PayerStat
{
	int64		late_n;
	int64		late_sum;
	int64		open_disputes;
} PayerStat;

/*
 * The payers' history and disputes: an array indexed by the payer's id
 * (identities: dense from 1), grown as larger ids are met up to a bound in
 * proportion to the table; ids beyond it (or below 1) in a hash table.
 */
typedef struct PayerTable
{
	PayerStat  *dense;
	int64		ndense;
	int64		limit;
	IdMap		map;
	PayerStat  *ps;
	int64		nps;
	int64		capps;
} PayerTable;

static void
PayerTableInit(PayerTable *t, int64 limit)
{
	memset(t, 0, sizeof(PayerTable));
	t->limit = limit;
	t->ndense = Min(limit, 1024);
	t->dense = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(PayerStat) * Max(t->ndense, 1));
	memset(t->dense, 0, sizeof(PayerStat) * Max(t->ndense, 1));
	IdMapInit(&t->map, 64);
	t->capps = 64;
	t->ps = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(PayerStat) * t->capps);
}

/* the payer's entry, made (zero) if new */
static PayerStat *
PayerAt(PayerTable *t, int64 payer)
{
	bool		found;
	uint32		slotno;

	if (payer >= 1 && payer < t->limit)
	{
		if (payer >= t->ndense)
		{
			int64		n = Min(Max(payer + 1, t->ndense * 2), t->limit);

			t->dense = repalloc_huge(t->dense, sizeof(PayerStat) * n);
			memset(t->dense + t->ndense, 0, sizeof(PayerStat) * (n - t->ndense));
			t->ndense = n;
		}
		return &t->dense[payer];
	}
	IdMapGrow(&t->map, t->nps);
	slotno = IdMapSlot(&t->map, payer, &found);
	if (!found)
	{
		if (t->nps == t->capps)
		{
			t->capps *= 2;
			t->ps = repalloc_huge(t->ps, sizeof(PayerStat) * t->capps);
		}
		memset(&t->ps[t->nps], 0, sizeof(PayerStat));
		t->map.keys[slotno] = payer;
		t->map.vals[slotno] = (int32) t->nps++;
	}
	return &t->ps[t->map.vals[slotno]];
}

typedef struct DirectTarget
{
	Target		t;
	int64		payer_id;
	int64		contract_id;	/* 0: none */
	int32		creditor;		/* index into the creditors; -1 unknown */
	int32		copies;			/* times asked for */
	int32		late_days;		/* own days late, when it counts in the history */
	bool		in_history;
	bool		seen;
	int64		ncontacts;
} DirectTarget;

typedef struct CreditorRates
{
	int64		id;
	int64		fine_bp;
	int64		interest_bp;
	int32		notice_day;
} CreditorRates;

static int
SpanIdCmp(const void *a, const void *b)
{
	const Span *x = (const Span *) a;
	const Span *y = (const Span *) b;

	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	return (x->opened_on > y->opened_on) - (x->opened_on < y->opened_on);
}

AttrNumber
CobrancaAttnum(Relation rel, const char *name)
{
	AttrNumber	a = get_attnum(RelationGetRelid(rel), name);

	if (a == InvalidAttrNumber)
		elog(ERROR, "column %s.%s not found", RelationGetRelationName(rel), name);
	return a;
}

/*
 * The cents of a numeric read from its stored form, without arithmetic on
 * numerics: true when the value is finite, has no more than two decimals
 * and fits; false otherwise (the caller then takes the general way).
 *
 * The stored form (kept by PostgreSQL across major versions, as pg_upgrade
 * needs): after the varlena header, a 16-bit header word.  Its top two bits
 * 11 mark NaN and the infinities; 10 the short form, whose word holds the
 * sign (0x2000), the display scale and a 7-bit signed weight (sign 0x0040,
 * value 0x003F); otherwise the word is sign (0x4000) and display scale and a
 * 16-bit weight follows.  Then the base-10000 digits, most significant
 * first, the first of weight `weight', with no trailing zero digits.
 */
static bool
CentsFromStored(Datum value, int64 *cents)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	static const int64 base[4] = {1, 10000, 100000000, INT64CONST(1000000000000)};
	const char *p;
	int			len;
	uint16		head;
	int			weight;
	bool		neg;
	int			ndigits;
	int64		whole = 0;
	int64		frac = 0;

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		return false;
	p = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	if (len < (int) sizeof(uint16))
		return false;
	memcpy(&head, p, sizeof(uint16));
	if ((head & 0xC000) == 0xC000)
		return false;			/* NaN, +-Infinity */
	if (head & 0x8000)
	{
		neg = (head & 0x2000) != 0;
		weight = (head & 0x0040) ? (int) (head & 0x003F) - 64 : (int) (head & 0x003F);
		p += sizeof(uint16);
		len -= sizeof(uint16);
	}
	else
	{
		int16		w;

		if (len < 2 * (int) sizeof(int16))
			return false;
		neg = (head & 0xC000) == 0x4000;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		p += 2 * sizeof(int16);
		len -= 2 * sizeof(int16);
	}
	ndigits = len / (int) sizeof(int16);
	if (weight > 3)
		return false;			/* 10^16 or more: the general way decides */
	for (int i = 0; i < ndigits; i++)
	{
		int16		d;
		int			e = weight - i;

		memcpy(&d, p + i * sizeof(int16), sizeof(int16));
		if (d < 0 || d > 9999)
			return false;
		if (e >= 0)
			whole += d * base[e];
		else if (e == -1)
		{
			if (d % 100 != 0)
				return false;	/* a third or fourth decimal */
			frac = d / 100;
		}
		else if (d != 0)
			return false;
	}
	*cents = whole * 100 + frac;
	if (neg)
		*cents = -*cents;
	return true;
}

/* cents of a numeric with at most two decimals */
int64
CobrancaCents(Datum n)
{
	static Numeric hundred = NULL;
	int64		c;

	if (CentsFromStored(n, &c))
		return c;
	if (hundred == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		hundred = int64_to_numeric(100);
		MemoryContextSwitchTo(old);
	}
	return DatumGetInt64(DirectFunctionCall1(numeric_int8,
											 NumericGetDatum(numeric_mul_opt_error(DatumGetNumeric(n),
																				   hundred, NULL))));
}

Oid
CobrancaScoreRelid(const char *name)
{
	return get_relname_relid(name, get_namespace_oid("cobranca", false));
}

/* true when the caller may read the tables and no row security applies */
bool
CobrancaScoreDirectAllowed(void)
{
	static const char *const tables[] = {"invoice", "creditor", "contract", "dispute", "contact"};

	for (int i = 0; i < lengthof(tables); i++)
	{
		Oid			relid = CobrancaScoreRelid(tables[i]);

		if (!OidIsValid(relid) ||
			pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
			check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
			return false;
	}
	return true;
}

static void
ScoreDirect(ReturnSetInfo *rsinfo, const Model *model, ArrayType *ids_arr, DateADT as_of,
			double reltuples)
{
	Datum	   *elems;
	bool	   *enulls;
	int			nelems;
	TargetIndex tmap;
	IdMap		cmap;
	PayerTable	payers;
	DirectTarget *tg;
	int			ntg = 0;
	int64		lo = PG_INT64_MAX,
				hi = PG_INT64_MIN;
	int64		nids = 0;
	CreditorRates *cr;
	int			ncr = 0;
	Span	   *spans;
	int			nspans = 0,
				capspans = 64;
	int8	   *cplan;
	int8	   *cpbp;			/* paid_by_person: -1 null, 0, 1 */
	int			ncontracts = 0;
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Snapshot	snap = GetActiveSnapshot();

	/* the invoices asked for */
	deconstruct_array(ids_arr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &enulls, &nelems);
	for (int i = 0; i < nelems; i++)
	{
		int64		id = DatumGetInt64(elems[i]);

		if (enulls[i] || id == 0)
			continue;
		lo = Min(lo, id);
		hi = Max(hi, id);
		nids++;
	}
	memset(&tmap, 0, sizeof(TargetIndex));
	if (nids > 0 && (uint64) hi - (uint64) lo < (uint64) nids * 4 + 65536)
	{
		tmap.lo = (uint64) lo;
		tmap.n = (uint64) hi - (uint64) lo + 1;
		tmap.dense = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * tmap.n);
		memset(tmap.dense, 0xFF, sizeof(int32) * tmap.n);	/* -1 */
	}
	else
		IdMapInit(&tmap.map, nelems);
	tg = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(DirectTarget) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
	{
		int64		id;
		int32		ti;

		if (enulls[i])
			continue;
		id = DatumGetInt64(elems[i]);
		if (id == 0)
			continue;			/* never an invoice id (identity from 1) */
		ti = TargetGet(&tmap, id);
		if (ti >= 0)
		{
			tg[ti].copies++;
			continue;
		}
		if (tmap.n > 0)
			tmap.dense[(uint64) id - tmap.lo] = ntg;
		else
		{
			bool		found;
			uint32		slotno = IdMapSlot(&tmap.map, id, &found);

			tmap.map.keys[slotno] = id;
			tmap.map.vals[slotno] = ntg;
		}
		memset(&tg[ntg], 0, sizeof(DirectTarget));
		tg[ntg].t.id = id;
		tg[ntg].copies = 1;
		tg[ntg].creditor = -1;
		ntg++;
	}

	/* creditors: their rates */
	rel = table_open(CobrancaScoreRelid("creditor"), AccessShareLock);
	{
		AttrNumber	a_id = CobrancaAttnum(rel, "id"),
					a_fine = CobrancaAttnum(rel, "fine_pct"),
					a_int = CobrancaAttnum(rel, "interest_month_pct"),
					a_nd = CobrancaAttnum(rel, "notice_day");
		int			cap = 16;

		cr = palloc(sizeof(CreditorRates) * cap);
		scan = table_beginscan(rel, snap, 0, NULL);
		slot = table_slot_create(rel, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;

			if (ncr == cap)
			{
				cap *= 2;
				cr = repalloc(cr, sizeof(CreditorRates) * cap);
			}
			cr[ncr].id = DatumGetInt64(slot_getattr(slot, a_id, &isnull));
			cr[ncr].fine_bp = CobrancaCents(slot_getattr(slot, a_fine, &isnull));
			cr[ncr].interest_bp = CobrancaCents(slot_getattr(slot, a_int, &isnull));
			cr[ncr].notice_day = DatumGetInt32(slot_getattr(slot, a_nd, &isnull));
			ncr++;
		}
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
	}
	table_close(rel, AccessShareLock);

	/* disputes, by invoice */
	spans = palloc(sizeof(Span) * capspans);
	rel = table_open(CobrancaScoreRelid("dispute"), AccessShareLock);
	{
		AttrNumber	a_inv = CobrancaAttnum(rel, "invoice_id"),
					a_op = CobrancaAttnum(rel, "opened_on"),
					a_ans = CobrancaAttnum(rel, "answered_on");

		scan = table_beginscan(rel, snap, 0, NULL);
		slot = table_slot_create(rel, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			Datum		d;

			if (nspans == capspans)
			{
				capspans *= 2;
				spans = repalloc_huge(spans, sizeof(Span) * capspans);
			}
			spans[nspans].id = DatumGetInt64(slot_getattr(slot, a_inv, &isnull));
			spans[nspans].opened_on = DatumGetDateADT(slot_getattr(slot, a_op, &isnull));
			d = slot_getattr(slot, a_ans, &isnull);
			spans[nspans].answered_null = isnull;
			spans[nspans].answered_on = isnull ? 0 : DatumGetDateADT(d);
			nspans++;
		}
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
	}
	table_close(rel, AccessShareLock);
	qsort(spans, nspans, sizeof(Span), SpanIdCmp);

	/* invoices: the targets, and the history and open disputes of every payer */
	PayerTableInit(&payers, (int64) Min(Max(reltuples, (double) nelems) * 2 + 65536, (double) PG_INT32_MAX));
	rel = table_open(CobrancaScoreRelid("invoice"), AccessShareLock);
	{
		AttrNumber	a_id = CobrancaAttnum(rel, "id"),
					a_payer = CobrancaAttnum(rel, "payer_id"),
					a_status = CobrancaAttnum(rel, "status"),
					a_due = CobrancaAttnum(rel, "due_on"),
					a_paid = CobrancaAttnum(rel, "paid_on"),
					a_kind = CobrancaAttnum(rel, "kind"),
					a_amount = CobrancaAttnum(rel, "amount"),
					a_balance = CobrancaAttnum(rel, "balance"),
					a_cred = CobrancaAttnum(rel, "creditor_id"),
					a_contract = CobrancaAttnum(rel, "contract_id");
		int			shint = 0;	/* where the last invoice's disputes were */

		scan = table_beginscan(rel, snap, 0, NULL);
		slot = table_slot_create(rel, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			int64		id = DatumGetInt64(slot_getattr(slot, a_id, &isnull));
			int64		payer = DatumGetInt64(slot_getattr(slot, a_payer, &isnull));
			Datum		status = slot_getattr(slot, a_status, &isnull);
			DateADT		due = DatumGetDateADT(slot_getattr(slot, a_due, &isnull));
			bool		cancelled = CobrancaTextIs(status, "cancelled");
			bool		hist = !cancelled && due >= as_of - 365 && due < as_of;
			int32		late = 0;
			int			sfirst = -1;
			int64		ndisp = 0;
			int32		ti;

			CHECK_FOR_INTERRUPTS();
			if (hist)
			{
				Datum		paid = slot_getattr(slot, a_paid, &isnull);
				DateADT		until = isnull ? as_of : Min(DatumGetDateADT(paid), as_of);

				late = until - due;
			}
			if (nspans > 0)
			{
				/*
				 * the table is read in about id order: look from where the
				 * last invoice's disputes were, a binary search otherwise
				 */
				sfirst = shint;
				if (sfirst > 0 && spans[sfirst - 1].id >= id)
					LOWER_BOUND(spans, nspans, id, sfirst);
				else
				{
					int			step = 1;

					/* gallop forward, then search the last step */
					while (sfirst + step <= nspans && spans[sfirst + step - 1].id < id)
					{
						sfirst += step;
						step *= 2;
					}
					{
						int			lo_ = sfirst,
									hi_ = Min(sfirst + step, nspans);

						while (lo_ < hi_)
						{
							int			mid_ = (lo_ + hi_) / 2;

							if (spans[mid_].id < id)
								lo_ = mid_ + 1;
							else
								hi_ = mid_;
						}
						sfirst = lo_;
					}
				}
				shint = sfirst;
				for (int j = sfirst; j < nspans && spans[j].id == id; j++)
					if (spans[j].opened_on <= as_of &&
						(spans[j].answered_null || spans[j].answered_on > as_of))
						ndisp++;
			}
			ti = TargetGet(&tmap, id);
			if ((hist && late > 0) || ndisp > 0)
			{
				PayerStat  *p = PayerAt(&payers, payer);

				if (hist && late > 0)
				{
					p->late_n++;
					p->late_sum += late;
				}
				p->open_disputes += ndisp;
			}
			if (ti >= 0)
			{
				DirectTarget *d = &tg[ti];
				Datum		v;
				int64		cred;

				d->seen = true;
				d->payer_id = payer;
				d->in_history = hist && late > 0;
				d->late_days = late;
				d->t.kind = CobrancaKindCode(DatumGetTextPP(slot_getattr(slot, a_kind, &isnull)));
				d->t.open = CobrancaTextIs(status, "open");
				d->t.cancelled = cancelled;
				d->t.due_on = due;
				if (DATE_NOT_FINITE(due))
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("scores need finite due dates"),
							 errdetail("invoice.due_on of invoice %lld is not finite.", (long long) id)));
				/* amount::float8: the nearest double to the decimal, as cents / 100 */
				d->t.amount = (double) CobrancaCents(slot_getattr(slot, a_amount, &isnull)) / 100.0;
				d->t.balance = CobrancaCents(slot_getattr(slot, a_balance, &isnull));
				cred = DatumGetInt64(slot_getattr(slot, a_cred, &isnull));
				for (int c = 0; c < ncr; c++)
					if (cr[c].id == cred)
						d->creditor = c;
				v = slot_getattr(slot, a_contract, &isnull);
				d->contract_id = isnull ? 0 : DatumGetInt64(v);
			}
		}
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
	}
	table_close(rel, AccessShareLock);

	/* contracts of the targets */
	IdMapInit(&cmap, ntg);
	for (int i = 0; i < ntg; i++)
		if (tg[i].seen && tg[i].contract_id != 0)
		{
			bool		found;
			uint32		slotno = IdMapSlot(&cmap, tg[i].contract_id, &found);

			if (!found)
			{
				cmap.keys[slotno] = tg[i].contract_id;
				cmap.vals[slotno] = ncontracts++;
			}
		}
	cplan = palloc(Max(ncontracts, 1));
	cpbp = palloc(Max(ncontracts, 1));
	for (int i = 0; i < ncontracts; i++)
	{
		cplan[i] = PLAN_NULL;	/* a contract not seen: as a missing one */
		cpbp[i] = -1;
	}
	if (ncontracts > 0)
	{
		rel = table_open(CobrancaScoreRelid("contract"), AccessShareLock);
		{
			AttrNumber	a_id = CobrancaAttnum(rel, "id"),
						a_plan = CobrancaAttnum(rel, "plan_type"),
						a_pbp = CobrancaAttnum(rel, "paid_by_person");

			scan = table_beginscan(rel, snap, 0, NULL);
			slot = table_slot_create(rel, NULL);
			while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
			{
				bool		isnull;
				int32		ci = IdMapGet(&cmap, DatumGetInt64(slot_getattr(slot, a_id, &isnull)));
				Datum		v;

				if (ci < 0)
					continue;
				v = slot_getattr(slot, a_plan, &isnull);
				cplan[ci] = isnull ? PLAN_NULL : CobrancaPlanCode(DatumGetTextPP(v));
				v = slot_getattr(slot, a_pbp, &isnull);
				cpbp[ci] = isnull ? -1 : (DatumGetBool(v) ? 1 : 0);
			}
			ExecDropSingleTupleTableSlot(slot);
			table_endscan(scan);
		}
		table_close(rel, AccessShareLock);
	}

	/* contacts made before the day, per invoice of the same payer */
	rel = table_open(CobrancaScoreRelid("contact"), AccessShareLock);
	{
		AttrNumber	a_payer = CobrancaAttnum(rel, "payer_id"),
					a_ids = CobrancaAttnum(rel, "invoice_ids"),
					a_status = CobrancaAttnum(rel, "status"),
					a_on = CobrancaAttnum(rel, "contact_on");

		scan = table_beginscan(rel, snap, 0, NULL);
		slot = table_slot_create(rel, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			Datum		st = slot_getattr(slot, a_status, &isnull);
			Datum		v;
			ArrayType  *arr;
			int64	   *vals;
			int			n;
			int64		payer;

			CHECK_FOR_INTERRUPTS();
			if (CobrancaTextIs(st, "scheduled") || CobrancaTextIs(st, "cancelled"))
				continue;
			if (DatumGetDateADT(slot_getattr(slot, a_on, &isnull)) >= as_of)
				continue;
			v = slot_getattr(slot, a_ids, &isnull);
			if (isnull)
				continue;
			payer = DatumGetInt64(slot_getattr(slot, a_payer, &isnull));
			arr = DatumGetArrayTypeP(v);
			if (ARR_HASNULL(arr) || ARR_NDIM(arr) == 0)
			{
				/* rare: element by element */
				Datum	   *es;
				bool	   *ns;

				deconstruct_array(arr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
								  &es, &ns, &n);
				for (int j = 0; j < n; j++)
				{
					int32		ti;
					bool		dup = false;

					if (ns[j])
						continue;
					for (int k = 0; k < j; k++)
						if (!ns[k] && es[k] == es[j])
							dup = true;
					ti = dup ? -1 : TargetGet(&tmap, DatumGetInt64(es[j]));
					if (ti >= 0 && tg[ti].seen && tg[ti].payer_id == payer)
						tg[ti].ncontacts++;
				}
				continue;
			}
			n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
			vals = (int64 *) ARR_DATA_PTR(arr);
			for (int j = 0; j < n; j++)
			{
				int32		ti;
				bool		dup = false;

				for (int k = 0; k < j; k++)
					if (vals[k] == vals[j])
						dup = true;
				ti = dup ? -1 : TargetGet(&tmap, vals[j]);
				if (ti >= 0 && tg[ti].seen && tg[ti].payer_id == payer)
					tg[ti].ncontacts++;
			}
			if ((Pointer) arr != DatumGetPointer(v))
				pfree(arr);
		}
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
		table_close(rel, AccessShareLock);
	}

	/* the scores */
	for (int i = 0; i < ntg; i++)
	{
		DirectTarget *d = &tg[i];
		PayerStat  *p;
		int64		own_n,
					own_sum;
		int			sfirst = 0,
					slast;

		if (!d->seen || d->creditor < 0)
			continue;			/* unknown invoice (or creditor): no row */
		p = PayerAt(&payers, d->payer_id);
		own_n = p->late_n - (d->in_history ? 1 : 0);
		own_sum = p->late_sum - (d->in_history ? d->late_days : 0);
		d->t.fine_bp = cr[d->creditor].fine_bp;
		d->t.interest_bp = cr[d->creditor].interest_bp;
		d->t.notice_day = cr[d->creditor].notice_day;
		d->t.has_contract = d->contract_id != 0;
		if (d->contract_id != 0)
		{
			int32		ci = IdMapGet(&cmap, d->contract_id);

			d->t.plan = cplan[ci];
			d->t.paid_by_person_null = cpbp[ci] < 0;
			d->t.paid_by_person = cpbp[ci] > 0;
		}
		else
		{
			d->t.plan = PLAN_NULL;
			d->t.paid_by_person_null = true;
			d->t.paid_by_person = false;
		}
		if (nspans > 0)
			LOWER_BOUND(spans, nspans, d->t.id, sfirst);
		for (slast = sfirst; slast < nspans && spans[slast].id == d->t.id; slast++)
			;
		for (int c = 0; c < d->copies; c++)
			EmitScore(rsinfo, model, &d->t, as_of, own_n, own_sum, p->open_disputes,
					  d->ncontacts, spans + sfirst, slast - sfirst);
	}
}

PG_FUNCTION_INFO_V1(cobranca_score_invoices);

/*
 * score_invoices(invoice_ids bigint[], as_of date)
 *   RETURNS TABLE (invoice_id bigint, model_id bigint, probability float8,
 *                  updated_amount numeric, priority numeric)
 */
Datum
cobranca_score_invoices(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *ids_arr = PG_GETARG_ARRAYTYPE_P(0);
	Datum		ids = PointerGetDatum(ids_arr);
	DateADT		as_of = PG_GETARG_DATEADT(1);
	MemoryContext payer_cxt;
	MemoryContext old;
	Model		model;
	Oid			types2[2] = {INT8ARRAYOID, DATEOID};
	Datum		args[2];
	Stream		targets,
				history,
				pdisp,
				idisp,
				contacts;
	Datum	   *payer_ids;
	int			npayers = 0,
				payers_cap = 1024;
	ArrayType  *payers_arr;
	int			save_nestlevel;
	bool		small;
	bool		scan = false;
	int			nids;
	double		reltuples_v = 0;

	if (DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("scores need a finite day"),
				 errdetail("as_of is %s.", DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(as_of))))));

	nids = ArrayGetNItems(ARR_NDIM(ids_arr), ARR_DIMS(ids_arr));
	small = nids <= SMALL_CALL;

	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * The cursors are read to the end: plan them for the whole result, not
	 * for the first rows; their estimates are right (the arrays are known),
	 * and compiling them would cost more than running them.
	 */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("cursor_tuple_fraction", "1", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/* the active model; none: no rows, as the SQL definition */
	if (SPI_execute(model_sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading the score model failed");
	if (SPI_processed == 0)
	{
		AtEOXact_GUC(true, save_nestlevel);
		SPI_finish();
		return (Datum) 0;
	}
	{
		bool		isnull;
		ArrayType  *a;
		int			n;

		model.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		a = DatumGetArrayTypePCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		if (ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the active score model's coefficients must be a one-dimensional float8 array without nulls"),
					 errdetail("score_model.id is %lld.", (long long) model.id)));
		n = ARR_DIMS(a)[0];
		model.coef = (double *) ARR_DATA_PTR(a);
		model.ncoef = n;
		SPI_freetuptable(SPI_tuptable);
	}
	CobrancaCheckModelSizes(model.ncoef, NFEATURES);

	/* the invoices asked for, by payer; the payers' ids for the others */
	args[0] = ids;
	args[1] = DateADTGetDatum(as_of);
	if (!small)
	{
		bool		isnull;
		Datum		reltuples;

		if (SPI_execute("SELECT c.reltuples FROM pg_catalog.pg_class c"
						" WHERE c.oid = 'cobranca.invoice'::pg_catalog.regclass", true, 1) != SPI_OK_SELECT
			|| SPI_processed != 1)
			elog(ERROR, "reading the size of cobranca.invoice failed");
		reltuples = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		reltuples_v = isnull ? 0 : DatumGetFloat4(reltuples);
		scan = isnull || nids >= SCAN_SHARE * reltuples_v;
		SPI_freetuptable(SPI_tuptable);
	}
	if (scan && CobrancaScoreDirectAllowed())
	{
		ScoreDirect(rsinfo, &model, ids_arr, as_of, reltuples_v);
		AtEOXact_GUC(true, save_nestlevel);
		SPI_finish();
		return (Datum) 0;
	}
	StreamOpen(&targets, Q_TARGETS, small, target_sql, 2, types2, args);
	if (scan)
	{
		StreamOpen(&history, Q_HISTORY, false, history_all_sql, 2, types2, args);
		StreamOpen(&pdisp, Q_PAYER_DISPUTES, false, payer_disputes_all_sql, 2, types2, args);
		StreamOpen(&contacts, Q_CONTACTS, false, contacts_all_sql, 2, types2, args);
	}
	else
	{
		/* the payers of the invoices asked for */
		Stream		t;

		payer_ids = palloc(sizeof(Datum) * payers_cap);
		StreamOpen(&t, Q_PAYERS, small, payers_sql, 2, types2, args);
		while (StreamPeek(&t))
		{
			if (npayers == payers_cap)
			{
				payers_cap *= 2;
				payer_ids = repalloc_huge(payer_ids, sizeof(Datum) * payers_cap);
			}
			payer_ids[npayers++] = t.values[0];
			StreamNext(&t);
		}
		StreamClose(&t);
		payers_arr = construct_array(payer_ids, npayers, INT8OID, sizeof(int64),
									 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
		pfree(payer_ids);
		args[0] = PointerGetDatum(payers_arr);
		StreamOpen(&history, Q_HISTORY, small, history_sql, 2, types2, args);
		StreamOpen(&pdisp, Q_PAYER_DISPUTES, small, payer_disputes_sql, 2, types2, args);
		StreamOpen(&contacts, Q_CONTACTS, small, contacts_sql, 2, types2, args);
	}
	args[0] = ids;
	StreamOpen(&idisp, Q_INVOICE_DISPUTES, small, invoice_disputes_sql, 1, types2, args);

	payer_cxt = AllocSetContextCreate(CurrentMemoryContext, "cobranca score payer",
									  ALLOCSET_DEFAULT_SIZES);

	while (StreamPeek(&targets))
	{
		int64		payer = DatumGetInt64(targets.values[0]);
		Target	   *tg = NULL;
		Late	   *late = NULL;
		Span	   *spans = NULL;
		Made	   *made = NULL;
		int			ntg = 0,
					captg = 0,
					nlate = 0,
					caplate = 0,
					nspans = 0,
					capspans = 0,
					nmade = 0,
					capmade = 0;
		int64		late_n = 0,
					late_sum = 0,
					open_disputes = 0;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(payer_cxt);
		old = MemoryContextSwitchTo(payer_cxt);

		/* this payer's invoices asked for */
		do
		{
			Target	   *t;
			Datum	   *v = targets.values;
			bool	   *nl = targets.nulls;

			if (DatumGetInt64(v[0]) != payer)
				break;
			GROW(tg, ntg, captg);
			t = &tg[ntg++];
			t->id = DatumGetInt64(v[1]);
			t->kind = CobrancaKindCode(DatumGetTextPP(v[2]));
			t->open = CobrancaTextIs(v[3], "open");
			t->cancelled = CobrancaTextIs(v[3], "cancelled");
			t->due_on = DatumGetDateADT(v[4]);
			t->amount = DatumGetFloat8(v[5]);
			t->balance = DatumGetInt64(v[6]);
			t->fine_bp = DatumGetInt64(v[7]);
			t->interest_bp = DatumGetInt64(v[8]);
			t->notice_day = DatumGetInt32(v[9]);
			t->has_contract = DatumGetBool(v[10]);
			t->plan = nl[11] ? PLAN_NULL : CobrancaPlanCode(DatumGetTextPP(v[11]));
			t->paid_by_person_null = nl[12];
			t->paid_by_person = nl[12] ? false : DatumGetBool(v[12]);
			if (DATE_NOT_FINITE(t->due_on))
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("scores need finite due dates"),
						 errdetail("invoice.due_on of invoice %lld is not finite.", (long long) t->id)));
			StreamNext(&targets);
		} while (StreamPeek(&targets));

		/* history: days late of the payer's invoices due in the 12 months */
		if (StreamAtPayer(&history, payer))
			do
			{
				int32		d;

				if (DatumGetInt64(history.values[0]) != payer)
					break;
				d = DatumGetInt32(history.values[2]);
				GROW(late, nlate, caplate);
				late[nlate].id = DatumGetInt64(history.values[1]);
				late[nlate].days = d;
				nlate++;
				if (d > 0)
				{
					late_n++;
					late_sum += d;
				}
				StreamNext(&history);
			} while (StreamPeek(&history));

		if (StreamAtPayer(&pdisp, payer))
		{
			open_disputes = DatumGetInt64(pdisp.values[1]);
			StreamNext(&pdisp);
		}

		if (StreamAtPayer(&idisp, payer))
			do
			{
				Span	   *s;

				if (DatumGetInt64(idisp.values[0]) != payer)
					break;
				GROW(spans, nspans, capspans);
				s = &spans[nspans++];
				s->id = DatumGetInt64(idisp.values[1]);
				s->opened_on = DatumGetDateADT(idisp.values[2]);
				s->answered_null = idisp.nulls[3];
				s->answered_on = idisp.nulls[3] ? 0 : DatumGetDateADT(idisp.values[3]);
				StreamNext(&idisp);
			} while (StreamPeek(&idisp));

		/* contacts: (invoice, contact) sorted; distinct contacts per invoice */
		if (StreamAtPayer(&contacts, payer))
		{
			int64		last_contact = 0;

			do
			{
				int64		inv,
							ct;

				if (DatumGetInt64(contacts.values[0]) != payer)
					break;
				if (contacts.nulls[1])
				{
					StreamNext(&contacts);
					continue;
				}
				inv = DatumGetInt64(contacts.values[1]);
				ct = DatumGetInt64(contacts.values[2]);
				if (nmade > 0 && made[nmade - 1].id == inv)
				{
					if (ct != last_contact)
						made[nmade - 1].n++;
				}
				else
				{
					GROW(made, nmade, capmade);
					made[nmade].id = inv;
					made[nmade].n = 1;
					nmade++;
				}
				last_contact = ct;
				StreamNext(&contacts);
			} while (StreamPeek(&contacts));
		}

		/* score each invoice */
		for (int k = 0; k < ntg; k++)
		{
			Target	   *t = &tg[k];
			int64		own_n = late_n,
						own_sum = late_sum;
			int			pos;
			int			sfirst,
						slast;
			int64		ncontacts = 0;

			/* the payer's other invoices: leave this one out */
			LOWER_BOUND(late, nlate, t->id, pos);
			if (pos < nlate && late[pos].id == t->id && late[pos].days > 0)
			{
				own_n--;
				own_sum -= late[pos].days;
			}
			LOWER_BOUND(made, nmade, t->id, pos);
			if (pos < nmade && made[pos].id == t->id)
				ncontacts = made[pos].n;
			LOWER_BOUND(spans, nspans, t->id, sfirst);
			for (slast = sfirst; slast < nspans && spans[slast].id == t->id; slast++)
				;
			EmitScore(rsinfo, &model, t, as_of, own_n, own_sum, open_disputes, ncontacts,
					  spans + sfirst, slast - sfirst);
		}
		MemoryContextSwitchTo(old);
	}

	StreamClose(&targets);
	StreamClose(&history);
	StreamClose(&pdisp);
	StreamClose(&idisp);
	StreamClose(&contacts);
	MemoryContextDelete(payer_cxt);
	AtEOXact_GUC(true, save_nestlevel);
	SPI_finish();
	return (Datum) 0;
}
