/*-------------------------------------------------------------------------
 *
 * score_batch.h
 *	  The scoring of invoices shared by cobranca.score_invoices (many
 *	  invoices, score_batch.c) and the single-invoice entry points with
 *	  their cache (score_one.c): what is known of an invoice, the
 *	  computation of its probability, updated amount and priority, and the
 *	  reading of the tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_SCORE_BATCH_H
#define COBRANCA_SCORE_BATCH_H

#include "postgres.h"

#include "utils/date.h"
#include "utils/rel.h"

#define NFEATURES	14

/* an invoice to score, with its creditor's rates and its contract */
typedef struct Target
{
	int64		id;
	int			kind;			/* KIND_* */
	bool		open;
	bool		cancelled;
	DateADT		due_on;
	double		amount;
	int64		balance;		/* cents */
	int64		fine_bp;
	int64		interest_bp;
	int32		notice_day;
	bool		has_contract;
	int			plan;			/* PLAN_* */
	bool		paid_by_person_null;
	bool		paid_by_person;
} Target;

enum
{
	KIND_OTHER, KIND_PREMIUM, KIND_COPAY, KIND_PRIVATE, KIND_DISALLOWANCE, KIND_INSTALLMENT
};
enum
{
	PLAN_NULL, PLAN_OTHER, PLAN_INDIVIDUAL, PLAN_FAMILY, PLAN_MEMBERSHIP, PLAN_BUSINESS
};

/* a dispute of an invoice */
typedef struct Span
{
	int64		id;				/* invoice */
	DateADT		opened_on;
	DateADT		answered_on;
	bool		answered_null;
} Span;

/* the active model */
typedef struct Model
{
	int64		id;
	double	   *coef;
	int			ncoef;
} Model;

/* one invoice's scores */
typedef struct ScoreResult
{
	double		probability;
	int64		total;			/* updated amount, cents */
	bool		open;			/* else the priority is 0 */
	int64		priority;		/* cents */
} ScoreResult;

/*
 * The scores of an invoice: own_n and own_sum are the late invoices of the
 * payer's history other than this one, spans its disputes.
 */
extern void CobrancaScoreCompute(const Model *model, const Target *t, DateADT as_of,
								 int64 own_n, int64 own_sum, int64 open_disputes,
								 int64 ncontacts, const Span *spans, int nspans,
								 ScoreResult *r);

extern int	CobrancaKindCode(text *t);
extern int	CobrancaPlanCode(text *t);
extern bool CobrancaTextIs(Datum d, const char *lit);
extern int64 CobrancaCents(Datum n);
extern Oid	CobrancaScoreRelid(const char *name);
extern AttrNumber CobrancaAttnum(Relation rel, const char *name);
extern bool CobrancaScoreDirectAllowed(void);

#endif							/* COBRANCA_SCORE_BATCH_H */
