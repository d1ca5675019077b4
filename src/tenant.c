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
 * in the error.  The lookup plans are prepared once per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"

typedef struct ParentLookup
{
	const char *name;
	const char *query;
	SPIPlanPtr	plan;
} ParentLookup;

static ParentLookup parents[] = {
	{"portfolio", "SELECT creditor_id, id FROM cobranca.portfolio WHERE id = $1", NULL},
	{"payer", "SELECT creditor_id, portfolio_id FROM cobranca.payer WHERE id = $1", NULL},
	{"contract", "SELECT creditor_id, portfolio_id FROM cobranca.contract WHERE id = $1", NULL},
	{"invoice", "SELECT creditor_id, portfolio_id FROM cobranca.invoice WHERE id = $1", NULL},
};

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
	SPI_finish();

	if (ncols > 0)
		tuple = heap_modify_tuple_by_cols(tuple, desc, ncols, cols, values, nulls);
	return PointerGetDatum(tuple);
}
