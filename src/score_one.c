/*-------------------------------------------------------------------------
 *
 * score_one.c
 *	  cobranca.payment_probability(invoice_id, as_of) and
 *	  cobranca.priority(invoice_id, as_of): one invoice's scores, as
 *	  cobranca.score_invoices gives them, with a cache that is used only
 *	  while the caller sees exactly the data it was computed from.
 *
 * Without row security to apply (the owner, superusers; as in
 * score_batch.c's direct path) an invoice is scored from index probes of
 * its payer's rows: the invoice (primary key), the payer's invoices, their
 * disputes, the payer's contacts, the creditor and the contracts; the
 * model is the active row of score_model.  All the payer's invoices are
 * scored at once (the probes are the same) and kept in a small cache, so
 * that priority() after payment_probability() of the same invoice, or of
 * another invoice of the same payer, costs a lookup.  Under row security
 * the call goes through cobranca.score_invoices (statements run as the
 * caller) and nothing is kept.
 *
 * When the cache is valid: an answer depends only on the rows the caller's
 * snapshot sees, and which rows an MVCC snapshot sees follows from its
 * contents alone: its xmin and xmax, the transactions it counts as running
 * (a transaction not among them and below xmax has ended, for good), and,
 * for the caller's own transaction, the current subtransaction and the
 * command id.  That is the cache's key, with the user and row_security
 * (which decide whether the tables are read directly): any change of data
 * the caller may see changes the key and empties the cache.  In one
 * transaction a write advances the command id and a rollback to a
 * savepoint starts another subtransaction; in a new statement after
 * another session's commit, the running transactions differ.  So a
 * payment, a dispute or a new invoice changes the next answer.  Parallel
 * workers, snapshots taken in recovery and snapshots with very many
 * running transactions are not cached.
 * test/pgtap/score_batch.sql and test/isolation/specs/score_cache.spec
 * check it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/parallel.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "score.h"
#include "score_batch.h"

/* --------------------------------------------------------- the cache key */

typedef struct SeenKey
{
	LocalTransactionId lxid;
	SubTransactionId subxid;
	CommandId	curcid;
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	int32		subxcnt;
	bool		suboverflowed;
	Oid			userid;
	bool		row_security;
} SeenKey;

/* a snapshot with more running transactions than this is not cached */
#define MAX_KEY_XIDS	4096

/*
 * The key of what the caller sees now (the running transactions of the
 * snapshot compared apart, see SameKey); false when it cannot be known.
 */
static bool
CurrentKey(SeenKey *k, Snapshot *snapp)
{
	Snapshot	snap;

	memset(k, 0, sizeof(SeenKey));
	*snapp = NULL;
	if (IsParallelWorker() || !ActiveSnapshotSet() || MyProc == NULL)
		return false;
	snap = GetActiveSnapshot();
	if (snap->snapshot_type != SNAPSHOT_MVCC || snap->takenDuringRecovery ||
		snap->xcnt + Max(snap->subxcnt, 0) > MAX_KEY_XIDS || snap->subxcnt < 0)
		return false;
	k->lxid = MyProc->lxid;
	k->subxid = GetCurrentSubTransactionId();
	k->curcid = snap->curcid;
	k->xmin = snap->xmin;
	k->xmax = snap->xmax;
	k->xcnt = snap->xcnt;
	k->subxcnt = snap->subxcnt;
	k->suboverflowed = snap->suboverflowed;
	k->userid = GetUserId();
	k->row_security = row_security;
	*snapp = snap;
	return true;
}

/* ------------------------------------------------- state for one key */

enum
{
	R_INVOICE, R_DISPUTE, R_CONTACT, R_CREDITOR, R_CONTRACT, R_MODEL, NRELS
};
static const char *const rel_names[NRELS] = {
	"invoice", "dispute", "contact", "creditor", "contract", "score_model"
};

/* the columns read */
enum
{
	I_ID, I_PAYER, I_STATUS, I_DUE, I_PAID, I_KIND, I_AMOUNT, I_BALANCE, I_CREDITOR, I_CONTRACT, D_INVOICE, D_OPENED, D_ANSWERED, K_PAYER, K_IDS, K_STATUS, K_ON, C_ID, C_FINE, C_INTEREST, C_NOTICE, T_ID, T_PLAN, T_PBP, M_ID, M_COEF, M_ACTIVE, NCOLS
};
static const struct
{
	int			rel;
	const char *name;
}			columns[NCOLS] = {
	{R_INVOICE, "id"},
	{R_INVOICE, "payer_id"},
	{R_INVOICE, "status"},
	{R_INVOICE, "due_on"},
	{R_INVOICE, "paid_on"},
	{R_INVOICE, "kind"},
	{R_INVOICE, "amount"},
	{R_INVOICE, "balance"},
	{R_INVOICE, "creditor_id"},
	{R_INVOICE, "contract_id"},
	{R_DISPUTE, "invoice_id"},
	{R_DISPUTE, "opened_on"},
	{R_DISPUTE, "answered_on"},
	{R_CONTACT, "payer_id"},
	{R_CONTACT, "invoice_ids"},
	{R_CONTACT, "status"},
	{R_CONTACT, "contact_on"},
	{R_CREDITOR, "id"},
	{R_CREDITOR, "fine_pct"},
	{R_CREDITOR, "interest_month_pct"},
	{R_CREDITOR, "notice_day"},
	{R_CONTRACT, "id"},
	{R_CONTRACT, "plan_type"},
	{R_CONTRACT, "paid_by_person"},
	{R_MODEL, "id"},
	{R_MODEL, "coefficients"},
	{R_MODEL, "active"}
};

typedef struct CreditorRow
{
	int64		id;
	bool		found;
	int64		fine_bp;
	int64		interest_bp;
	int32		notice_day;
} CreditorRow;

#define MAX_CREDITORS	16

typedef struct State
{
	bool		direct;			/* read the tables directly */
	Oid			rel[NRELS];
	AttrNumber	att[NCOLS];
	Oid			invoice_pkey;
	Oid			invoice_payer;
	Oid			dispute_invoice;
	Oid			creditor_pkey;
	Oid			contract_pkey;
	Oid			contact_payer;
	bool		have_model;
	Model		model;
	CreditorRow creditors[MAX_CREDITORS];
	int			ncreditors;
} State;

static MemoryContext one_cxt = NULL;	/* State and the model: reset with the key */
static State *state = NULL;
static SeenKey state_key;
static bool state_keyed = false;
static TransactionId *state_xids = NULL;	/* the key's xip, then subxip */
static int	state_xids_cap = 0;

static bool
SameKey(const SeenKey *k, Snapshot snap)
{
	return memcmp(k, &state_key, sizeof(SeenKey)) == 0 &&
		(k->xcnt == 0 ||
		 memcmp(state_xids, snap->xip, sizeof(TransactionId) * k->xcnt) == 0) &&
		(k->subxcnt <= 0 ||
		 memcmp(state_xids + k->xcnt, snap->subxip, sizeof(TransactionId) * k->subxcnt) == 0);
}

static void
KeepKey(const SeenKey *k, Snapshot snap)
{
	int			n = k->xcnt + Max(k->subxcnt, 0);

	if (n > state_xids_cap)
	{
		int			cap = Max(n, 64);

		if (state_xids)
			pfree(state_xids);
		state_xids = MemoryContextAlloc(TopMemoryContext, sizeof(TransactionId) * cap);
		state_xids_cap = cap;
	}
	if (k->xcnt > 0)
		memcpy(state_xids, snap->xip, sizeof(TransactionId) * k->xcnt);
	if (k->subxcnt > 0)
		memcpy(state_xids + k->xcnt, snap->subxip, sizeof(TransactionId) * k->subxcnt);
	state_key = *k;
	state_keyed = true;
}

/* the answers: direct-mapped by invoice and day, valid for generation gen */
#define ONE_SLOTS	4096

typedef struct OneEntry
{
	uint64		gen;
	int64		id;
	DateADT		as_of;
	bool		found;
	ScoreResult r;
} OneEntry;

static OneEntry *answers = NULL;
static uint64 generation = 1;

static inline uint32
OneSlot(int64 id, DateADT as_of)
{
	uint64		h = ((uint64) id * UINT64CONST(0x9E3779B97F4A7C15)) ^
		((uint64) (uint32) as_of * UINT64CONST(0xC2B2AE3D27D4EB4F));

	return (uint32) (h >> 40) & (ONE_SLOTS - 1);
}

/*
 * A plain btree index of rel on int8 whose first column is attnum, usable
 * by any snapshot (not one whose rows some snapshots must not see through
 * it: indcheckxmin); InvalidOid if none.
 */
static Oid
IndexOn(Relation rel, AttrNumber attnum, bool unique)
{
	List	   *list = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, list)
	{
		Oid			ix = lfirst_oid(lc);
		Relation	irel = index_open(ix, AccessShareLock);
		Form_pg_index form = irel->rd_index;

		if (form->indkey.values[0] == attnum && form->indisvalid && form->indisready &&
			!form->indcheckxmin &&
			irel->rd_rel->relam == BTREE_AM_OID && irel->rd_rel->relkind == RELKIND_INDEX &&
			RelationGetIndexPredicate(irel) == NIL &&
			(!unique || form->indisunique) &&
			irel->rd_opcintype[0] == INT8OID)
			found = ix;
		index_close(irel, NoLock);
		if (OidIsValid(found))
			break;
	}
	list_free(list);
	return found;
}

static bool
TableReadable(Oid relid)
{
	return OidIsValid(relid) &&
		pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK &&
		check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED;
}

/* the active model, read from score_model; false when none is active */
static bool
ReadModel(State *s, Snapshot snap)
{
	Relation	rel = table_open(s->rel[R_MODEL], AccessShareLock);
	AttrNumber	a_id = s->att[M_ID],
				a_coef = s->att[M_COEF],
				a_active = s->att[M_ACTIVE];
	TableScanDesc scan = table_beginscan(rel, snap, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		found = false;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		v = slot_getattr(slot, a_active, &isnull);
		ArrayType  *a;
		MemoryContext old;

		if (isnull || !DatumGetBool(v))
			continue;
		s->model.id = DatumGetInt64(slot_getattr(slot, a_id, &isnull));
		old = MemoryContextSwitchTo(one_cxt);
		a = DatumGetArrayTypePCopy(slot_getattr(slot, a_coef, &isnull));
		MemoryContextSwitchTo(old);
		if (ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != FLOAT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the active score model's coefficients must be a one-dimensional float8 array without nulls"),
					 errdetail("score_model.id is %lld.", (long long) s->model.id)));
		s->model.coef = (double *) ARR_DATA_PTR(a);
		s->model.ncoef = ARR_DIMS(a)[0];
		found = true;
		break;
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, NoLock);
	if (found)
		CobrancaCheckModelSizes(s->model.ncoef, NFEATURES);
	return found;
}

/* everything that depends on the key but not on the invoice */
static State *
PrepareState(bool keyed, const SeenKey *key, Snapshot snap)
{
	State	   *s;

	if (keyed && state_keyed && state != NULL && SameKey(key, snap))
		return state;

	/* a new key: forget everything */
	state = NULL;
	state_keyed = false;
	generation++;
	if (one_cxt == NULL)
		one_cxt = AllocSetContextCreate(TopMemoryContext, "cobranca single scores",
										ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(one_cxt);
	if (answers == NULL)
		answers = MemoryContextAllocZero(TopMemoryContext, sizeof(OneEntry) * ONE_SLOTS);

	s = MemoryContextAllocZero(one_cxt, sizeof(State));
	s->direct = ActiveSnapshotSet() && CobrancaScoreDirectAllowed();
	if (s->direct)
	{
		for (int i = 0; i < NRELS; i++)
		{
			char		kind;

			s->rel[i] = CobrancaScoreRelid(rel_names[i]);
			if (!TableReadable(s->rel[i]))
			{
				s->direct = false;
				continue;
			}
			kind = get_rel_relkind(s->rel[i]);
			if (kind != RELKIND_RELATION)
				s->direct = false;
		}
	}
	if (s->direct)
	{
		for (int i = 0; i < NCOLS; i++)
		{
			s->att[i] = get_attnum(s->rel[columns[i].rel], columns[i].name);
			if (s->att[i] == InvalidAttrNumber)
				elog(ERROR, "column %s.%s not found", rel_names[columns[i].rel], columns[i].name);
		}
	}
	if (s->direct)
	{
		Relation	rel;

		rel = table_open(s->rel[R_INVOICE], AccessShareLock);
		s->invoice_pkey = IndexOn(rel, s->att[I_ID], true);
		s->invoice_payer = IndexOn(rel, s->att[I_PAYER], false);
		table_close(rel, NoLock);
		rel = table_open(s->rel[R_DISPUTE], AccessShareLock);
		s->dispute_invoice = IndexOn(rel, s->att[D_INVOICE], false);
		table_close(rel, NoLock);
		rel = table_open(s->rel[R_CONTACT], AccessShareLock);
		s->contact_payer = IndexOn(rel, s->att[K_PAYER], false);
		table_close(rel, NoLock);
		rel = table_open(s->rel[R_CREDITOR], AccessShareLock);
		s->creditor_pkey = IndexOn(rel, s->att[C_ID], true);
		table_close(rel, NoLock);
		rel = table_open(s->rel[R_CONTRACT], AccessShareLock);
		s->contract_pkey = IndexOn(rel, s->att[T_ID], true);
		table_close(rel, NoLock);
		if (!OidIsValid(s->invoice_pkey) || !OidIsValid(s->invoice_payer) ||
			!OidIsValid(s->dispute_invoice) || !OidIsValid(s->contact_payer) ||
			!OidIsValid(s->creditor_pkey) || !OidIsValid(s->contract_pkey))
			s->direct = false;
	}
	if (s->direct)
		s->have_model = ReadModel(s, GetActiveSnapshot());

	state = s;
	if (keyed)
		KeepKey(key, snap);
	return s;
}

/* ------------------------------------------------------ index probes */

typedef struct Probe
{
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
} Probe;

static void
ProbeOpen(Probe *p, Relation heap, Oid indexoid, Snapshot snap)
{
	p->index = index_open(indexoid, AccessShareLock);
	p->scan = index_beginscan(heap, p->index, snap, 1, 0);
	p->slot = table_slot_create(heap, NULL);
}

static void
ProbeKey(Probe *p, int64 key)
{
	ScanKeyData sk;

	ScanKeyInit(&sk, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(key));
	index_rescan(p->scan, &sk, 1, NULL, 0);
}

static inline bool
ProbeNext(Probe *p)
{
	return index_getnext_slot(p->scan, ForwardScanDirection, p->slot);
}

static void
ProbeClose(Probe *p)
{
	ExecDropSingleTupleTableSlot(p->slot);
	index_endscan(p->scan);
	index_close(p->index, NoLock);
}

/* ------------------------------------------------ one payer's scores */

typedef struct PayerInvoice
{
	Target		t;
	int64		creditor_id;
	int64		contract_id;	/* 0: none */
	bool		late;			/* counts in the payer's history */
	int32		late_days;
	int			first_span;
	int			nspans;
	int64		ncontacts;
	bool		scored;
	ScoreResult r;
} PayerInvoice;

static CreditorRow *
Creditor(State *s, Relation rel, Snapshot snap, int64 id)
{
	Probe		p;
	CreditorRow *c;

	for (int i = 0; i < s->ncreditors; i++)
		if (s->creditors[i].id == id)
			return &s->creditors[i];
	c = &s->creditors[s->ncreditors < MAX_CREDITORS ? s->ncreditors++ : MAX_CREDITORS - 1];
	memset(c, 0, sizeof(CreditorRow));
	c->id = id;
	ProbeOpen(&p, rel, s->creditor_pkey, snap);
	ProbeKey(&p, id);
	if (ProbeNext(&p))
	{
		bool		isnull;

		c->found = true;
		c->fine_bp = CobrancaCents(slot_getattr(p.slot, s->att[C_FINE], &isnull));
		c->interest_bp = CobrancaCents(slot_getattr(p.slot, s->att[C_INTEREST], &isnull));
		c->notice_day = DatumGetInt32(slot_getattr(p.slot, s->att[C_NOTICE], &isnull));
	}
	ProbeClose(&p);
	return c;
}

/*
 * Scores every invoice of the payer of invoice_id into the cache (when
 * keyed); the asked one into *out.  False when the invoice is unknown (or
 * its creditor is): no row, as score_invoices.
 */
static bool
ScorePayer(State *s, bool keyed, int64 invoice_id, DateADT as_of, ScoreResult *out)
{
	Snapshot	snap = GetActiveSnapshot();
	Relation	inv,
				rel;
	Probe		p;
	AttrNumber	a_id,
				a_payer,
				a_status,
				a_due,
				a_paid,
				a_kind,
				a_amount,
				a_balance,
				a_cred,
				a_contract;
	bool		isnull;
	int64		payer;
	PayerInvoice *pi;
	int			npi = 0,
				cappi = 8;
	Span	   *spans;
	int			nspans = 0,
				capspans = 8;
	int64		late_n = 0,
				late_sum = 0,
				open_disputes = 0;
	bool		found = false;

	inv = table_open(s->rel[R_INVOICE], AccessShareLock);
	a_id = s->att[I_ID];
	a_payer = s->att[I_PAYER];
	a_status = s->att[I_STATUS];
	a_due = s->att[I_DUE];
	a_paid = s->att[I_PAID];
	a_kind = s->att[I_KIND];
	a_amount = s->att[I_AMOUNT];
	a_balance = s->att[I_BALANCE];
	a_cred = s->att[I_CREDITOR];
	a_contract = s->att[I_CONTRACT];

	/* the invoice: its payer */
	ProbeOpen(&p, inv, s->invoice_pkey, snap);
	ProbeKey(&p, invoice_id);
	if (!ProbeNext(&p))
	{
		ProbeClose(&p);
		table_close(inv, NoLock);
		return false;
	}
	payer = DatumGetInt64(slot_getattr(p.slot, a_payer, &isnull));
	ProbeClose(&p);

	/* the payer's invoices */
	pi = palloc(sizeof(PayerInvoice) * cappi);
	ProbeOpen(&p, inv, s->invoice_payer, snap);
	ProbeKey(&p, payer);
	while (ProbeNext(&p))
	{
		TupleTableSlot *slot = p.slot;
		PayerInvoice *x;
		Datum		status,
					v;
		DateADT		due;
		bool		hist;

		CHECK_FOR_INTERRUPTS();
		if (npi == cappi)
		{
			cappi *= 2;
			pi = repalloc(pi, sizeof(PayerInvoice) * cappi);
		}
		x = &pi[npi++];
		memset(x, 0, sizeof(PayerInvoice));
		x->t.id = DatumGetInt64(slot_getattr(slot, a_id, &isnull));
		status = slot_getattr(slot, a_status, &isnull);
		due = DatumGetDateADT(slot_getattr(slot, a_due, &isnull));
		x->t.kind = CobrancaKindCode(DatumGetTextPP(slot_getattr(slot, a_kind, &isnull)));
		x->t.open = CobrancaTextIs(status, "open");
		x->t.cancelled = CobrancaTextIs(status, "cancelled");
		x->t.due_on = due;
		/* amount::float8: the nearest double to the decimal, as cents / 100 */
		x->t.amount = (double) CobrancaCents(slot_getattr(slot, a_amount, &isnull)) / 100.0;
		x->t.balance = CobrancaCents(slot_getattr(slot, a_balance, &isnull));
		x->creditor_id = DatumGetInt64(slot_getattr(slot, a_cred, &isnull));
		v = slot_getattr(slot, a_contract, &isnull);
		x->contract_id = isnull ? 0 : DatumGetInt64(v);
		/* the history: due in the 12 months before the day, paid late or unpaid */
		hist = !x->t.cancelled && due >= as_of - 365 && due < as_of;
		if (hist)
		{
			Datum		paid = slot_getattr(slot, a_paid, &isnull);
			DateADT		until = isnull ? as_of : Min(DatumGetDateADT(paid), as_of);

			x->late_days = until - due;
			x->late = x->late_days > 0;
			if (x->late)
			{
				late_n++;
				late_sum += x->late_days;
			}
		}
	}
	ProbeClose(&p);

	/* their disputes: the payer's open ones, each invoice's spans */
	spans = palloc(sizeof(Span) * capspans);
	rel = table_open(s->rel[R_DISPUTE], AccessShareLock);
	{
		AttrNumber	a_op = s->att[D_OPENED],
					a_ans = s->att[D_ANSWERED];

		ProbeOpen(&p, rel, s->dispute_invoice, snap);
		for (int i = 0; i < npi; i++)
		{
			pi[i].first_span = nspans;
			ProbeKey(&p, pi[i].t.id);
			while (ProbeNext(&p))
			{
				Span	   *sp;
				Datum		d;

				if (nspans == capspans)
				{
					capspans *= 2;
					spans = repalloc(spans, sizeof(Span) * capspans);
				}
				sp = &spans[nspans++];
				sp->id = pi[i].t.id;
				sp->opened_on = DatumGetDateADT(slot_getattr(p.slot, a_op, &isnull));
				d = slot_getattr(p.slot, a_ans, &isnull);
				sp->answered_null = isnull;
				sp->answered_on = isnull ? 0 : DatumGetDateADT(d);
				if (sp->opened_on <= as_of && (sp->answered_null || sp->answered_on > as_of))
					open_disputes++;
			}
			pi[i].nspans = nspans - pi[i].first_span;
		}
		ProbeClose(&p);
	}
	table_close(rel, NoLock);

	/* the payer's contacts made before the day, per invoice */
	rel = table_open(s->rel[R_CONTACT], AccessShareLock);
	ProbeOpen(&p, rel, s->contact_payer, snap);
	ProbeKey(&p, payer);
	while (ProbeNext(&p))
	{
		Datum		st = slot_getattr(p.slot, s->att[K_STATUS], &isnull);
		Datum		v;
		ArrayType  *arr;
		Datum	   *es;
		bool	   *ns;
		int			n;

		if (CobrancaTextIs(st, "scheduled") || CobrancaTextIs(st, "cancelled"))
			continue;
		if (DatumGetDateADT(slot_getattr(p.slot, s->att[K_ON], &isnull)) >= as_of)
			continue;
		if (DatumGetInt64(slot_getattr(p.slot, s->att[K_PAYER], &isnull)) != payer)
			continue;
		v = slot_getattr(p.slot, s->att[K_IDS], &isnull);
		if (isnull)
			continue;
		arr = DatumGetArrayTypeP(v);
		deconstruct_array(arr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &es, &ns, &n);
		/* invoice_id = ANY (invoice_ids): once per contact */
		for (int i = 0; i < npi; i++)
			for (int j = 0; j < n; j++)
				if (!ns[j] && DatumGetInt64(es[j]) == pi[i].t.id)
				{
					pi[i].ncontacts++;
					break;
				}
		pfree(es);
		pfree(ns);
	}
	ProbeClose(&p);
	table_close(rel, NoLock);

	/* creditors and contracts */
	rel = table_open(s->rel[R_CREDITOR], AccessShareLock);
	for (int i = 0; i < npi; i++)
	{
		CreditorRow *c = Creditor(s, rel, snap, pi[i].creditor_id);

		pi[i].scored = c->found;
		pi[i].t.fine_bp = c->fine_bp;
		pi[i].t.interest_bp = c->interest_bp;
		pi[i].t.notice_day = c->notice_day;
	}
	table_close(rel, NoLock);
	rel = table_open(s->rel[R_CONTRACT], AccessShareLock);
	{
		AttrNumber	a_plan = s->att[T_PLAN],
					a_pbp = s->att[T_PBP];

		ProbeOpen(&p, rel, s->contract_pkey, snap);
		for (int i = 0; i < npi; i++)
		{
			Target	   *t = &pi[i].t;
			int			k;

			t->has_contract = pi[i].contract_id != 0;
			t->plan = PLAN_NULL;	/* none, or not seen: as a missing one */
			t->paid_by_person_null = true;
			t->paid_by_person = false;
			if (pi[i].contract_id == 0)
				continue;
			/* the same contract as an earlier invoice */
			for (k = 0; k < i; k++)
				if (pi[k].contract_id == pi[i].contract_id)
					break;
			if (k < i)
			{
				t->plan = pi[k].t.plan;
				t->paid_by_person_null = pi[k].t.paid_by_person_null;
				t->paid_by_person = pi[k].t.paid_by_person;
				continue;
			}
			ProbeKey(&p, pi[i].contract_id);
			if (ProbeNext(&p))
			{
				Datum		v = slot_getattr(p.slot, a_plan, &isnull);

				t->plan = isnull ? PLAN_NULL : CobrancaPlanCode(DatumGetTextPP(v));
				v = slot_getattr(p.slot, a_pbp, &isnull);
				t->paid_by_person_null = isnull;
				t->paid_by_person = isnull ? false : DatumGetBool(v);
			}
		}
		ProbeClose(&p);
	}
	table_close(rel, NoLock);
	table_close(inv, NoLock);

	/* the scores */
	for (int i = 0; i < npi; i++)
	{
		PayerInvoice *x = &pi[i];

		if (x->scored)
		{
			if (DATE_NOT_FINITE(x->t.due_on))
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("scores need finite due dates"),
						 errdetail("invoice.due_on of invoice %lld is not finite.", (long long) x->t.id)));
			CobrancaScoreCompute(&s->model, &x->t, as_of,
								 late_n - (x->late ? 1 : 0), late_sum - (x->late ? x->late_days : 0),
								 open_disputes, x->ncontacts,
								 spans + x->first_span, x->nspans, &x->r);
		}
		if (keyed)
		{
			OneEntry   *e = &answers[OneSlot(x->t.id, as_of)];

			e->gen = generation;
			e->id = x->t.id;
			e->as_of = as_of;
			e->found = x->scored;
			e->r = x->r;
		}
		if (x->t.id == invoice_id)
		{
			found = x->scored;
			*out = x->r;
		}
	}
	pfree(pi);
	pfree(spans);
	return found;
}

/* ------------------------------------------------- through score_invoices */

static SPIPlanPtr one_plan = NULL;

/* the general path: cobranca.score_invoices for one invoice, as the caller */
static bool
ScoreThroughSql(int64 invoice_id, DateADT as_of, ScoreResult *out)
{
	Oid			types[2] = {INT8OID, DATEOID};
	Datum		values[2];
	bool		found = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (one_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare("SELECT s.probability, (s.priority * 100)::bigint, s.priority = 0 AND pg_catalog.scale(s.priority) = 0"
									   "  FROM cobranca.score_invoices(ARRAY[$1], $2) s", 2, types);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		one_plan = plan;
	}
	values[0] = Int64GetDatum(invoice_id);
	values[1] = DateADTGetDatum(as_of);
	if (SPI_execute_plan(one_plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "scoring an invoice failed");
	if (SPI_processed > 0)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		found = true;
		out->probability = DatumGetFloat8(SPI_getbinval(tup, desc, 1, &isnull));
		out->priority = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		out->open = !DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		out->total = 0;			/* not asked for here */
	}
	SPI_finish();
	return found;
}

/* the scores of one invoice: from the cache, or computed (and kept) */
static bool
ScoreOne(int64 invoice_id, DateADT as_of, ScoreResult *out)
{
	SeenKey		key;
	Snapshot	snap;
	bool		keyed = CurrentKey(&key, &snap);
	State	   *s;

	if (DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("scores need a finite day"),
				 errdetail("as_of is %s.", DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(as_of))))));
	s = PrepareState(keyed, &key, snap);
	if (!s->direct)
		return ScoreThroughSql(invoice_id, as_of, out);
	if (!s->have_model)
		return false;			/* no active model: no scores */
	if (keyed)
	{
		OneEntry   *e = &answers[OneSlot(invoice_id, as_of)];

		if (e->gen == generation && e->id == invoice_id && e->as_of == as_of)
		{
			*out = e->r;
			return e->found;
		}
	}
	return ScorePayer(s, keyed, invoice_id, as_of, out);
}

PG_FUNCTION_INFO_V1(cobranca_payment_probability);

/* payment_probability(invoice_id bigint, as_of date) -> float8 */
Datum
cobranca_payment_probability(PG_FUNCTION_ARGS)
{
	ScoreResult r;

	if (!ScoreOne(PG_GETARG_INT64(0), PG_GETARG_DATEADT(1), &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r.probability);
}

PG_FUNCTION_INFO_V1(cobranca_priority);

/* priority(invoice_id bigint, as_of date) -> numeric; 0 for invoices not open */
Datum
cobranca_priority(PG_FUNCTION_ARGS)
{
	ScoreResult r;

	if (!ScoreOne(PG_GETARG_INT64(0), PG_GETARG_DATEADT(1), &r))
		PG_RETURN_NULL();
	if (!r.open)
		PG_RETURN_NUMERIC(int64_to_numeric(0));
	PG_RETURN_NUMERIC(int64_div_fast_to_numeric(r.priority, 2));
}
