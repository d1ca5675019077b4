/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The audit log: capture trigger, append-only guard, hash-chain sealing,
 *	  verification and retention.
 *
 * Capture.  cobranca.audit_capture() is an AFTER ROW trigger on every domain
 * table.  It writes one row into cobranca.audit_log in the same transaction:
 * clock time, top-level transaction id, session and current user,
 * application name, client address, table, row id, creditor_id, and the
 * old and new values as jsonb (only the changed columns of an UPDATE;
 * document_cipher and document_digest never appear).  The row is inserted
 * directly into the heap and its indexes, as the catalog code does: no
 * executor, no SPI, no privilege on audit_log needed by the writer.
 *
 * Chain.  Writers never touch the chain, so they never wait on each other.
 * cobranca.audit_seal() appends the rows committed since the previous seal
 * to cobranca.audit_seal, one chain per creditor (chain 0 for rows without
 * one), in id order: hash = SHA-256(label | chain | seq | previous hash |
 * canonical row).  Which rows are new is decided with snapshots: the seal
 * stores the snapshot it started from, and the next seal takes the rows
 * whose transaction is not visible in it (those committed since, or still
 * running then).  Rows are never updated: sealing only inserts.
 *
 * Append-only.  UPDATE, DELETE and TRUNCATE of audit_log and audit_seal are
 * refused by triggers for everybody, the owner included; only the retention
 * purge of this file deletes, and only sealed rows, never legally held ones.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/partcache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/xid8.h"

#include "cobranca.h"
#include "audit.h"
#include "crypto.h"

/* audit_log columns, by name */
enum
{
	AL_ID, AL_LOGGED_AT, AL_TXID, AL_SESSION_USER, AL_CURRENT_USER,
	AL_APPLICATION, AL_CLIENT_ADDR, AL_TABLE, AL_OPERATION, AL_ROW_ID,
	AL_CREDITOR_ID, AL_OLD, AL_NEW, AL_REASON, AL_NCOLS
};
static const char *const audit_log_columns[AL_NCOLS] = {
	"id", "logged_at", "txid", "session_user_name", "current_user_name",
	"application_name", "client_addr", "table_name", "operation", "row_id",
	"creditor_id", "old_values", "new_values", "reason"
};

/* audit_seal columns, by name */
enum
{
	AS_AUDIT_ID, AS_CHAIN_ID, AS_SEQ, AS_SEALED_AT, AS_PREV_HASH, AS_HASH, AS_NCOLS
};
static const char *const audit_seal_columns[AS_NCOLS] = {
	"audit_id", "chain_id", "seq", "sealed_at", "prev_hash", "hash"
};

typedef struct DirectTable
{
	bool		checked;		/* relid still names the table (no invalidation since) */
	Oid			relid;
	Oid			idseq;			/* identity sequence of "id", if any */
	AttrNumber	attnum[AL_NCOLS];
	Oid			leaf_relid;		/* partitioned: the last partition written */
	AttrNumber	leaf_attnum[AL_NCOLS];
} DirectTable;

static DirectTable audit_log_table;
static DirectTable audit_seal_table;

/* set only while the retention purge deletes */
static bool purge_in_progress = false;

/* the client's address, computed once per backend */
static bool client_addr_done = false;
static Datum client_addr_datum;
static bool client_addr_null = true;

/* ---------------------------------------------------------------------
 * Direct insertion into the extension's own tables.
 * ---------------------------------------------------------------------
 */

static Oid
cobranca_relid(const char *relname)
{
	Oid			nsp = get_namespace_oid("cobranca", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table cobranca.%s does not exist", relname),
				 errhint("CREATE EXTENSION cobranca creates it.")));
	return relid;
}

static bool direct_callback = false;

static void
direct_tables_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == audit_log_table.relid)
		audit_log_table.checked = false;
	if (relid == InvalidOid || relid == audit_seal_table.relid)
		audit_seal_table.checked = false;
}

/*
 * The table and its column numbers, looked up by name again only after a
 * relation cache invalidation of the table (dropped, altered, made again
 * by a new CREATE EXTENSION): every audit row would pay the lookups.
 */
static DirectTable *
direct_table(DirectTable *t, const char *relname, const char *const *cols, int ncols)
{
	Oid			relid;

	if (t->checked && OidIsValid(t->relid))
		return t;
	if (!direct_callback)
	{
		CacheRegisterRelcacheCallback(direct_tables_invalidate, (Datum) 0);
		direct_callback = true;
	}
	/* set only once all is looked up; an invalidation meanwhile clears "checked" */
	t->relid = InvalidOid;
	t->checked = true;
	relid = cobranca_relid(relname);
	for (int i = 0; i < ncols; i++)
	{
		AttrNumber	a = get_attnum(relid, cols[i]);

		if (a == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column %s of cobranca.%s does not exist", cols[i], relname)));
		t->attnum[i] = a;
	}
	t->idseq = strcmp(cols[0], "id") == 0 ? getIdentitySequence(relid, t->attnum[0], false) : InvalidOid;
	t->leaf_relid = InvalidOid;
	t->relid = relid;
	return t;
}

/*
 * A table partitioned by range on one column (audit_log, by month of
 * logged_at): the partition that takes a row, found as the executor's
 * tuple routing finds it (binary search of the range bounds, else the
 * default partition).
 */
static Oid
range_partition_for(DirectTable *t, Relation rel, int ncols, Datum *vals, bool *nulls)
{
	PartitionKey key = RelationGetPartitionKey(rel);
	PartitionDesc pd = RelationGetPartitionDesc(rel, true);
	PartitionBoundInfo bi = pd->boundinfo;
	int			part = -1;
	int			col = -1;

	if (key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table %s is not partitioned by range of one column",
						RelationGetRelationName(rel))));
	for (int i = 0; i < ncols; i++)
		if (t->attnum[i] == key->partattrs[0])
			col = i;
	if (bi != NULL && col >= 0 && !nulls[col] && bi->ndatums > 0)
	{
		bool		equal;
		int			off = partition_range_datum_bsearch(key->partsupfunc, key->partcollation,
														bi, 1, &vals[col], &equal);

		part = bi->indexes[off + 1];
	}
	if (part < 0 && bi != NULL && partition_bound_has_default(bi))
		part = bi->default_index;
	if (part < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("no partition of relation \"%s\" found for row",
						RelationGetRelationName(rel)),
				 errhint("The job maintain_partitions makes the monthly partitions; the default partition takes any other row.")));
	return pd->oids[part];
}

/*
 * The partition of a row, opened; its column numbers in t->leaf_attnum.
 * Locking the partition may have waited for a concurrent ATTACH (the job
 * making a month whose rows were going to the default partition): the
 * row is routed again after the lock, until the route is stable.
 */
static Relation
direct_partition(DirectTable *t, Relation rel, int ncols, Datum *vals, bool *nulls)
{
	Oid			target = range_partition_for(t, rel, ncols, vals, nulls);
	Relation	leaf;

	for (;;)
	{
		PartitionDesc before = RelationGetPartitionDesc(rel, true);
		Oid			again;

		leaf = table_open(target, RowExclusiveLock);
		/* the descriptor is rebuilt only when the partitions changed */
		if (RelationGetPartitionDesc(rel, true) == before)
			break;
		again = range_partition_for(t, rel, ncols, vals, nulls);
		if (again == target)
			break;
		table_close(leaf, RowExclusiveLock);
		target = again;
	}
	if (leaf->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("partition %s of %s is not a plain table",
						RelationGetRelationName(leaf), RelationGetRelationName(rel))));
	if (t->leaf_relid != RelationGetRelid(leaf))
	{
		/* a partition attached from another table may number its columns otherwise */
		for (int i = 0; i < ncols; i++)
		{
			char	   *name = get_attname(t->relid, t->attnum[i], false);

			t->leaf_attnum[i] = get_attnum(RelationGetRelid(leaf), name);
			if (t->leaf_attnum[i] == InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column %s of partition %s does not exist",
								name, RelationGetRelationName(leaf))));
		}
		t->leaf_relid = RelationGetRelid(leaf);
	}
	return leaf;
}

/*
 * The indexes of the partition audit rows go to, ready for insertion, kept
 * for the backend: CatalogTupleInsert would look them up, build their
 * descriptions and take and release their locks again at every row, which
 * cost a domain write about a quarter of its audit row.  Each row still
 * opens them, under the lock the executor takes and keeps to the end of
 * the transaction; no relation stays open between rows.  Any relation
 * cache invalidation of the table or of one of its indexes (a new index, a
 * dropped one, an index made ready: each reaches this backend before it
 * has locked the table again) makes them be built again.
 */
#define LEAF_MAX_INDEXES	8

typedef struct LeafIndexes
{
	bool		valid;
	Oid			relid;			/* the partition */
	MemoryContext mcxt;			/* holds info and what the access methods keep */
	int			n;
	Oid			oids[LEAF_MAX_INDEXES];
	IndexInfo  *info[LEAF_MAX_INDEXES];
} LeafIndexes;

static LeafIndexes leaf_indexes;
static bool leaf_indexes_callback = false;

static void
leaf_indexes_invalidate(Datum arg, Oid relid)
{
	if (!leaf_indexes.valid)
		return;
	if (relid == InvalidOid || relid == leaf_indexes.relid)
		leaf_indexes.valid = false;
	for (int i = 0; i < leaf_indexes.n; i++)
		if (relid == leaf_indexes.oids[i])
			leaf_indexes.valid = false;
}

/*
 * The indexes of rel, or NULL when CatalogTupleInsert must do it (too many
 * indexes, or one on an expression, with a predicate or an exclusion
 * constraint, which it does not support either).  rel is locked.
 */
static LeafIndexes *
leaf_indexes_for(Relation rel)
{
	LeafIndexes *li = &leaf_indexes;
	List	   *oids;
	ListCell   *lc;
	MemoryContext old;

	if (li->valid && li->relid == RelationGetRelid(rel))
		return li;
	if (!leaf_indexes_callback)
	{
		CacheRegisterRelcacheCallback(leaf_indexes_invalidate, (Datum) 0);
		leaf_indexes_callback = true;
	}
	li->valid = false;
	li->n = 0;
	if (li->mcxt != NULL)
		MemoryContextDelete(li->mcxt);
	li->mcxt = NULL;
	oids = RelationGetIndexList(rel);
	if (list_length(oids) > LEAF_MAX_INDEXES)
	{
		list_free(oids);
		return NULL;
	}
	li->mcxt = AllocSetContextCreate(CacheMemoryContext, "cobranca audit indexes",
									 ALLOCSET_SMALL_SIZES);
	li->relid = RelationGetRelid(rel);
	li->valid = true;			/* an invalidation while building clears it */
	old = MemoryContextSwitchTo(li->mcxt);
	PG_TRY();
	{
		foreach(lc, oids)
		{
			Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);
			IndexInfo  *info = BuildIndexInfo(idx);

			index_close(idx, NoLock);
			if (info->ii_Expressions != NIL || info->ii_Predicate != NIL ||
				info->ii_ExclusionOps != NULL)
			{
				li->valid = false;
				break;
			}
			li->oids[li->n] = lfirst_oid(lc);
			li->info[li->n++] = info;
		}
	}
	PG_CATCH();
	{
		li->valid = false;		/* never a partial list */
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	list_free(oids);
	return li->valid ? li : NULL;
}

/* CatalogTupleInsert's work, with the indexes prepared beforehand */
static void
leaf_insert(Relation rel, HeapTuple tup)
{
	LeafIndexes *li = leaf_indexes_for(rel);
	TupleTableSlot *slot;

	if (li == NULL)
	{
		CatalogTupleInsert(rel, tup);
		return;
	}
	simple_heap_insert(rel, tup);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	ExecStoreHeapTuple(tup, slot, false);
	for (int i = 0; i < li->n; i++)
	{
		IndexInfo  *info = li->info[i];
		Relation	idx;
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		if (!info->ii_ReadyForInserts)
			continue;
		idx = index_open(li->oids[i], RowExclusiveLock);
		FormIndexDatum(info, slot, NULL, values, isnull);
		index_insert(idx, values, isnull, &tup->t_self, rel,
					 idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, info);
		index_close(idx, NoLock);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/* values/nulls are indexed by our column enum; the rest of the row is NULL */
static void
direct_insert(DirectTable *t, int ncols, Datum *vals, bool *nulls)
{
	Relation	rel = table_open(t->relid, RowExclusiveLock);
	Relation	target = rel;
	const AttrNumber *attnum = t->attnum;
	TupleDesc	desc;
	Datum	   *v;
	bool	   *n;
	HeapTuple	tup;

	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		target = direct_partition(t, rel, ncols, vals, nulls);
		attnum = t->leaf_attnum;
	}
	desc = RelationGetDescr(target);
	v = palloc0(sizeof(Datum) * desc->natts);
	n = palloc(sizeof(bool) * desc->natts);
	memset(n, true, sizeof(bool) * desc->natts);
	for (int i = 0; i < ncols; i++)
	{
		v[attnum[i] - 1] = vals[i];
		n[attnum[i] - 1] = nulls[i];
	}
	tup = heap_form_tuple(desc, v, n);
	leaf_insert(target, tup);
	heap_freetuple(tup);
	if (target != rel)
		table_close(target, NoLock);
	table_close(rel, NoLock);
}

static void
load_client_addr(void)
{
	LOCAL_FCINFO(fc, 0);
	Datum		d;

	InitFunctionCallInfoData(*fc, NULL, 0, InvalidOid, NULL, NULL);
	d = inet_client_addr(fc);
	client_addr_null = fc->isnull;
	if (!fc->isnull)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		client_addr_datum = datumCopy(d, false, -1);
		MemoryContextSwitchTo(old);
	}
	client_addr_done = true;
}

/*
 * Append one row to audit_log; returns its id.  Forces a transaction id
 * before drawing the row id, so that the seal's snapshot test is exact.
 */
int64
CobrancaAuditAppend(const char *table_name, const char *operation,
			 bool has_row, int64 row_id, bool has_creditor, int64 creditor_id,
			 Datum old_values, bool old_null, Datum new_values, bool new_null,
			 const char *reason)
{
	DirectTable *t = direct_table(&audit_log_table, "audit_log", audit_log_columns, AL_NCOLS);
	Datum		v[AL_NCOLS];
	bool		n[AL_NCOLS];
	FullTransactionId fxid = GetTopFullTransactionId();
	int64		id = nextval_internal(t->idseq, false);
	char	   *su = GetUserNameFromId(GetSessionUserId(), true);
	char	   *cu = GetUserNameFromId(GetUserId(), true);
	NameData	sun,
				cun,
				tn;

	if (!client_addr_done)
		load_client_addr();
	memset(n, false, sizeof(n));
	namestrcpy(&sun, su ? su : "?");
	namestrcpy(&cun, cu ? cu : "?");
	namestrcpy(&tn, table_name);
	v[AL_ID] = Int64GetDatum(id);
	v[AL_LOGGED_AT] = TimestampTzGetDatum(GetCurrentTimestamp());
	v[AL_TXID] = Int64GetDatum((int64) U64FromFullTransactionId(fxid));
	v[AL_SESSION_USER] = NameGetDatum(&sun);
	v[AL_CURRENT_USER] = NameGetDatum(&cun);
	if (application_name && application_name[0])
		v[AL_APPLICATION] = CStringGetTextDatum(application_name);
	else
		n[AL_APPLICATION] = true;
	v[AL_CLIENT_ADDR] = client_addr_datum;
	n[AL_CLIENT_ADDR] = client_addr_null;
	v[AL_TABLE] = NameGetDatum(&tn);
	v[AL_OPERATION] = CStringGetTextDatum(operation);
	v[AL_ROW_ID] = Int64GetDatum(row_id);
	n[AL_ROW_ID] = !has_row;
	v[AL_CREDITOR_ID] = Int64GetDatum(creditor_id);
	n[AL_CREDITOR_ID] = !has_creditor;
	v[AL_OLD] = old_values;
	n[AL_OLD] = old_null;
	v[AL_NEW] = new_values;
	n[AL_NEW] = new_null;
	if (reason)
		v[AL_REASON] = CStringGetTextDatum(reason);
	else
		n[AL_REASON] = true;
	direct_insert(t, AL_NCOLS, v, n);
	return id;
}

/* ---------------------------------------------------------------------
 * The capture trigger.
 * ---------------------------------------------------------------------
 */

typedef enum JsonKind
{
	JK_SKIP, JK_NUMBER, JK_BOOL, JK_JSON, JK_STRING
} JsonKind;

typedef struct CaptureCache
{
	Oid			relid;			/* hash key */
	bool		valid;			/* false once the relation's definition may have changed */
	int			natts;
	AttrNumber	id_att;
	AttrNumber	creditor_att;
	NameData	table_name;		/* the table's, or for a partition its root's */
	MemoryContext mcxt;			/* holds kind, out and what the output functions keep */
	JsonKind   *kind;
	FmgrInfo   *out;
	bool		has_json;		/* a json or jsonb column: rows built with pushJsonbValue */
	int			norder;
	int		   *order;			/* the logged columns in jsonb key order */
} CaptureCache;

/*
 * What the capture needs of each table (column kinds, output functions) is
 * worked out once per backend and table, and dropped when the relation
 * cache says the table changed.
 */
static HTAB *capture_caches = NULL;

static void
capture_cache_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS st;
	CaptureCache *c;

	if (capture_caches == NULL)
		return;
	hash_seq_init(&st, capture_caches);
	while ((c = hash_seq_search(&st)) != NULL)
		if (relid == InvalidOid || c->relid == relid)
			c->valid = false;
}

static bool
redacted_column(const char *name)
{
	return strcmp(name, "document_cipher") == 0 || strcmp(name, "document_digest") == 0;
}

/* jsonb's order of object keys: shorter first, then bytewise */
static int
jsonb_key_cmp(const void *a, const void *b, void *arg)
{
	TupleDesc	desc = (TupleDesc) arg;
	const char *na = NameStr(TupleDescAttr(desc, *(const int *) a)->attname);
	const char *nb = NameStr(TupleDescAttr(desc, *(const int *) b)->attname);
	size_t		la = strlen(na);
	size_t		lb = strlen(nb);

	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(na, nb, la);
}

static CaptureCache *
capture_cache(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	CaptureCache *c;
	bool		found;
	MemoryContext mcxt;

	if (capture_caches == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CaptureCache);
		ctl.hcxt = CacheMemoryContext;
		capture_caches = hash_create("cobranca audit capture", 32, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(capture_cache_invalidate, (Datum) 0);
	}
	c = hash_search(capture_caches, &relid, HASH_ENTER, &found);
	if (found && c->valid && c->natts == desc->natts)
		return c;
	if (found && c->mcxt != NULL)
		MemoryContextDelete(c->mcxt);
	/* a failure below leaves an entry that the next call builds again */
	c->valid = false;
	c->mcxt = NULL;
	mcxt = AllocSetContextCreate(CacheMemoryContext, "cobranca audit capture table",
								 ALLOCSET_SMALL_SIZES);
	c->mcxt = mcxt;
	c->natts = desc->natts;
	c->id_att = 0;
	c->creditor_att = 0;
	/* a row of a partition is a row of its table */
	namestrcpy(&c->table_name, RelationGetRelationName(rel));
	if (rel->rd_rel->relispartition)
	{
		char	   *root = get_rel_name(llast_oid(get_partition_ancestors(relid)));

		if (root != NULL)
			namestrcpy(&c->table_name, root);
	}
	c->kind = MemoryContextAllocZero(mcxt, sizeof(JsonKind) * desc->natts);
	c->out = MemoryContextAllocZero(mcxt, sizeof(FmgrInfo) * desc->natts);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Oid			outfn;
		bool		varlena;

		if (att->attisdropped || redacted_column(NameStr(att->attname)))
		{
			c->kind[i] = JK_SKIP;
			continue;
		}
		if (strcmp(NameStr(att->attname), "id") == 0 && att->atttypid == INT8OID)
			c->id_att = i + 1;
		if (strcmp(NameStr(att->attname), "creditor_id") == 0 && att->atttypid == INT8OID)
			c->creditor_att = i + 1;
		switch (att->atttypid)
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case OIDOID:
			case FLOAT4OID:
			case FLOAT8OID:
			case NUMERICOID:
				c->kind[i] = JK_NUMBER;
				break;
			case BOOLOID:
				c->kind[i] = JK_BOOL;
				break;
			case JSONOID:
			case JSONBOID:
				c->kind[i] = JK_JSON;
				break;
			default:
				c->kind[i] = JK_STRING;
				break;
		}
		getTypeOutputInfo(att->atttypid, &outfn, &varlena);
		fmgr_info_cxt(outfn, &c->out[i], mcxt);
	}
	/* the creditor table is its own tenant */
	if (c->creditor_att == 0 && strcmp(RelationGetRelationName(rel), "creditor") == 0)
		c->creditor_att = c->id_att;
	/* the logged columns sorted as a jsonb object orders its keys */
	c->has_json = false;
	c->norder = 0;
	c->order = MemoryContextAlloc(mcxt, sizeof(int) * Max(desc->natts, 1));
	for (int i = 0; i < desc->natts; i++)
	{
		if (c->kind[i] == JK_SKIP)
			continue;
		if (c->kind[i] == JK_JSON)
			c->has_json = true;
		c->order[c->norder++] = i;
	}
	qsort_arg(c->order, c->norder, sizeof(int), jsonb_key_cmp, desc);
	c->valid = true;
	return c;
}

/* one column's value as a jsonb value (numbers stay numbers) */
static void
column_jsonb_value(CaptureCache *c, int i, Oid typid, Datum d, JsonbValue *v)
{
	switch (c->kind[i])
	{
		case JK_NUMBER:
			v->type = jbvNumeric;
			switch (typid)
			{
				case INT2OID:
					v->val.numeric = int64_to_numeric(DatumGetInt16(d));
					return;
				case INT4OID:
					v->val.numeric = int64_to_numeric(DatumGetInt32(d));
					return;
				case INT8OID:
					v->val.numeric = int64_to_numeric(DatumGetInt64(d));
					return;
				case OIDOID:
					v->val.numeric = int64_to_numeric((int64) DatumGetObjectId(d));
					return;
				case NUMERICOID:
					if (!numeric_is_nan(DatumGetNumeric(d)) && !numeric_is_inf(DatumGetNumeric(d)))
					{
						v->val.numeric = DatumGetNumeric(d);
						return;
					}
					break;
				case FLOAT4OID:
				case FLOAT8OID:
					{
						float8		f = typid == FLOAT4OID ? DatumGetFloat4(d) : DatumGetFloat8(d);

						if (!isnan(f) && !isinf(f))
						{
							v->val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric,
																				 Float8GetDatum(f)));
							return;
						}
					}
					break;
			}
			break;				/* NaN and infinities are written as strings */
		case JK_BOOL:
			v->type = jbvBool;
			v->val.boolean = DatumGetBool(d);
			return;
		case JK_JSON:
			{
				Jsonb	   *jb = typid == JSONBOID ? DatumGetJsonbP(d) :
				DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
												   CStringGetDatum(OutputFunctionCall(&c->out[i], d))));

				v->type = jbvBinary;
				v->val.binary.data = &jb->root;
				v->val.binary.len = VARSIZE(jb) - VARHDRSZ;
				return;
			}
		default:
			break;
	}
	v->type = jbvString;
	v->val.string.val = OutputFunctionCall(&c->out[i], d);
	v->val.string.len = strlen(v->val.string.val);
}

/* column i holds the same value in the old and the new row */
static inline bool
column_unchanged(Form_pg_attribute att, Datum *vals, bool *nulls,
				 Datum *ovals, bool *onulls, int i)
{
	if (nulls[i] || onulls[i])
		return nulls[i] && onulls[i];
	return datumIsEqual(vals[i], ovals[i], att->attbyval, att->attlen);
}

/*
 * The row (or, with "other", only the columns that differ from it) as a
 * jsonb object, built directly (no text round trip).  Rows come deformed.
 */
static Datum
row_to_jsonb(CaptureCache *c, TupleDesc desc, Datum *vals, bool *nulls,
			 Datum *ovals, bool *onulls)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	/*
	 * Without nested json values the object is assembled with its keys
	 * already in order: the same jsonb as pushJsonbValue makes, without
	 * sorting the keys of every row again.
	 */
	if (!c->has_json)
	{
		JsonbValue	obj;
		JsonbPair  *pairs = palloc(sizeof(JsonbPair) * Max(c->norder, 1));
		int			k = 0;

		for (int j = 0; j < c->norder; j++)
		{
			int			i = c->order[j];
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (ovals != NULL && column_unchanged(att, vals, nulls, ovals, onulls, i))
				continue;
			pairs[k].key.type = jbvString;
			pairs[k].key.val.string.val = NameStr(att->attname);
			pairs[k].key.val.string.len = strlen(NameStr(att->attname));
			if (nulls[i])
				pairs[k].value.type = jbvNull;
			else
				column_jsonb_value(c, i, att->atttypid, vals[i], &pairs[k].value);
			pairs[k].order = k;
			k++;
		}
		obj.type = jbvObject;
		obj.val.object.nPairs = k;
		obj.val.object.pairs = pairs;
		return JsonbPGetDatum(JsonbValueToJsonb(&obj));
	}

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		JsonbValue	k,
					v;

		if (c->kind[i] == JK_SKIP)
			continue;
		if (ovals != NULL && column_unchanged(att, vals, nulls, ovals, onulls, i))
			continue;
		k.type = jbvString;
		k.val.string.val = NameStr(att->attname);
		k.val.string.len = strlen(NameStr(att->attname));
		pushJsonbValue(&state, WJB_KEY, &k);
		if (nulls[i])
			v.type = jbvNull;
		else
			column_jsonb_value(c, i, att->atttypid, vals[i], &v);
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

static bool
get_int8_att(HeapTuple tup, TupleDesc desc, AttrNumber att, int64 *out)
{
	bool		isnull;
	Datum		d;

	if (att == 0 || tup == NULL)
		return false;
	d = heap_getattr(tup, att, desc, &isnull);
	if (isnull)
		return false;
	*out = DatumGetInt64(d);
	return true;
}

PG_FUNCTION_INFO_V1(cobranca_audit_capture);

/* audit_capture(): AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW */
Datum
cobranca_audit_capture(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	CaptureCache *c;
	HeapTuple	oldt = NULL,
				newt = NULL;
	const char *op;
	Datum		oldj = (Datum) 0,
				newj = (Datum) 0;
	int64		row_id = 0,
				creditor_id = 0;
	bool		has_row,
				has_creditor;
	Datum	   *newv = NULL,
			   *oldv = NULL;
	bool	   *newn = NULL,
			   *oldn = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cobranca.audit_capture() must be fired AFTER ... FOR EACH ROW")));

	/*
	 * A restore (pg_dump's output sets row_security off, which only a role
	 * that bypasses row-level security may use to write) brings back rows
	 * whose history is already in the restored audit_log: not logged again.
	 */
	if (!row_security && (superuser() || has_bypassrls_privilege(GetUserId())))
		return PointerGetDatum(NULL);

	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	c = capture_cache(rel);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		op = "INSERT";
		newt = td->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		op = "UPDATE";
		oldt = td->tg_trigtuple;
		newt = td->tg_newtuple;
	}
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		op = "DELETE";
		oldt = td->tg_trigtuple;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cobranca.audit_capture() fires on INSERT, UPDATE or DELETE only")));

	/* each row is deformed once (getting columns one by one costs O(n²)) */
	if (newt != NULL)
	{
		newv = palloc(sizeof(Datum) * desc->natts);
		newn = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(newt, desc, newv, newn);
	}
	if (oldt != NULL)
	{
		oldv = palloc(sizeof(Datum) * desc->natts);
		oldn = palloc(sizeof(bool) * desc->natts);
		heap_deform_tuple(oldt, desc, oldv, oldn);
	}
	if (newt != NULL)
		newj = row_to_jsonb(c, desc, newv, newn, oldv, oldn);
	if (oldt != NULL)
		oldj = row_to_jsonb(c, desc, oldv, oldn, newv, newn);

	has_row = get_int8_att(newt ? newt : oldt, desc, c->id_att, &row_id);
	has_creditor = get_int8_att(newt ? newt : oldt, desc, c->creditor_att, &creditor_id);
	(void) CobrancaAuditAppend(NameStr(c->table_name), op, has_row, row_id,
						has_creditor, creditor_id,
						oldj, oldt == NULL, newj, newt == NULL, NULL);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(cobranca_audit_note);

/*
 * audit_note(table_name, operation, row_id, creditor_id, reason, detail jsonb)
 * → bigint: an audit row for something that is not a row change, such as a
 * document shown by reveal_document().  Not executable by the roles.
 */
Datum
cobranca_audit_note(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("audit_note needs a table name and an operation")));
	PG_RETURN_INT64(CobrancaAuditAppend(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								 text_to_cstring(PG_GETARG_TEXT_PP(1)),
								 !PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2),
								 !PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3),
								 (Datum) 0, true,
								 PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5), PG_ARGISNULL(5),
								 PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4))));
}

PG_FUNCTION_INFO_V1(cobranca_audit_refuse);

/* audit_refuse(): BEFORE UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement) */
Datum
cobranca_audit_refuse(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const char *what;
	const char *relname;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cobranca.audit_refuse() must be fired as a trigger")));
	if (purge_in_progress && TRIGGER_FIRED_BY_DELETE(td->tg_event) &&
		TRIGGER_FIRED_FOR_ROW(td->tg_event))
		return PointerGetDatum(td->tg_trigtuple);
	what = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? "UPDATE" :
		TRIGGER_FIRED_BY_DELETE(td->tg_event) ? "DELETE" : "TRUNCATE";
	/* a partition is refused as its table */
	relname = RelationGetRelationName(td->tg_relation);
	if (td->tg_relation->rd_rel->relispartition)
		relname = get_rel_name(llast_oid(get_partition_ancestors(RelationGetRelid(td->tg_relation))));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("cobranca.%s is append-only: %s is refused", relname, what),
			 errdetail("Audit rows are never changed or removed, by any role, the owner included."),
			 errhint("Old sealed rows are removed only by the retention purge (cobranca.audit_purge)."),
			 errtableconstraint(td->tg_relation, "append_only")));
	return PointerGetDatum(NULL);	/* keep compiler quiet */
}

/* ---------------------------------------------------------------------
 * The hash chain.
 * ---------------------------------------------------------------------
 */

/*
 * The output functions of the audit_log column types, looked up once per
 * backend (dropped when a type or a function changes).
 */
typedef struct OutputFn
{
	Oid			typid;
	FmgrInfo	fn;
} OutputFn;

static OutputFn output_fns[32];
static int	n_output_fns = 0;
static bool output_fns_callbacks = false;

static void
output_fns_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	n_output_fns = 0;
}

static FmgrInfo *
output_fn(Oid typid)
{
	Oid			outfn;
	bool		varlena;

	for (int i = 0; i < n_output_fns; i++)
		if (output_fns[i].typid == typid)
			return &output_fns[i].fn;
	if (!output_fns_callbacks)
	{
		CacheRegisterSyscacheCallback(TYPEOID, output_fns_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, output_fns_invalidate, (Datum) 0);
		output_fns_callbacks = true;
	}
	if (n_output_fns == lengthof(output_fns))
		n_output_fns = 0;
	getTypeOutputInfo(typid, &outfn, &varlena);
	fmgr_info_cxt(outfn, &output_fns[n_output_fns].fn, TopMemoryContext);
	output_fns[n_output_fns].typid = typid;
	return &output_fns[n_output_fns++].fn;
}

static void
append_be(StringInfo buf, uint64 v, int bytes)
{
	char		b[8];

	for (int i = bytes - 1; i >= 0; i--)
		b[bytes - 1 - i] = (char) ((v >> (8 * i)) & 0xFF);
	appendBinaryStringInfo(buf, b, bytes);
}

/*
 * SHA-256 over the label, the chain, the position, the previous hash and
 * the row's non-null columns as name, length and canonical value (time
 * stamps as microseconds, others by their output function, which for the
 * column types of audit_log does not depend on any setting).  NULL columns
 * are left out, so that a column added later leaves old hashes valid.  The
 * message is assembled in memory and digested at once.
 */
static void
hash_audit_row(int64 chain_id, int64 seq, const uint8 *prev, HeapTupleHeader row,
			   uint8 *out)
{
	Oid			typid = HeapTupleHeaderGetTypeId(row);
	int32		typmod = HeapTupleHeaderGetTypMod(row);
	TupleDesc	desc = lookup_rowtype_tupdesc(typid, typmod);
	HeapTupleData tup;
	Datum	   *vals = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	StringInfoData buf;
	static const char label[] = "cobranca audit v1";

	tup.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tup.t_self);
	tup.t_tableOid = InvalidOid;
	tup.t_data = row;
	heap_deform_tuple(&tup, desc, vals, nulls);

	initStringInfo(&buf);
	enlargeStringInfo(&buf, 2048);
	appendBinaryStringInfo(&buf, label, sizeof(label));
	append_be(&buf, (uint64) chain_id, 8);
	append_be(&buf, (uint64) seq, 8);
	appendBinaryStringInfo(&buf, (const char *) prev, COBRANCA_SHA256_LEN);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		char		num[MAXINT8LEN + 1];
		char	   *s;
		uint32		len;

		if (att->attisdropped || nulls[i])
			continue;
		switch (att->atttypid)
		{
			case TIMESTAMPTZOID:
			case TIMESTAMPOID:
				len = pg_lltoa(DatumGetInt64(vals[i]), num);
				s = num;
				break;
			case DATEOID:
				len = pg_ltoa(DatumGetInt32(vals[i]), num);
				s = num;
				break;
			default:
				s = OutputFunctionCall(output_fn(att->atttypid), vals[i]);
				len = strlen(s);
		}
		appendBinaryStringInfo(&buf, NameStr(att->attname), strlen(NameStr(att->attname)) + 1);
		append_be(&buf, len, 4);
		appendBinaryStringInfo(&buf, s, len);
	}
	CobrancaSha256(buf.data, buf.len, out);
	pfree(buf.data);
	ReleaseTupleDesc(desc);
	pfree(vals);
	pfree(nulls);
}

/*
 * The audit_seal rows of one seal call are inserted with the table and its
 * indexes opened once for all of them (a partitioned audit_seal goes row
 * by row through direct_insert).
 */
typedef struct SealWriter
{
	Relation	rel;
	CatalogIndexState ind;
} SealWriter;

static void
seal_writer_open(SealWriter *w, DirectTable *t)
{
	w->rel = table_open(t->relid, RowExclusiveLock);
	w->ind = NULL;
	if (w->rel->rd_rel->relkind != RELKIND_RELATION)
	{
		table_close(w->rel, NoLock);
		w->rel = NULL;
		return;
	}
	w->ind = CatalogOpenIndexes(w->rel);
}

static void
seal_writer_insert(SealWriter *w, DirectTable *t, Datum *vals, bool *nulls)
{
	TupleDesc	desc;
	Datum	   *v;
	bool	   *n;
	HeapTuple	tup;

	if (w->rel == NULL)
	{
		direct_insert(t, AS_NCOLS, vals, nulls);
		return;
	}
	desc = RelationGetDescr(w->rel);
	v = palloc0(sizeof(Datum) * desc->natts);
	n = palloc(sizeof(bool) * desc->natts);
	memset(n, true, sizeof(bool) * desc->natts);
	for (int i = 0; i < AS_NCOLS; i++)
	{
		v[t->attnum[i] - 1] = vals[i];
		n[t->attnum[i] - 1] = nulls[i];
	}
	tup = heap_form_tuple(desc, v, n);
	CatalogTupleInsertWithInfo(w->rel, tup, w->ind);
	heap_freetuple(tup);
}

static void
seal_writer_close(SealWriter *w)
{
	if (w->rel == NULL)
		return;
	CatalogCloseIndexes(w->ind);
	table_close(w->rel, NoLock);
}

/* rows sealed by one call at most, so that a backlog never makes one huge transaction */
#define SEAL_MAX_ROWS	100000

typedef struct ChainHead
{
	int64		chain_id;
	int64		seq;
	uint8		hash[COBRANCA_SHA256_LEN];
} ChainHead;

static bytea *
hash_bytea(const uint8 *h)
{
	bytea	   *b = palloc(VARHDRSZ + COBRANCA_SHA256_LEN);

	SET_VARSIZE(b, VARHDRSZ + COBRANCA_SHA256_LEN);
	memcpy(VARDATA(b), h, COBRANCA_SHA256_LEN);
	return b;
}

static void
copy_hash(Datum d, uint8 *out, const char *what)
{
	bytea	   *b = DatumGetByteaPP(d);

	if (VARSIZE_ANY_EXHDR(b) != COBRANCA_SHA256_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("malformed %s in cobranca.audit_seal", what)));
	memcpy(out, VARDATA_ANY(b), COBRANCA_SHA256_LEN);
}

static ChainHead *
chain_head(HTAB *heads, SPIPlanPtr head_plan, int64 chain_id)
{
	bool		found;
	ChainHead  *h = hash_search(heads, &chain_id, HASH_ENTER, &found);

	if (!found)
	{
		Datum		arg = Int64GetDatum(chain_id);

		h->seq = 0;
		memset(h->hash, 0, COBRANCA_SHA256_LEN);
		if (SPI_execute_plan(head_plan, &arg, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the head of an audit chain");
		if (SPI_processed == 1)
		{
			bool		n1,
						n2;

			h->seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &n1));
			copy_hash(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &n2),
					  h->hash, "hash");
		}
		SPI_freetuptable(SPI_tuptable);
	}
	return h;
}

/*
 * Which of the pending rows are sealed already.  The pending rows are those
 * of transactions the last seal did not see committed; some of them may
 * have been sealed all the same: by a seal that stopped at SEAL_MAX_ROWS
 * (it keeps the older snapshot), or, for rows a transaction wrote before
 * calling audit_seal(), by that very call.  They are the seals at or above
 * the smallest pending id, found by the primary key of audit_seal: few in
 * the usual case, where a join would have read every seal of every chain
 * or probed the index once per row.  Past SEAL_SET_MAX of them (a backlog,
 * a restored database whose seal state starts over) each row is looked up
 * on its own instead.
 */
#define SEAL_SET_MAX	200000

typedef struct SealedSet
{
	bool		built;
	HTAB	   *ids;			/* NULL: look each row up with probe */
	SPIPlanPtr	probe;
} SealedSet;

static void
sealed_since(SealedSet *set, int64 min_id)
{
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(min_id);
	HASHCTL		ctl;

	set->built = true;
	if (SPI_execute_with_args("SELECT s.audit_id FROM cobranca.audit_seal s WHERE s.audit_id >= $1",
							  1, &argtype, &arg, NULL, false, SEAL_SET_MAX + 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read cobranca.audit_seal");
	if (SPI_processed > SEAL_SET_MAX)
	{
		SPI_freetuptable(SPI_tuptable);
		set->probe = SPI_prepare("SELECT 1 FROM cobranca.audit_seal s WHERE s.audit_id = $1", 1, &argtype);
		if (set->probe == NULL)
			elog(ERROR, "could not prepare the audit_seal lookup");
		return;
	}
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(int64);
	ctl.hcxt = CurrentMemoryContext;
	set->ids = hash_create("cobranca sealed audit ids", Max(SPI_processed, 16), &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		(void) hash_search(set->ids, &id, HASH_ENTER, NULL);
	}
	SPI_freetuptable(SPI_tuptable);
}

static bool
already_sealed(SealedSet *set, int64 audit_id)
{
	Datum		arg = Int64GetDatum(audit_id);
	bool		found;

	if (set->ids != NULL)
		return hash_search(set->ids, &audit_id, HASH_FIND, NULL) != NULL;
	if (SPI_execute_plan(set->probe, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up cobranca.audit_seal");
	found = SPI_processed > 0;
	SPI_freetuptable(SPI_tuptable);
	return found;
}

PG_FUNCTION_INFO_V1(cobranca_audit_seal);

/*
 * audit_seal() → bigint: seal the audit rows committed since the last seal
 * into their creditor's chain; returns how many.  Sealers wait for one
 * another (a row lock on audit_seal_state); writers never wait for them.
 */
Datum
cobranca_audit_seal(PG_FUNCTION_ARGS)
{
	DirectTable *seal = direct_table(&audit_seal_table, "audit_seal", audit_seal_columns, AS_NCOLS);
	HASHCTL		ctl;
	HTAB	   *heads;
	SPIPlanPtr	head_plan;
	Oid			argtype = INT8OID;
	Portal		portal;
	Datum		snapshot;
	int64		sealed = 0;
	bool		complete = true;
	MemoryContext rowcxt;
	TimestampTz now = GetCurrentTimestamp();
	SealWriter	writer;
	SealedSet	already;

	SPI_connect();
	if (SPI_execute("SELECT last_snapshot FROM cobranca.audit_seal_state FOR UPDATE", false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cobranca.audit_seal_state must hold exactly one row")));
	/*
	 * The snapshot this seal starts from: the next seal skips what it shows
	 * as committed.  A snapshot counts its own transaction as visible, but
	 * rows this transaction writes after the seal are not sealed now: it is
	 * added to the in-progress list, so that the next seal takes them.
	 */
	if (SPI_execute("SELECT CASE WHEN q.x IS NULL OR NOT pg_catalog.pg_visible_in_snapshot(q.x, q.s) THEN q.s "
					"ELSE (LEAST(pg_catalog.pg_snapshot_xmin(q.s), q.x)::text || ':' || "
					"      pg_catalog.pg_snapshot_xmax(q.s)::text || ':' || "
					"      (SELECT pg_catalog.string_agg(u.v::text, ',' ORDER BY u.v) "
					"         FROM (SELECT pg_catalog.pg_snapshot_xip(q.s) AS v UNION SELECT q.x) u))::pg_catalog.pg_snapshot "
					"END "
					"FROM (SELECT pg_catalog.pg_current_snapshot() AS s, pg_catalog.pg_current_xact_id_if_assigned() AS x) q",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not take a snapshot");
	{
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		snapshot = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		snapshot = datumCopy(snapshot, false, -1);
		MemoryContextSwitchTo(old);
	}

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(ChainHead);
	ctl.hcxt = CurrentMemoryContext;
	heads = hash_create("cobranca audit chain heads", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	head_plan = SPI_prepare("SELECT seq, hash FROM cobranca.audit_seal WHERE chain_id = $1 "
							"ORDER BY seq DESC LIMIT 1", 1, &argtype);
	if (head_plan == NULL)
		elog(ERROR, "could not prepare the chain head query");

	/*
	 * Rows of transactions the last seal did not see committed: not visible
	 * in its snapshot, i.e. (as pg_visible_in_snapshot decides) at or after
	 * its xmax, or in its list of transactions in progress.  The snapshot is
	 * taken apart once here, so that each row is tested with integer
	 * comparisons (the BRIN index on txid serves the lower bound).
	 */
	{
		Oid			types[3] = {INT8OID, INT8OID, INT8ARRAYOID};
		Datum		args[3];
		bool		isnull[3];

		if (SPI_execute("SELECT pg_catalog.pg_snapshot_xmin(last_snapshot)::text::bigint, "
						"pg_catalog.pg_snapshot_xmax(last_snapshot)::text::bigint, "
						"ARRAY(SELECT pg_catalog.pg_snapshot_xip(last_snapshot)::text::bigint) "
						"FROM cobranca.audit_seal_state", false, 0) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read cobranca.audit_seal_state");
		for (int i = 0; i < 3; i++)
			args[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull[i]);
		if (isnull[0] || isnull[1] || isnull[2])
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cobranca.audit_seal_state.last_snapshot is null")));
		portal = SPI_cursor_open_with_args(NULL,
										   "SELECT a, COALESCE(a.creditor_id, 0), a.id "
										   "FROM cobranca.audit_log a "
										   "WHERE a.txid >= $1 "
										   "AND (a.txid >= $2 OR a.txid = ANY ($3)) "
										   "ORDER BY a.id",
										   3, types, args, NULL, false, 0);
	}
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "cobranca audit seal row", ALLOCSET_DEFAULT_SIZES);
	memset(&already, 0, sizeof(already));
	seal_writer_open(&writer, seal);
	for (;;)
	{
		SPITupleTable *tt;
		uint64		n;

		SPI_cursor_fetch(portal, true, 1000);
		tt = SPI_tuptable;
		n = SPI_processed;
		if (n == 0)
			break;
		if (!already.built)
		{
			bool		isnull;

			sealed_since(&already, DatumGetInt64(SPI_getbinval(tt->vals[0], tt->tupdesc, 3, &isnull)));
		}
		for (uint64 r = 0; r < n; r++)
		{
			bool		n1,
						n2,
						n3;
			HeapTupleHeader row;
			int64		chain_id;
			int64		audit_id = DatumGetInt64(SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &n3));
			ChainHead  *h;
			uint8		hash[COBRANCA_SHA256_LEN];
			Datum		v[AS_NCOLS];
			bool		nl[AS_NCOLS] = {false};
			MemoryContext old;

			if (already_sealed(&already, audit_id))
				continue;
			row = DatumGetHeapTupleHeader(SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &n1));
			chain_id = DatumGetInt64(SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &n2));
			h = chain_head(heads, head_plan, chain_id);
			old = MemoryContextSwitchTo(rowcxt);

			hash_audit_row(chain_id, h->seq + 1, h->hash, row, hash);
			v[AS_AUDIT_ID] = Int64GetDatum(audit_id);
			v[AS_CHAIN_ID] = Int64GetDatum(chain_id);
			v[AS_SEQ] = Int64GetDatum(h->seq + 1);
			v[AS_SEALED_AT] = TimestampTzGetDatum(now);
			v[AS_PREV_HASH] = PointerGetDatum(hash_bytea(h->hash));
			v[AS_HASH] = PointerGetDatum(hash_bytea(hash));
			seal_writer_insert(&writer, seal, v, nl);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
			h->seq++;
			memcpy(h->hash, hash, COBRANCA_SHA256_LEN);
			sealed++;
		}
		SPI_freetuptable(tt);
		if (sealed >= SEAL_MAX_ROWS)
		{
			complete = false;
			break;
		}
	}
	seal_writer_close(&writer);
	SPI_cursor_close(portal);

	{
		Oid			types[2] = {PG_SNAPSHOTOID, INT8OID};
		Datum		args[2] = {snapshot, Int64GetDatum(sealed)};

		/* a partial seal keeps the old snapshot: the next one goes on */
		if (SPI_execute_with_args(complete ?
								  "UPDATE cobranca.audit_seal_state SET last_snapshot = $1, "
								  "sealed_at = pg_catalog.clock_timestamp(), last_count = $2" :
								  "UPDATE cobranca.audit_seal_state SET "
								  "sealed_at = pg_catalog.clock_timestamp(), last_count = $2 WHERE $1 IS NOT NULL",
								  2, types, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update cobranca.audit_seal_state");
	}
	SPI_finish();
	PG_RETURN_INT64(sealed);
}

PG_FUNCTION_INFO_V1(cobranca_audit_verify);

/*
 * audit_verify() → (ok, checked, first_bad_id): recompute every chain from
 * its first kept row; first_bad_id is the smallest audit id at which a
 * chain breaks (row changed or removed, seal changed, position skipped) or
 * the smallest id of a row that the last seal should have sealed but did
 * not (a row slipped in behind the triggers).
 */
Datum
cobranca_audit_verify(PG_FUNCTION_ARGS)
{
	TupleDesc	rdesc;
	Datum		result[3];
	bool		rnull[3] = {false, false, true};
	int64		checked = 0;
	int64		first_bad = 0;
	bool		bad = false;
	int64		cur_chain = 0;
	int64		prev_seq = 0;
	bool		in_chain = false;
	uint8		prev_hash[COBRANCA_SHA256_LEN];
	Portal		portal;
	MemoryContext rowcxt;

	if (get_call_result_type(fcinfo, NULL, &rdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rdesc = BlessTupleDesc(rdesc);

	SPI_connect();
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "cobranca audit verify row", ALLOCSET_DEFAULT_SIZES);
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT s.chain_id, s.seq, s.prev_hash, s.hash, s.audit_id, a "
									   "FROM cobranca.audit_seal s LEFT JOIN cobranca.audit_log a ON a.id = s.audit_id "
									   "ORDER BY s.chain_id, s.seq",
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPITupleTable *tt;
		uint64		n;

		SPI_cursor_fetch(portal, true, 1000);
		tt = SPI_tuptable;
		n = SPI_processed;
		if (n == 0)
			break;
		for (uint64 r = 0; r < n; r++)
		{
			bool		nl[6];
			int64		chain_id = DatumGetInt64(SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &nl[0]));
			int64		seq = DatumGetInt64(SPI_getbinval(tt->vals[r], tt->tupdesc, 2, &nl[1]));
			Datum		prevd = SPI_getbinval(tt->vals[r], tt->tupdesc, 3, &nl[2]);
			Datum		hashd = SPI_getbinval(tt->vals[r], tt->tupdesc, 4, &nl[3]);
			int64		audit_id = DatumGetInt64(SPI_getbinval(tt->vals[r], tt->tupdesc, 5, &nl[4]));
			Datum		rowd = SPI_getbinval(tt->vals[r], tt->tupdesc, 6, &nl[5]);
			uint8		stored_prev[COBRANCA_SHA256_LEN];
			uint8		stored[COBRANCA_SHA256_LEN];
			uint8		computed[COBRANCA_SHA256_LEN];
			bool		row_ok = !nl[2] && !nl[3] && !nl[5];

			checked++;
			if (!in_chain || chain_id != cur_chain)
			{
				/* a chain starts at 1 from zeros, or after retention at its first kept row */
				in_chain = true;
				cur_chain = chain_id;
				if (!nl[2])
					copy_hash(prevd, prev_hash, "prev_hash");
				if (seq == 1)
					memset(prev_hash, 0, COBRANCA_SHA256_LEN);
				prev_seq = seq - 1;
			}
			if (row_ok)
			{
				MemoryContext old;

				copy_hash(prevd, stored_prev, "prev_hash");
				copy_hash(hashd, stored, "hash");
				old = MemoryContextSwitchTo(rowcxt);
				hash_audit_row(chain_id, seq, stored_prev,
							   DatumGetHeapTupleHeader(rowd), computed);
				MemoryContextSwitchTo(old);
				MemoryContextReset(rowcxt);
				row_ok = seq == prev_seq + 1 &&
					memcmp(stored_prev, prev_hash, COBRANCA_SHA256_LEN) == 0 &&
					memcmp(computed, stored, COBRANCA_SHA256_LEN) == 0;
				memcpy(prev_hash, stored, COBRANCA_SHA256_LEN);
			}
			prev_seq = seq;
			if (!row_ok && (!bad || audit_id < first_bad))
			{
				bad = true;
				first_bad = audit_id;
			}
		}
		SPI_freetuptable(tt);
	}
	SPI_cursor_close(portal);

	/* rows the last seal saw committed but that are in no chain */
	if (SPI_execute("SELECT pg_catalog.min(a.id) FROM cobranca.audit_log a, cobranca.audit_seal_state st "
					"WHERE pg_catalog.pg_visible_in_snapshot(a.txid::text::xid8, st.last_snapshot) "
					"AND NOT EXISTS (SELECT 1 FROM cobranca.audit_seal s WHERE s.audit_id = a.id)",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look for unsealed audit rows");
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull && (!bad || DatumGetInt64(d) < first_bad))
		{
			bad = true;
			first_bad = DatumGetInt64(d);
		}
	}
	SPI_finish();

	result[0] = BoolGetDatum(!bad);
	result[1] = Int64GetDatum(checked);
	if (bad)
	{
		result[2] = Int64GetDatum(first_bad);
		rnull[2] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(rdesc, result, rnull)));
}

PG_FUNCTION_INFO_V1(cobranca_audit_purge);

/*
 * audit_purge(before timestamptz) → bigint: remove audit rows logged before
 * "before" that are sealed, keeping each chain's newest row (the anchor of
 * the next seal) and every row of a creditor under legal hold
 * (cobranca.audit_hold).  Only a prefix of each chain goes, so the rest
 * still verifies from its first kept row.  Returns how many audit rows went.
 */
Datum
cobranca_audit_purge(PG_FUNCTION_ARGS)
{
	TimestampTz before = PG_GETARG_TIMESTAMPTZ(0);
	Oid			argtype = TIMESTAMPTZOID;
	Datum		arg = TimestampTzGetDatum(before);
	int64		n = 0;

	SPI_connect();
	PG_TRY();
	{
		purge_in_progress = true;
		/* per chain, the first seq that must stay */
		if (SPI_execute_with_args(
								  "CREATE TEMP TABLE IF NOT EXISTS cobranca_purge (chain_id bigint, keep_from bigint) ON COMMIT DROP",
								  0, NULL, NULL, NULL, false, 0) != SPI_OK_UTILITY ||
			SPI_execute_with_args(
								  "INSERT INTO cobranca_purge "
								  "SELECT s.chain_id, LEAST(pg_catalog.max(s.seq), "
								  "  COALESCE(pg_catalog.min(s.seq) FILTER (WHERE a.logged_at >= $1 OR a.id IS NULL), pg_catalog.max(s.seq))) "
								  "FROM cobranca.audit_seal s LEFT JOIN cobranca.audit_log a ON a.id = s.audit_id "
								  "WHERE NOT EXISTS (SELECT 1 FROM cobranca.audit_hold h "
								  "  WHERE (h.creditor_id IS NULL OR h.creditor_id = s.chain_id) "
								  "  AND (h.until IS NULL OR h.until >= CURRENT_DATE)) "
								  "GROUP BY s.chain_id",
								  1, &argtype, &arg, NULL, false, 0) != SPI_OK_INSERT ||
			SPI_execute("DELETE FROM cobranca.audit_log a USING cobranca.audit_seal s, cobranca_purge p "
						"WHERE s.audit_id = a.id AND p.chain_id = s.chain_id AND s.seq < p.keep_from",
						false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not purge cobranca.audit_log");
		n = SPI_processed;
		if (SPI_execute("DELETE FROM cobranca.audit_seal s USING cobranca_purge p "
						"WHERE p.chain_id = s.chain_id AND s.seq < p.keep_from",
						false, 0) != SPI_OK_DELETE ||
			SPI_execute("DROP TABLE cobranca_purge", false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not purge cobranca.audit_seal");
		purge_in_progress = false;
	}
	PG_FINALLY();
	{
		purge_in_progress = false;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64(n);
}

PG_FUNCTION_INFO_V1(cobranca_audit_archive_seals);

/*
 * audit_archive_seals(part regclass) → bigint: for a partition of audit_log
 * that cobranca.detach_partition() has just detached, copy the seals of its
 * rows into a new table <part>_seal beside it and remove them from
 * cobranca.audit_seal, so that the chains still verify from their first
 * kept row.  Refuses a table that is still a partition.  Returns how many.
 */
Datum
cobranca_audit_archive_seals(PG_FUNCTION_ARGS)
{
	Oid			part = PG_GETARG_OID(0);
	char	   *nsp;
	char	   *rel;
	char	   *seal;
	StringInfoData q;
	int64		n;

	if (get_rel_relkind(part) != RELKIND_RELATION || get_rel_relispartition(part) ||
		part == cobranca_relid("audit_seal"))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation %u is not a detached partition of cobranca.audit_log", part),
				 errhint("cobranca.detach_partition() archives the seals of the months it detaches.")));
	nsp = get_namespace_name(get_rel_namespace(part));
	rel = get_rel_name(part);
	seal = psprintf("%s_seal", rel);
	initStringInfo(&q);
	SPI_connect();
	PG_TRY();
	{
		purge_in_progress = true;
		appendStringInfo(&q, "CREATE TABLE %s AS SELECT s.* FROM cobranca.audit_seal s "
						 "WHERE s.audit_id IN (SELECT a.id FROM %s a) ORDER BY s.chain_id, s.seq",
						 quote_qualified_identifier(nsp, seal), quote_qualified_identifier(nsp, rel));
		if (SPI_execute(q.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not copy the seals of %s", rel);
		resetStringInfo(&q);
		appendStringInfo(&q, "DELETE FROM cobranca.audit_seal s USING %s a WHERE s.audit_id = a.id",
						 quote_qualified_identifier(nsp, rel));
		if (SPI_execute(q.data, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not remove the seals of %s", rel);
		n = SPI_processed;
		purge_in_progress = false;
	}
	PG_FINALLY();
	{
		purge_in_progress = false;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64(n);
}
