/*-------------------------------------------------------------------------
 *
 * tenant.c
 *	  The tenant key of child rows: a BEFORE ROW trigger that fills
 *	  creditor_id (and portfolio_id where the table has one) from the parent
 *	  row, so that an ERP may omit them and can never get them wrong.
 *
 * CREATE TRIGGER ... BEFORE INSERT OR UPDATE ... FOR EACH ROW
 *	 EXECUTE FUNCTION cobranca.inherit_tenant(parent, fk_column [, 'portfolio'])
 *
 * parent is one of portfolio, payer, contract, invoice.  The parent is read
 * as the writing user, under row-level security: a parent the writer may not
 * see does not exist for it, and nothing about other tenants' rows appears
 * in the error.  The lookup plans are prepared once per backend.  When
 * row-level security does not apply to the writer (its owner, a role that
 * bypasses it) and it may read the parent table, the parent is read
 * straight from its primary key index with the same snapshot the query
 * would take: the same answer without the executor.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

typedef struct ParentLookup
{
	const char *name;
	const char *query;
	const char *second;			/* the second column the query returns */
	SPIPlanPtr	plan;
	/* the direct read: table, its primary key index, the two columns */
	bool		direct_valid;
	Oid			relid;
	Oid			pkey;
	AttrNumber	cred_att;
	AttrNumber	second_att;
} ParentLookup;

static ParentLookup parents[] = {
	{"portfolio", "SELECT creditor_id, id FROM cobranca.portfolio WHERE id = $1", "id"},
	{"payer", "SELECT creditor_id, portfolio_id FROM cobranca.payer WHERE id = $1", "portfolio_id"},
	{"contract", "SELECT creditor_id, portfolio_id FROM cobranca.contract WHERE id = $1", "portfolio_id"},
	{"invoice", "SELECT creditor_id, portfolio_id FROM cobranca.invoice WHERE id = $1", "portfolio_id"},
};

static bool relcache_callback_done = false;

static void
parents_invalidate(Datum arg, Oid relid)
{
	for (int i = 0; i < lengthof(parents); i++)
		if (relid == InvalidOid || parents[i].relid == relid)
			parents[i].direct_valid = false;
}

/*
 * The parent's table for a direct read, or InvalidOid when the query must
 * run: row-level security applies to the writer, it lacks the privilege
 * (the query then reports it), or the table is not a plain table with a
 * primary key on id.
 */
static Oid
direct_parent(ParentLookup *parent)
{
	Oid			nsp;

	if (!relcache_callback_done)
	{
		CacheRegisterRelcacheCallback(parents_invalidate, (Datum) 0);
		relcache_callback_done = true;
	}
	if (!parent->direct_valid)
	{
		Relation	rel;
		Oid			pkey;

		parent->relid = InvalidOid;
		parent->pkey = InvalidOid;
		nsp = get_namespace_oid("cobranca", true);
		if (!OidIsValid(nsp))
			return InvalidOid;
		parent->relid = get_relname_relid(parent->name, nsp);
		if (!OidIsValid(parent->relid))
			return InvalidOid;
		parent->direct_valid = true;	/* an invalidation from here on clears it */
		rel = table_open(parent->relid, AccessShareLock);
		pkey = RelationGetPrimaryKeyIndex(rel);
		parent->cred_att = get_attnum(parent->relid, "creditor_id");
		parent->second_att = get_attnum(parent->relid, parent->second);
		if (rel->rd_rel->relkind == RELKIND_RELATION && OidIsValid(pkey) &&
			parent->cred_att > 0 && parent->second_att > 0 &&
			TupleDescAttr(RelationGetDescr(rel), parent->cred_att - 1)->atttypid == INT8OID &&
			TupleDescAttr(RelationGetDescr(rel), parent->second_att - 1)->atttypid == INT8OID)
		{
			Relation	idx = index_open(pkey, AccessShareLock);
			Form_pg_index ix = idx->rd_index;

			if (ix->indnatts == 1 && ix->indkey.values[0] == get_attnum(parent->relid, "id") &&
				idx->rd_rel->relam == BTREE_AM_OID &&
				TupleDescAttr(RelationGetDescr(idx), 0)->atttypid == INT8OID)
				parent->pkey = pkey;
			index_close(idx, AccessShareLock);
		}
		table_close(rel, AccessShareLock);
	}
	if (!OidIsValid(parent->pkey))
		return InvalidOid;
	if (check_enable_rls(parent->relid, InvalidOid, true) == RLS_ENABLED ||
		pg_class_aclcheck(parent->relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return InvalidOid;
	return parent->relid;
}

/*
 * Read the parent by primary key as SPI would for a query of a trigger
 * that may write: after a command counter increment, with a new snapshot
 * (the transaction's under REPEATABLE READ and SERIALIZABLE).
 */
static bool
direct_read(ParentLookup *parent, Datum fk, Datum *cred, Datum *second)
{
	Relation	rel = table_open(parent->relid, AccessShareLock);
	Relation	idx = index_open(parent->pkey, AccessShareLock);
	Snapshot	snap;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData key;
	bool		found;

	CommandCounterIncrement();
	snap = RegisterSnapshot(GetTransactionSnapshot());
	slot = table_slot_create(rel, NULL);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, fk);
	scan = index_beginscan(rel, idx, snap, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found)
	{
		bool		n1,
					n2;

		*cred = slot_getattr(slot, parent->cred_att, &n1);
		*second = slot_getattr(slot, parent->second_att, &n2);
		if (n1 || n2)
			found = false;		/* NOT NULL columns: let the query decide */
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	/* the locks are kept to the end of the transaction, as a query keeps them */
	index_close(idx, NoLock);
	table_close(rel, NoLock);
	return found;
}

static ParentLookup *
find_parent(const char *name)
{
	for (int i = 0; i < lengthof(parents); i++)
		if (strcmp(parents[i].name, name) == 0)
			return &parents[i];
	elog(ERROR, "cobranca.inherit_tenant: unknown parent table \"%s\"", name);
	return NULL;				/* keep compiler quiet */
}

static int
attnum_or_error(TupleDesc desc, Relation rel, const char *column)
{
	int			attnum = SPI_fnumber(desc, column);

	if (attnum <= 0)
		elog(ERROR, "cobranca.inherit_tenant: table \"%s\" has no column \"%s\"",
			 RelationGetRelationName(rel), column);
	return attnum;
}

PG_FUNCTION_INFO_V1(cobranca_inherit_tenant);

Datum
cobranca_inherit_tenant(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	ParentLookup *parent;
	int			fk_att,
				cred_att,
				pf_att = 0;
	bool		isnull,
				cred_null;
	Datum		fk,
				cred;
	Datum		parent_cred,
				parent_pf;
	int			cols[2];
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int			ncols = 0;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		elog(ERROR, "cobranca.inherit_tenant must be a BEFORE INSERT OR UPDATE row trigger");

	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs < 2)
		elog(ERROR, "cobranca.inherit_tenant needs the parent table and the foreign key column");

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;

	parent = find_parent(trigger->tgargs[0]);
	fk_att = attnum_or_error(desc, rel, trigger->tgargs[1]);
	cred_att = attnum_or_error(desc, rel, "creditor_id");
	if (trigger->tgnargs > 2 && strcmp(trigger->tgargs[2], "portfolio") == 0)
		pf_att = attnum_or_error(desc, rel, "portfolio_id");

	fk = heap_getattr(tuple, fk_att, desc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);	/* NOT NULL speaks for itself */
	cred = heap_getattr(tuple, cred_att, desc, &cred_null);

	/* an update that moves nothing needs no lookup */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	old = trigdata->tg_trigtuple;
		bool		old_fk_null,
					old_cred_null;
		Datum		old_fk = heap_getattr(old, fk_att, desc, &old_fk_null);
		Datum		old_cred = heap_getattr(old, cred_att, desc, &old_cred_null);

		if (!old_fk_null && DatumGetInt64(old_fk) == DatumGetInt64(fk) &&
			!old_cred_null && !cred_null &&
			DatumGetInt64(old_cred) == DatumGetInt64(cred))
			return PointerGetDatum(tuple);
	}

	if (OidIsValid(direct_parent(parent)) && direct_read(parent, fk, &parent_cred, &parent_pf))
		isnull = false;
	else
	{
		SPI_connect();
		if (parent->plan == NULL)
		{
			Oid			argtypes[1] = {INT8OID};
			SPIPlanPtr	plan = SPI_prepare(parent->query, 1, argtypes);

			if (plan == NULL)
				elog(ERROR, "SPI_prepare failed for \"%s\": %s",
					 parent->query, SPI_result_code_string(SPI_result));
			SPI_keepplan(plan);
			parent->plan = plan;
		}
		if (SPI_execute_plan(parent->plan, &fk, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed for \"%s\"", parent->query);

		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("%s.%s refers to a %s that does not exist",
							RelationGetRelationName(rel), trigger->tgargs[1], parent->name),
					 errdetail("No %s with id %lld is visible to the current user.",
							   parent->name, (long long) DatumGetInt64(fk)),
					 errhint("Insert the %s first, or check the id.", parent->name)));

		parent_cred = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		parent_pf = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		/* int8 values are passed by value: they outlive the SPI memory */
		SPI_finish();
	}

	if (!cred_null && DatumGetInt64(cred) != DatumGetInt64(parent_cred))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s.creditor_id does not match its %s",
						RelationGetRelationName(rel), parent->name),
				 errdetail("creditor_id is %lld but %s %lld belongs to another creditor.",
						   (long long) DatumGetInt64(cred), parent->name,
						   (long long) DatumGetInt64(fk)),
				 errhint("Omit creditor_id: it is taken from the %s.", parent->name)));

	if (cred_null)
	{
		cols[ncols] = cred_att;
		values[ncols++] = parent_cred;
	}
	if (pf_att > 0)
	{
		bool		pf_null;

		(void) heap_getattr(tuple, pf_att, desc, &pf_null);
		if (pf_null && !isnull)
		{
			cols[ncols] = pf_att;
			values[ncols++] = parent_pf;
		}
	}

	if (ncols > 0)
		tuple = heap_modify_tuple_by_cols(tuple, desc, ncols, cols, values, nulls);
	return PointerGetDatum(tuple);
}
