/*-------------------------------------------------------------------------
 *
 * calendar.h
 *	  Lawful contact calendar: holidays, business days, contact windows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_CALENDAR_H
#define COBRANCA_CALENDAR_H

#include "postgres.h"

#include "utils/date.h"
#include "utils/timestamp.h"

/* Easter Sunday of a Gregorian year, as a DateADT */
extern DateADT CalendarEaster(int year);

/* true when day is a national or state holiday (Carnival only if asked) */
extern bool CalendarIsHoliday(DateADT day, const char *uf, bool carnival);

/* Monday to Friday and not a holiday */
extern bool CalendarIsBusinessDay(DateADT day, const char *uf, bool carnival);

/*
 * A day on which contacts on channel are lawful for a payer in uf, for the
 * creditor (0: the statutory window only).  *from and *until receive the
 * local window when not NULL.
 */
extern bool CalendarContactDay(DateADT day, const char *channel, const char *uf,
							   int64 creditor_id, TimeADT *from, TimeADT *until);

/* The first lawful instant at or after ts, in time zone tzname */
extern TimestampTz CalendarNextSlot(TimestampTz ts, const char *channel,
									const char *tzname, const char *uf,
									int64 creditor_id);

#endif							/* COBRANCA_CALENDAR_H */
