/*-------------------------------------------------------------------------
 *
 * cadence.c
 *	  Contact generation: the cadence (régua de cobrança) turned into rows
 *	  of cobranca.contact, at most one per payer, channel and local day.
 *
 * generate_contacts runs one set-based statement (prepared once per
 * backend) whose per-row work is done by the C calendar: the day a step
 * falls on (cadence_day) and the next lawful slot (next_contact_slot).
 * The statement
 *	 - takes every open invoice with a balance that a cadence step makes
 *	   due on the payer's local day (a creditor's own rules replace the
 *	   shipped ones), or made due in the last CADENCE_CATCH_UP_DAYS days
 *	   without a contact since (a reminder only on its day, and only while
 *	   that day's window is open), skipping opted-out channels and payers
 *	   without that channel's address;
 *	 - folds them into one candidate per payer, channel and day covering all
 *	   the payer's due invoices, scheduled at the next lawful slot;
 *	 - merges into a contact already scheduled for that payer, channel and
 *	   day, never revives a cancelled one and never adds to one already sent;
 *	 - keeps at most cobranca.max_contacts_per_day new contacts per payer and
 *	   day (phone, then whatsapp, sms, email, letter), at most 5 attempts per
 *	   channel on the same debt, and at most the channel's daily capacity per
 *	   creditor (cobranca.channel_capacity), highest priority first;
 *	 - adds the new invoices to the contacts already scheduled for the day
 *	   (an UPDATE), then inserts the new contacts with ON CONFLICT DO
 *	   NOTHING: contact is partitioned by month (doc/partitioning.md), its
 *	   unique (payer_id, channel, contact_on) key is each partition's own,
 *	   and a partitioned table accepts no other conflict target.  Running
 *	   it twice for the same instant adds nothing.
 *
 * Bounds: every probe into cobranca.contact bounds contact_on, so that only
 * the months concerned are visited (partition pruning) and the job does
 * not grow with the months kept.  The day probes are on one day; the
 * catch-up probe starts at the step's day; the capacity count spans the
 * candidates' days; the attempts on the same debt ("previous") are counted
 * from CADENCE_LEAD_DAYS before the oldest due date of the candidate's
 * invoices, the earliest day a contact can have covered any of them.
 *
 * Locking: the invoices a contact is made for are locked FOR SHARE (in id
 * order, so that two lockers of several invoices do not deadlock on the
 * order).  A payment, dispute or agreement in flight on one of them holds
 * the row: the generator waits for it and, under READ COMMITTED, re-checks
 * the invoice's latest version (still open, still a balance) before using
 * it.  One arriving after the lock waits for the generator to commit; its
 * invoice_stop_contacts trigger then sees the new contact and drops the
 * invoice from it.  Either way no scheduled contact is left for an invoice
 * that a concurrent transaction paid or disputed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cobranca.h"

/*
 * The priority of a candidate contact: the sum over its invoices of the
 * priority kept by the refresh_scores job (cobranca.invoice_score: payment
 * probability x updated amount, raised by urgency), or the balance for an
 * invoice not scored yet (one not overdue, or overdue since the last
 * refresh).  This is the only place.
 */
#define CADENCE_PRIORITY_EXPR \
	"sum(coalesce(d.score_priority, d.balance))"

/*
 * A step on or after the due date that found no contact on its day (the job
 * did not run, the invoice arrived late, the payer's daily cap or the
 * channel's capacity was full) is still made on the following days, up to
 * this many days late.  Reminders are made on their day only.
 */
#define CADENCE_CATCH_UP_DAYS "7"

/*
 * The earliest a step can contact a payer about an invoice, in days before
 * its due date: a reminder's offset is at least -60 days (cadence_rule),
 * it is looked for up to 30 days further to fall on a business day, and
 * the payer's local day may be the day before UTC's.  See "Bounds" below.
 */
#define CADENCE_LEAD_DAYS "91"

static const char *const generate_sql =
"WITH rules AS ("
"  SELECT c.id AS creditor_id, r.id AS rule_id, r.channel, r.offset_days, r.invoice_kinds,"
"         r.min_probability, r.max_probability"
"    FROM cobranca.creditor c"
"    JOIN cobranca.cadence_rule r"
"      ON r.active"
"     AND (r.creditor_id = c.id"
"          OR (r.creditor_id IS NULL"
"              AND NOT EXISTS (SELECT 1 FROM cobranca.cadence_rule o"
"                               WHERE o.creditor_id = c.id AND o.active)))"
"), due AS ("
"  SELECT i.id AS invoice_id, i.creditor_id, i.portfolio_id, i.payer_id, i.balance, i.due_on,"
"         r.rule_id, r.channel, r.offset_days, p.timezone, p.uf, s.priority AS score_priority,"
"         ($1 AT TIME ZONE p.timezone)::date AS local_day"
"    FROM rules r"
"    JOIN cobranca.invoice i"
"      ON i.creditor_id = r.creditor_id"
"     AND i.status = 'open' AND i.balance > 0"
"     AND i.kind = ANY (r.invoice_kinds)"
"     AND i.due_on BETWEEN ($1 AT TIME ZONE 'UTC')::date - 1 - r.offset_days"
"                          - CASE WHEN r.offset_days >= 0 THEN " CADENCE_CATCH_UP_DAYS " ELSE 0 END"
"                      AND ($1 AT TIME ZONE 'UTC')::date - r.offset_days"
"                          + CASE WHEN r.offset_days < 0 THEN 30 ELSE 0 END"
"    JOIN cobranca.payer p ON p.id = i.payer_id"
"    LEFT JOIN cobranca.invoice_score s ON s.invoice_id = i.id"
"   WHERE NOT (r.channel = ANY (p.opt_out))"
/* a rule with a score band applies to scored invoices inside the band */
"     AND (r.min_probability IS NULL OR s.probability >= r.min_probability)"
"     AND (r.max_probability IS NULL OR s.probability <= r.max_probability)"
"     AND CASE r.channel WHEN 'email' THEN p.email WHEN 'sms' THEN p.phone"
"                        WHEN 'whatsapp' THEN p.whatsapp WHEN 'phone' THEN p.phone"
"                        ELSE p.address END IS NOT NULL"
"     AND CASE WHEN r.offset_days < 0"
"         THEN cobranca.cadence_day(i.due_on, r.offset_days, r.channel, p.uf, i.creditor_id)"
"              = ($1 AT TIME ZONE p.timezone)::date"
/* a reminder whose window has closed for the day would arrive too late */
"              AND (cobranca.next_contact_slot($1, r.channel, p.timezone, p.uf, i.creditor_id)"
"                   AT TIME ZONE p.timezone)::date = ($1 AT TIME ZONE p.timezone)::date"
"         ELSE i.due_on + r.offset_days BETWEEN ($1 AT TIME ZONE p.timezone)::date - " CADENCE_CATCH_UP_DAYS
"                                           AND ($1 AT TIME ZONE p.timezone)::date"
"              AND NOT EXISTS (SELECT 1 FROM cobranca.contact k"
"                               WHERE k.payer_id = i.payer_id AND k.channel = r.channel"
"                                 AND k.contact_on >= i.due_on + r.offset_days"
"                                 AND k.contact_on < ($1 AT TIME ZONE p.timezone)::date"
"                                 AND i.id = ANY (k.invoice_ids))"
"         END"
/* see "Locking" above */
"   ORDER BY i.id"
"     FOR SHARE OF i"
"), per_invoice AS ("
"  SELECT d.payer_id, d.channel, d.local_day, d.invoice_id,"
"         min(d.creditor_id) AS creditor_id, min(d.portfolio_id) AS portfolio_id,"
"         min(d.timezone) AS timezone, min(d.uf) AS uf,"
"         (array_agg(d.rule_id ORDER BY d.offset_days DESC, d.rule_id))[1] AS rule_id,"
"         max(d.offset_days) AS offset_days, min(d.balance) AS balance, min(d.due_on) AS due_on,"
"         max(d.score_priority) AS score_priority"
"    FROM due d"
"   GROUP BY d.payer_id, d.channel, d.local_day, d.invoice_id"
"), candidate AS ("
"  SELECT d.payer_id, d.channel, d.local_day,"
"         min(d.creditor_id) AS creditor_id, min(d.portfolio_id) AS portfolio_id,"
"         min(d.timezone) AS timezone, min(d.uf) AS uf,"
"         array_agg(d.invoice_id ORDER BY d.invoice_id) AS invoice_ids,"
"         (array_agg(d.rule_id ORDER BY d.offset_days DESC, d.rule_id))[1] AS rule_id,"
"         " CADENCE_PRIORITY_EXPR " AS priority, min(d.due_on) AS first_due_on"
"    FROM per_invoice d"
"   GROUP BY d.payer_id, d.channel, d.local_day"
"), slotted AS ("
"  SELECT c.*, s.slot, (s.slot AT TIME ZONE c.timezone)::date AS contact_on"
"    FROM candidate c"
"   CROSS JOIN LATERAL (SELECT cobranca.next_contact_slot($1, c.channel, c.timezone, c.uf,"
"                                                         c.creditor_id) AS slot) s"
"), checked AS ("
"  SELECT s.*, e.same_status, e.others, a.previous"
"    FROM slotted s"
"   CROSS JOIN LATERAL ("
"     SELECT max(x.status) FILTER (WHERE x.channel = s.channel) AS same_status,"
"            count(*) FILTER (WHERE x.channel <> s.channel AND x.status <> 'cancelled') AS others"
"       FROM cobranca.contact x"
"      WHERE x.payer_id = s.payer_id AND x.contact_on = s.contact_on) e"
"   CROSS JOIN LATERAL ("
"     SELECT count(*) AS previous"
"       FROM cobranca.contact y"
"      WHERE y.payer_id = s.payer_id AND y.channel = s.channel"
"        AND y.contact_on < s.contact_on AND y.status IS DISTINCT FROM 'cancelled'"
/* see "Bounds" below */
"        AND y.contact_on >= s.first_due_on - " CADENCE_LEAD_DAYS
"        AND coalesce(y.invoice_ids, '{}') && s.invoice_ids) a"
"), day_ranked AS ("
"  SELECT c.*, row_number() OVER (PARTITION BY c.payer_id, c.contact_on"
"           ORDER BY array_position('{phone,whatsapp,sms,email,letter}'::text[], c.channel)) AS day_rank"
"    FROM checked c"
"   WHERE c.same_status IS NULL AND c.previous < 5"
"), cap_ranked AS ("
"  SELECT d.*, k.daily_limit,"
"         row_number() OVER (PARTITION BY d.creditor_id, d.channel, d.contact_on"
"                            ORDER BY d.priority DESC, d.payer_id) AS cap_rank"
"    FROM day_ranked d"
"    LEFT JOIN cobranca.channel_capacity k"
"      ON k.creditor_id = d.creditor_id AND k.channel = d.channel"
"   WHERE d.day_rank <= $2 - d.others"
"), used AS MATERIALIZED ("
"  SELECT u.creditor_id, u.channel, u.contact_on, count(*) AS n"
"    FROM cobranca.contact u"
"   WHERE u.status <> 'cancelled'"
"     AND u.contact_on >= (SELECT min(m.contact_on) FROM cap_ranked m)"
"     AND u.contact_on <= (SELECT max(m.contact_on) FROM cap_ranked m)"
"     AND (u.creditor_id, u.channel, u.contact_on) IN"
"         (SELECT creditor_id, channel, contact_on FROM cap_ranked WHERE daily_limit IS NOT NULL)"
"   GROUP BY 1, 2, 3"
"), fresh AS ("
"  SELECT r.* FROM cap_ranked r"
"    LEFT JOIN used u"
"      ON u.creditor_id = r.creditor_id AND u.channel = r.channel AND u.contact_on = r.contact_on"
"   WHERE r.daily_limit IS NULL OR r.cap_rank <= r.daily_limit - coalesce(u.n, 0)"
"), merged AS ("
"  UPDATE cobranca.contact t"
"     SET invoice_ids = ARRAY(SELECT DISTINCT v FROM unnest(t.invoice_ids || c.invoice_ids) v"
"                              ORDER BY v),"
"         updated_at = pg_catalog.now()"
"    FROM checked c"
"   WHERE c.same_status = 'scheduled'"
"     AND t.payer_id = c.payer_id AND t.channel = c.channel AND t.contact_on = c.contact_on"
"     AND t.status = 'scheduled' AND NOT (t.invoice_ids @> c.invoice_ids)"
"  RETURNING t.channel"
"), added AS ("
"  INSERT INTO cobranca.contact"
"         (creditor_id, portfolio_id, payer_id, invoice_ids, rule_id, channel,"
"          contact_on, scheduled_at, attempt)"
"  SELECT creditor_id, portfolio_id, payer_id, invoice_ids, rule_id, channel,"
"         contact_on, slot, previous + 1"
"    FROM fresh"
"      ON CONFLICT DO NOTHING"
"  RETURNING channel"
")"
"SELECT channel FROM added UNION ALL SELECT channel FROM merged";

/*
 * Note: the probes into cobranca.contact above are written so that they can
 * only go through the (payer_id, channel, contact_on) key: not through the
 * GIN index on invoice_ids (= ANY, coalesce), whose pending list can be long
 * between vacuums, nor through the partial contact_capacity_idx (IS DISTINCT
 * FROM does not imply its predicate), which misled statistics may favour.
 */
static SPIPlanPtr generate_plan = NULL;

PG_FUNCTION_INFO_V1(cobranca_generate_contacts);

/*
 * generate_contacts(as_of timestamptz) returns integer: the contacts created
 * (or merged with new invoices) for the steps due on the payers' local day
 * of as_of.  Sends NOTIFY cobranca_contact with the channel as payload for
 * every channel that got new work.
 */
Datum
cobranca_generate_contacts(PG_FUNCTION_ARGS)
{
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(0);
	Datum		values[2];
	int			ret;
	uint64		n;
	bool		notified[5] = {false, false, false, false, false};
	static const char *const channels[] = {"email", "sms", "whatsapp", "phone", "letter"};

	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite timestamp")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (generate_plan == NULL)
	{
		Oid			argtypes[2] = {TIMESTAMPTZOID, INT4OID};
		SPIPlanPtr	plan = SPI_prepare(generate_sql, 2, argtypes);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		generate_plan = plan;
	}
	values[0] = TimestampTzGetDatum(as_of);
	values[1] = Int32GetDatum(cobranca_max_contacts_per_day);
	ret = SPI_execute_plan(generate_plan, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "generating contacts failed: %s", SPI_result_code_string(ret));
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		char	   *channel = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		for (int c = 0; c < lengthof(channels); c++)
			if (!notified[c] && strcmp(channel, channels[c]) == 0)
			{
				Async_Notify("cobranca_contact", channels[c]);
				notified[c] = true;
			}
	}
	SPI_finish();
	PG_RETURN_INT32((int32) Min(n, (uint64) PG_INT32_MAX));
}
