/*-------------------------------------------------------------------------
 *
 * bookkeeping.c
 *	  What an invoice owes, kept right in the transaction that changed it.
 *
 * invoice_bookkeeping (BEFORE INSERT OR UPDATE ON invoice) derives balance,
 * credit, status and paid_on from amount, paid_total, open_disputes and
 * agreement_id; payment_book and dispute_book (AFTER ROW on payment and
 * dispute) move paid_total, last_payment_on and open_disputes by the row's
 * difference, with an UPDATE that works on the latest version of the
 * invoice row, so that concurrent payments on one invoice all count.
 *
 * paid_total, open_disputes and last_payment_on are written only by
 * payment_book and dispute_book: a flag set around their UPDATE tells the
 * invoice trigger the change is theirs, and any other attempt is refused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "validate.h"

/* set while payment_book or dispute_book update an invoice */
static bool in_bookkeeping = false;

static const char *const invoice_statuses[] = {
	"open", "paid", "disputed", "in_agreement", "cancelled", "written_off"
};

typedef struct InvoiceAtts
{
	int			id,
				amount,
				paid_total,
				balance,
				credit,
				status,
				open_disputes,
				agreement_id,
				last_payment_on,
				paid_on,
				cancelled_at,
				updated_at;
} InvoiceAtts;

static int
att(TupleDesc desc, const char *name)
{
	int			n = SPI_fnumber(desc, name);

	if (n <= 0)
		elog(ERROR, "cobranca bookkeeping: invoice has no column \"%s\"", name);
	return n;
}

static void
invoice_atts(TupleDesc desc, InvoiceAtts *a)
{
	a->id = att(desc, "id");
	a->amount = att(desc, "amount");
	a->paid_total = att(desc, "paid_total");
	a->balance = att(desc, "balance");
	a->credit = att(desc, "credit");
	a->status = att(desc, "status");
	a->open_disputes = att(desc, "open_disputes");
	a->agreement_id = att(desc, "agreement_id");
	a->last_payment_on = att(desc, "last_payment_on");
	a->paid_on = att(desc, "paid_on");
	a->cancelled_at = att(desc, "cancelled_at");
	a->updated_at = att(desc, "updated_at");
}

/* a numeric value coerced to the column's numeric(p,s) */
static Datum
numeric_for(TupleDesc desc, int attnum, Datum value)
{
	return DirectFunctionCall2(numeric, value,
							   Int32GetDatum(TupleDescAttr(desc, attnum - 1)->atttypmod));
}

static int
numeric_compare(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

static char *
text_or_null(HeapTuple tuple, TupleDesc desc, int attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static bool
datum_changed(HeapTuple a, HeapTuple b, TupleDesc desc, int attnum)
{
	bool		anull,
				bnull;
	Datum		ad = heap_getattr(a, attnum, desc, &anull);
	Datum		bd = heap_getattr(b, attnum, desc, &bnull);
	Form_pg_attribute attr = TupleDescAttr(desc, attnum - 1);

	if (anull || bnull)
		return anull != bnull;
	return !datumIsEqual(ad, bd, attr->attbyval, attr->attlen);
}

PG_FUNCTION_INFO_V1(cobranca_invoice_bookkeeping);

Datum
cobranca_invoice_bookkeeping(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	HeapTuple	old = NULL;
	InvoiceAtts a;
	Datum		values[12];
	bool		nulls[12];
	int			cols[12];
	int			n = 0;
	char	   *status;
	bool		isnull;
	Datum		amount,
				paid,
				zero,
				diff;
	int32		disputes;
	bool		has_agreement;
	const char *derived;
	bool		settled;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		elog(ERROR, "cobranca.invoice_bookkeeping must be a BEFORE INSERT OR UPDATE row trigger");

	desc = RelationGetDescr(trigdata->tg_relation);
	invoice_atts(desc, &a);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		old = trigdata->tg_trigtuple;
		tuple = trigdata->tg_newtuple;
	}
	else
		tuple = trigdata->tg_trigtuple;

	/* an unknown status must fail here: the derivation below would hide it */
	status = text_or_null(tuple, desc, a.status);
	if (status == NULL)
		status = "open";
	{
		bool		known = false;

		for (int i = 0; i < lengthof(invoice_statuses); i++)
			known |= (strcmp(status, invoice_statuses[i]) == 0);
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("invalid invoice.status: \"%s\"", CobrancaShowValue(status)),
					 errdetail("invoice.status must be one of: open, paid, disputed, in_agreement, cancelled, written_off.")));
	}

	zero = numeric_for(desc, a.paid_total, NumericGetDatum(int64_to_numeric(0)));
	if (old == NULL)
	{
		/* what was paid and disputed comes from payment and dispute rows only */
		cols[n] = a.paid_total, values[n] = zero, nulls[n++] = false;
		cols[n] = a.open_disputes, values[n] = Int32GetDatum(0), nulls[n++] = false;
		cols[n] = a.last_payment_on, values[n] = (Datum) 0, nulls[n++] = true;
		paid = zero;
		disputes = 0;
	}
	else
	{
		char	   *old_status = text_or_null(old, desc, a.status);
		int64		id = DatumGetInt64(heap_getattr(old, a.id, desc, &isnull));

		if (old_status != NULL &&
			(strcmp(old_status, "cancelled") == 0 || strcmp(old_status, "written_off") == 0) &&
			strcmp(old_status, status) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("invoice status %s is final", old_status),
					 errdetail("invoice %lld cannot change from %s to %s.",
							   (long long) id, old_status, status),
					 errhint("Issue a new invoice instead.")));

		if (!in_bookkeeping &&
			(datum_changed(old, tuple, desc, a.paid_total) ||
			 datum_changed(old, tuple, desc, a.open_disputes) ||
			 datum_changed(old, tuple, desc, a.last_payment_on)))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("invoice.paid_total, open_disputes and last_payment_on are maintained by cobranca"),
					 errdetail("invoice %lld: an UPDATE tried to set them directly.", (long long) id),
					 errhint("Insert, correct or delete payment and dispute rows instead.")));

		paid = heap_getattr(tuple, a.paid_total, desc, &isnull);
		disputes = DatumGetInt32(heap_getattr(tuple, a.open_disputes, desc, &isnull));

		/* updated_at records direct changes; payments and disputes have their own rows */
		if (!in_bookkeeping)
		{
			cols[n] = a.updated_at;
			values[n] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
			nulls[n++] = false;
		}
	}

	amount = heap_getattr(tuple, a.amount, desc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);	/* NOT NULL speaks for itself */

	diff = DirectFunctionCall2(numeric_sub, amount, paid);
	settled = numeric_compare(diff, zero) <= 0;
	cols[n] = a.balance;
	values[n] = settled ? zero : numeric_for(desc, a.balance, diff);
	nulls[n++] = false;
	cols[n] = a.credit;
	values[n] = settled ? numeric_for(desc, a.credit,
									  DirectFunctionCall1(numeric_uminus, diff)) : zero;
	nulls[n++] = false;

	(void) heap_getattr(tuple, a.agreement_id, desc, &isnull);
	has_agreement = !isnull;

	if (strcmp(status, "cancelled") == 0)
	{
		(void) heap_getattr(tuple, a.cancelled_at, desc, &isnull);
		if (isnull)
		{
			cols[n] = a.cancelled_at;
			values[n] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
			nulls[n++] = false;
		}
		derived = NULL;
	}
	else if (strcmp(status, "written_off") == 0)
		derived = NULL;
	else if (settled)
		derived = "paid";
	else if (disputes > 0)
		derived = "disputed";
	else if (has_agreement)
		derived = "in_agreement";
	else
		derived = "open";
	if (derived != NULL)
	{
		cols[n] = a.status;
		values[n] = CStringGetTextDatum(derived);
		nulls[n++] = false;
	}

	/* paid_on: the day of the payment that settled it (none on insert) */
	cols[n] = a.paid_on;
	if (settled && old != NULL)
		values[n] = heap_getattr(tuple, a.last_payment_on, desc, &nulls[n]);
	else
		values[n] = (Datum) 0, nulls[n] = true;
	n++;

	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, n, cols, values, nulls));
}

/*
 * Run one of the invoice updates below with its plan kept for the backend.
 */
typedef struct BookPlan
{
	const char *query;
	int			nargs;
	Oid			argtypes[3];
	SPIPlanPtr	plan;
} BookPlan;

static BookPlan add_payment = {
	"UPDATE cobranca.invoice i"
	"   SET paid_total = i.paid_total + $2,"
	"       last_payment_on = GREATEST(i.last_payment_on, ($3 AT TIME ZONE y.timezone)::date)"
	"  FROM cobranca.payer y"
	" WHERE i.id = $1 AND y.id = i.payer_id"
	" RETURNING i.status, i.cancelled_at",
	3, {INT8OID, NUMERICOID, TIMESTAMPTZOID}, NULL
};

static BookPlan remove_payment = {
	"UPDATE cobranca.invoice i"
	"   SET paid_total = i.paid_total - $2,"
	"       last_payment_on = (SELECT max((p.paid_at AT TIME ZONE y.timezone)::date)"
	"                            FROM cobranca.payment p, cobranca.payer y"
	"                           WHERE p.invoice_id = i.id AND y.id = i.payer_id AND p.id <> $3)"
	" WHERE i.id = $1",
	3, {INT8OID, NUMERICOID, INT8OID}, NULL
};

static BookPlan move_disputes = {
	"UPDATE cobranca.invoice SET open_disputes = open_disputes + $2 WHERE id = $1",
	2, {INT8OID, INT4OID}, NULL
};

/*
 * The invoice's CHECK constraints and the WHEN conditions of its triggers,
 * ready to evaluate, kept for the backend.
 *
 * The executor prepares them again for every statement that writes a
 * table (parsing the stored expressions and planning them), which for the
 * one-row UPDATE a payment makes costs more than the update itself.  The
 * bookkeeping updates hand the executor these prepared copies instead, so
 * that it checks and fires exactly what it would otherwise: the copies are
 * built from the same relation cache entry and dropped whenever the table
 * or any function changes.  Only the bookkeeping's own statements use
 * them; ordinary statements are left alone.
 */
typedef struct RelExprCache
{
	Oid			relid;
	bool		valid;
	MemoryContext mcxt;
	int			ncheck;
	ExprState **checks;			/* as rel->rd_att->constr->check */
	int			ntriggers;
	ExprState **when;			/* as the relation's trigger descriptor */
} RelExprCache;

static RelExprCache invoice_exprs;
static bool book_callbacks_done = false;
static ExecutorStart_hook_type prev_executor_start = NULL;

/* set while a bookkeeping statement is about to start its executor */
static bool book_expect_start = false;

static void
invoice_exprs_relcache(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == invoice_exprs.relid)
		invoice_exprs.valid = false;
}

static void
invoice_exprs_syscache(Datum arg, int cacheid, uint32 hashvalue)
{
	invoice_exprs.valid = false;
}

/* the prepared expressions for rri's relation, built when missing or stale */
static RelExprCache *
invoice_exprs_for(ResultRelInfo *rri)
{
	Relation	rel = rri->ri_RelationDesc;
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	TriggerDesc *td = rri->ri_TrigDesc;
	RelExprCache *c = &invoice_exprs;
	MemoryContext old;

	if (c->valid && c->relid == RelationGetRelid(rel) &&
		c->ncheck == (constr ? constr->num_check : 0) &&
		c->ntriggers == (td ? td->numtriggers : 0))
		return c;

	if (c->mcxt != NULL)
	{
		/* statements still running keep what they were given until the transaction ends */
		MemoryContextSetParent(c->mcxt, TopTransactionContext);
		c->mcxt = NULL;
	}
	c->relid = RelationGetRelid(rel);
	c->ncheck = 0;
	c->ntriggers = 0;
	c->checks = NULL;
	c->when = NULL;
	c->valid = true;			/* an invalidation while building clears it */
	c->mcxt = AllocSetContextCreate(CacheMemoryContext, "cobranca bookkeeping expressions",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(c->mcxt);
	PG_TRY();
	{
		/* as ExecRelCheck does */
		if (constr != NULL && constr->num_check > 0)
		{
			c->checks = palloc0(sizeof(ExprState *) * constr->num_check);
			for (int i = 0; i < constr->num_check; i++)
			{
				Expr	   *e = (Expr *) stringToNode(constr->check[i].ccbin);

				c->checks[i] = ExecInitExpr(expression_planner(e), NULL);
			}
		}
		/* as TriggerEnabled does */
		if (td != NULL && td->numtriggers > 0)
		{
			c->when = palloc0(sizeof(ExprState *) * td->numtriggers);
			for (int i = 0; i < td->numtriggers; i++)
			{
				Node	   *q;

				if (td->triggers[i].tgqual == NULL)
					continue;
				q = stringToNode(td->triggers[i].tgqual);
				ChangeVarNodes(q, PRS2_OLD_VARNO, INNER_VAR, 0);
				ChangeVarNodes(q, PRS2_NEW_VARNO, OUTER_VAR, 0);
				q = (Node *) make_ands_implicit((Expr *) q);
				c->when[i] = ExecInitQual((List *) expression_planner((Expr *) q), NULL);
			}
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		c->valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	c->ncheck = constr ? constr->num_check : 0;
	c->ntriggers = td ? td->numtriggers : 0;
	return c;
}

/*
 * ExecutorStart of a bookkeeping UPDATE: after the usual start, give its
 * result relation the prepared constraints and WHEN conditions.  A
 * partitioned invoice table is left to the executor.
 */
static void
book_executor_start(QueryDesc *queryDesc, int eflags)
{
	ModifyTableState *mt;
	ResultRelInfo *rri;
	RelExprCache *c;

	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (!book_expect_start || queryDesc->operation != CMD_UPDATE ||
		queryDesc->planstate == NULL || !IsA(queryDesc->planstate, ModifyTableState) ||
		(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		return;
	book_expect_start = false;
	mt = (ModifyTableState *) queryDesc->planstate;
	if (mt->mt_nrels != 1)
		return;
	rri = mt->resultRelInfo;
	if (rri->ri_RelationDesc->rd_rel->relkind != RELKIND_RELATION)
		return;
	c = invoice_exprs_for(rri);
	if (c->ncheck > 0 && rri->ri_ConstraintExprs == NULL)
	{
		rri->ri_ConstraintExprs = MemoryContextAlloc(queryDesc->estate->es_query_cxt,
													 sizeof(ExprState *) * c->ncheck);
		memcpy(rri->ri_ConstraintExprs, c->checks, sizeof(ExprState *) * c->ncheck);
	}
	if (c->ntriggers > 0 && rri->ri_TrigWhenExprs != NULL)
		for (int i = 0; i < c->ntriggers; i++)
			if (rri->ri_TrigWhenExprs[i] == NULL)
				rri->ri_TrigWhenExprs[i] = c->when[i];
}

static void
book(BookPlan *p, Datum *args)
{
	int			rc;

	if (!book_callbacks_done)
	{
		CacheRegisterRelcacheCallback(invoice_exprs_relcache, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, invoice_exprs_syscache, (Datum) 0);
		CacheRegisterSyscacheCallback(TYPEOID, invoice_exprs_syscache, (Datum) 0);
		prev_executor_start = ExecutorStart_hook;
		ExecutorStart_hook = book_executor_start;
		book_callbacks_done = true;
	}
	if (p->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(p->query, p->nargs, p->argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		p->plan = plan;
	}

	in_bookkeeping = true;
	book_expect_start = true;
	PG_TRY();
	{
		rc = SPI_execute_plan(p->plan, args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		in_bookkeeping = false;
		book_expect_start = false;
	}
	PG_END_TRY();

	if (rc != SPI_OK_UPDATE && rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "invoice bookkeeping update failed: %s", SPI_result_code_string(rc));
}

static Datum
column(HeapTuple tuple, TupleDesc desc, const char *name, bool *isnull)
{
	return heap_getattr(tuple, att(desc, name), desc, isnull);
}

/*
 * The rows of an AFTER ROW trigger call: the old one (UPDATE, DELETE) and the
 * new one (INSERT, UPDATE); the other is NULL.
 */
static TupleDesc
after_row_rows(FunctionCallInfo fcinfo, const char *name, HeapTuple *oldrow, HeapTuple *newrow)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "%s must be an AFTER row trigger", name);

	*oldrow = *newrow = NULL;
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		*newrow = trigdata->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		*oldrow = trigdata->tg_trigtuple;
	else
	{
		*oldrow = trigdata->tg_trigtuple;
		*newrow = trigdata->tg_newtuple;
	}
	return RelationGetDescr(trigdata->tg_relation);
}

PG_FUNCTION_INFO_V1(cobranca_payment_book);

Datum
cobranca_payment_book(PG_FUNCTION_ARGS)
{
	HeapTuple	oldrow,
				newrow;
	TupleDesc	desc = after_row_rows(fcinfo, "cobranca.payment_book", &oldrow, &newrow);
	bool		isnull;

	SPI_connect();
	if (oldrow != NULL)
	{
		Datum		args[3];

		args[0] = column(oldrow, desc, "invoice_id", &isnull);
		args[1] = column(oldrow, desc, "amount", &isnull);
		args[2] = column(oldrow, desc, "id", &isnull);
		book(&remove_payment, args);
	}
	if (newrow != NULL)
	{
		Datum		args[3];
		bool		cancelled_null;
		Datum		cancelled_at;
		char	   *status;

		args[0] = column(newrow, desc, "invoice_id", &isnull);
		args[1] = column(newrow, desc, "amount", &isnull);
		args[2] = column(newrow, desc, "paid_at", &isnull);
		book(&add_payment, args);

		if (SPI_processed == 1)
		{
			status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			cancelled_at = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
										 &cancelled_null);
			if (status != NULL && strcmp(status, "cancelled") == 0 && !cancelled_null &&
				DatumGetTimestampTz(args[2]) >= DatumGetTimestampTz(cancelled_at))
				ereport(ERROR,
						(errcode(ERRCODE_CHECK_VIOLATION),
						 errmsg("payment on a cancelled invoice"),
						 errdetail("invoice %lld was cancelled at %s; payment.paid_at is %s.",
								   (long long) DatumGetInt64(args[0]),
								   timestamptz_to_str(DatumGetTimestampTz(cancelled_at)),
								   timestamptz_to_str(DatumGetTimestampTz(args[2]))),
						 errhint("Record the money against the invoice that replaced it.")));
		}
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(cobranca_dispute_book);

Datum
cobranca_dispute_book(PG_FUNCTION_ARGS)
{
	HeapTuple	oldrow,
				newrow;
	TupleDesc	desc = after_row_rows(fcinfo, "cobranca.dispute_book", &oldrow, &newrow);
	bool		isnull;

	SPI_connect();
	/* an unanswered dispute counts once on its invoice */
	if (oldrow != NULL)
	{
		(void) column(oldrow, desc, "answered_on", &isnull);
		if (isnull)
		{
			Datum		args[2];

			args[0] = column(oldrow, desc, "invoice_id", &isnull);
			args[1] = Int32GetDatum(-1);
			book(&move_disputes, args);
		}
	}
	if (newrow != NULL)
	{
		(void) column(newrow, desc, "answered_on", &isnull);
		if (isnull)
		{
			Datum		args[2];

			args[0] = column(newrow, desc, "invoice_id", &isnull);
			args[1] = Int32GetDatum(1);
			book(&move_disputes, args);
		}
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
