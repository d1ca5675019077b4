/*-------------------------------------------------------------------------
 *
 * reveal.c
 *	  reveal_document(): a payer's document in clear, for supervisors and
 *	  legal, with a stated reason, written to the audit log.
 *
 * The function runs as its caller (it is not SECURITY DEFINER), so that
 * the payer is looked up under the caller's row-level security: a payer
 * outside the caller's portfolios is "not found", exactly like one that
 * does not exist.  Only the read of the ciphertext runs as the owner of
 * the payer table, and the audit row names the caller.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "audit.h"
#include "crypto.h"

static bool
member_of(Oid user, const char *role)
{
	Oid			roleid = get_role_oid(role, true);

	return OidIsValid(roleid) && is_member_of_role(user, roleid);
}

static Oid
payer_owner(void)
{
	Oid			nsp = get_namespace_oid("cobranca", false);
	Oid			relid = get_relname_relid("payer", nsp);
	HeapTuple	tp;
	Oid			owner;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table cobranca.payer does not exist")));
	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tp))->relowner;
	ReleaseSysCache(tp);
	return owner;
}

PG_FUNCTION_INFO_V1(cobranca_reveal_document);

/* reveal_document(payer_id bigint, reason text) → text */
Datum
cobranca_reveal_document(PG_FUNCTION_ARGS)
{
	int64		payer_id;
	char	   *reason;
	Oid			user = GetUserId();
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	int64		creditor_id;
	bool		isnull;
	bool		creditor_null;
	bytea	   *volatile cipher = NULL;
	text	   *volatile doc = NULL;
	Oid			saved_uid;
	int			saved_sec;
	MemoryContext caller_cxt = CurrentMemoryContext;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("reveal_document needs a payer id")));
	payer_id = PG_GETARG_INT64(0);
	reason = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	{
		char	   *p = reason;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a reason is required to reveal a document"),
					 errdetail("reveal_document(%lld, reason): reason is empty.", (long long) payer_id),
					 errhint("State why the document is needed (e.g. the ticket or court order); it is kept in the audit log.")));
	}
	if (!superuser() && !member_of(user, "cobranca_supervisor") && !member_of(user, "cobranca_legal"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to reveal documents"),
				 errdetail("Only members of cobranca_supervisor and cobranca_legal may reveal a payer's document."),
				 errhint("Analysts see the masked form in payer.document.")));

	args[0] = Int64GetDatum(payer_id);
	SPI_connect();

	/* as the caller: row-level security decides whether the payer exists */
	if (SPI_execute_with_args("SELECT creditor_id FROM cobranca.payer WHERE id = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up the payer");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("payer %lld not found", (long long) payer_id),
				 errhint("Only payers of your assigned portfolios can be revealed.")));
	creditor_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &creditor_null));

	/* as the table's owner: the ciphertext, which no role may select */
	GetUserIdAndSecContext(&saved_uid, &saved_sec);
	SetUserIdAndSecContext(payer_owner(), saved_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		if (SPI_execute_with_args("SELECT document_cipher FROM cobranca.payer WHERE id = $1",
								  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the payer's document");
		if (SPI_processed == 1)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
			{
				MemoryContext old = MemoryContextSwitchTo(caller_cxt);

				cipher = DatumGetByteaPCopy(d);
				MemoryContextSwitchTo(old);
			}
		}
		if (cipher == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("payer %lld has no encrypted document", (long long) payer_id)));
		{
			MemoryContext old = MemoryContextSwitchTo(caller_cxt);

			doc = CobrancaDocumentDecrypt(cipher);
			MemoryContextSwitchTo(old);
		}
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saved_uid, saved_sec);
	}
	PG_END_TRY();
	SPI_finish();

	/* who saw what, when and why */
	(void) CobrancaAuditAppend("payer", "REVEAL", true, payer_id, !creditor_null, creditor_id,
							   (Datum) 0, true, (Datum) 0, true, reason);
	PG_RETURN_TEXT_P(doc);
}
