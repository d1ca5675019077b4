/*-------------------------------------------------------------------------
 *
 * calendar.c
 *	  The lawful contact calendar: Easter and the holidays that hang on it,
 *	  national and state holidays, business days, contact windows per state
 *	  and channel, and the next lawful instant in a payer's time zone.
 *
 * National holidays are computed here for any year; state holidays come
 * from cobranca.holiday and contact windows from cobranca.contact_window.
 * Both tables (and the creditors' Carnival option) are read once per
 * backend into a cache that a relcache invalidation throws away: the
 * tables carry a statement trigger (cobranca.calendar_changed) that sends
 * one when their rows change, so every backend sees the change from its
 * next call on, and this backend from its next command.  This keeps
 * next_contact_slot at a few microseconds a call: it runs once per payer
 * and channel per day over millions of rows.
 *
 * Local times are converted with PostgreSQL's own time zone library
 * (pg_tzset / DetermineTimeZoneOffset), so historic daylight saving time
 * in Brazil (until 2019) and any future change in the tz database are
 * handled the way the server handles AT TIME ZONE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "calendar.h"
#include "validate.h"

/* National holidays on fixed dates (Lei 662/1949, 6.802/1980, 14.759/2023) */
typedef struct FixedHoliday
{
	int			month;
	int			day;
	int			since_year;		/* first year it is a national holiday */
	const char *name;
} FixedHoliday;

static const FixedHoliday national_holidays[] = {
	{1, 1, 0, "Confraternização Universal"},
	{4, 21, 0, "Tiradentes"},
	{5, 1, 0, "Dia do Trabalho"},
	{9, 7, 0, "Independência do Brasil"},
	{10, 12, 0, "Nossa Senhora Aparecida"},
	{11, 2, 0, "Finados"},
	{11, 15, 0, "Proclamação da República"},
	{11, 20, 2024, "Dia Nacional de Zumbi e da Consciência Negra"},
	{12, 25, 0, "Natal"}
};

/* A row of cobranca.contact_window */
typedef struct CalWindow
{
	int64		creditor_id;	/* 0: the statutory window */
	char		uf[3];			/* "": any state */
	char		channel[16];	/* "": any channel */
	TimeADT		wd_from;
	TimeADT		wd_until;
	bool		has_sat;
	TimeADT		sat_from;
	TimeADT		sat_until;
} CalWindow;

/* A row of cobranca.holiday */
typedef struct CalHoliday
{
	char		uf[3];
	int			month;			/* 0 when Easter-based */
	int			day;
	bool		has_easter_offset;
	int			easter_offset;
	char	   *name;
} CalHoliday;

typedef struct CalCache
{
	bool		valid;
	MemoryContext cxt;
	Oid			relids[3];		/* contact_window, holiday, creditor */
	int			nwindows;
	CalWindow  *windows;
	int			nholidays;
	CalHoliday *holidays;
	int			ncarnival;
	int64	   *carnival;		/* creditors with Carnival as a holiday, sorted */
} CalCache;

static CalCache cal = {0};
static bool cal_callback_registered = false;

/* the statutory default when the table holds no row: SP, Lei 15.426/2014 */
#define DEFAULT_FROM	(INT64CONST(8) * USECS_PER_HOUR)
#define DEFAULT_UNTIL	(INT64CONST(20) * USECS_PER_HOUR)
#define DEFAULT_SAT_UNTIL (INT64CONST(14) * USECS_PER_HOUR)

static void
CalendarRelcacheCallback(Datum arg, Oid relid)
{
	if (!cal.valid)
		return;
	if (relid == InvalidOid || relid == cal.relids[0] ||
		relid == cal.relids[1] || relid == cal.relids[2])
		cal.valid = false;
}

static int
CompareInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static void
CopyShort(char *dst, size_t size, HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	dst[0] = '\0';
	if (!isnull)
		strlcpy(dst, TextDatumGetCString(d), size);
}

static void CalendarRead(void);

/*
 * (Re)build the cache.  The tables are read as their owner: the calendar is
 * the same for every role, whatever row-level security lets the caller see
 * of the creditors' own windows.
 */
static void
CalendarLoad(void)
{
	Oid			nsp;
	Oid			owner = InvalidOid;
	Oid			save_userid;
	int			save_sec;
	HeapTuple	tup;

	if (!cal_callback_registered)
	{
		CacheRegisterRelcacheCallback(CalendarRelcacheCallback, (Datum) 0);
		cal_callback_registered = true;
	}
	if (cal.cxt == NULL)
		cal.cxt = AllocSetContextCreate(CacheMemoryContext,
										"cobranca calendar cache",
										ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(cal.cxt);
	cal.nwindows = cal.nholidays = cal.ncarnival = 0;
	cal.windows = NULL;
	cal.holidays = NULL;
	cal.carnival = NULL;

	nsp = get_namespace_oid("cobranca", false);
	cal.relids[0] = get_relname_relid("contact_window", nsp);
	cal.relids[1] = get_relname_relid("holiday", nsp);
	cal.relids[2] = get_relname_relid("creditor", nsp);

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(cal.relids[0]));
	if (HeapTupleIsValid(tup))
	{
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
	}
	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (OidIsValid(owner))
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		CalendarRead();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	cal.valid = true;
}

static void
CalendarRead(void)
{
	MemoryContext old;
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	ret = SPI_execute("SELECT coalesce(creditor_id, 0), uf, channel, "
					  "weekday_from, weekday_until, saturday_from, saturday_until "
					  "FROM cobranca.contact_window", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading cobranca.contact_window failed: %d", ret);
	old = MemoryContextSwitchTo(cal.cxt);
	cal.windows = palloc0(sizeof(CalWindow) * Max(SPI_processed, 1));
	MemoryContextSwitchTo(old);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		CalWindow  *w = &cal.windows[cal.nwindows++];
		bool		isnull;
		Datum		d;

		w->creditor_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		CopyShort(w->uf, sizeof(w->uf), tup, desc, 2);
		CopyShort(w->channel, sizeof(w->channel), tup, desc, 3);
		w->wd_from = DatumGetTimeADT(SPI_getbinval(tup, desc, 4, &isnull));
		w->wd_until = DatumGetTimeADT(SPI_getbinval(tup, desc, 5, &isnull));
		d = SPI_getbinval(tup, desc, 6, &isnull);
		w->has_sat = !isnull;
		if (!isnull)
		{
			w->sat_from = DatumGetTimeADT(d);
			w->sat_until = DatumGetTimeADT(SPI_getbinval(tup, desc, 7, &isnull));
			if (isnull)
				w->has_sat = false;
		}
	}

	ret = SPI_execute("SELECT uf, month, day, easter_offset, name FROM cobranca.holiday",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading cobranca.holiday failed: %d", ret);
	old = MemoryContextSwitchTo(cal.cxt);
	cal.holidays = palloc0(sizeof(CalHoliday) * Max(SPI_processed, 1));
	MemoryContextSwitchTo(old);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		CalHoliday *h = &cal.holidays[cal.nholidays++];
		bool		isnull;
		Datum		d;

		CopyShort(h->uf, sizeof(h->uf), tup, desc, 1);
		d = SPI_getbinval(tup, desc, 2, &isnull);
		h->month = isnull ? 0 : DatumGetInt16(d);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		h->day = isnull ? 0 : DatumGetInt16(d);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		h->has_easter_offset = !isnull;
		h->easter_offset = isnull ? 0 : DatumGetInt16(d);
		h->name = MemoryContextStrdup(cal.cxt, SPI_getvalue(tup, desc, 5));
	}

	ret = SPI_execute("SELECT id FROM cobranca.creditor WHERE carnival_holiday ORDER BY id",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading cobranca.creditor failed: %d", ret);
	old = MemoryContextSwitchTo(cal.cxt);
	cal.carnival = palloc0(sizeof(int64) * Max(SPI_processed, 1));
	MemoryContextSwitchTo(old);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		cal.carnival[cal.ncarnival++] =
			DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
}

static inline void
CalendarEnsure(void)
{
	if (!cal.valid)
		CalendarLoad();
}

static bool
CreditorCarnival(int64 creditor_id)
{
	if (creditor_id <= 0)
		return false;
	CalendarEnsure();
	return bsearch(&creditor_id, cal.carnival, cal.ncarnival, sizeof(int64),
				   CompareInt64) != NULL;
}

/* Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher) */
DateADT
CalendarEaster(int year)
{
	static int	last_year = -1;
	static DateADT last = 0;
	int			a, b, c, d, e, f, g, h, i, k, l, m, month, day;

	if (year == last_year)
		return last;
	a = year % 19;
	b = year / 100;
	c = year % 100;
	d = b / 4;
	e = b % 4;
	f = (b + 8) / 25;
	g = (b - f + 1) / 3;
	h = (19 * a + b - d - g + 15) % 30;
	i = c / 4;
	k = c % 4;
	l = (32 + 2 * e + 2 * i - h - k) % 7;
	m = (a + 11 * h + 22 * l) / 451;
	month = (h + l - 7 * m + 114) / 31;
	day = ((h + l - 7 * m + 114) % 31) + 1;
	last = date2j(year, month, day) - POSTGRES_EPOCH_JDATE;
	last_year = year;
	return last;
}

/* Name of the holiday on day in uf, or NULL when it is not one */
static const char *
CalendarHolidayName(DateADT day, const char *uf, bool carnival)
{
	int			y, m, d, off;

	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	for (int i = 0; i < lengthof(national_holidays); i++)
		if (national_holidays[i].month == m && national_holidays[i].day == d &&
			y >= national_holidays[i].since_year)
			return national_holidays[i].name;

	off = day - CalendarEaster(y);
	if (off == -2)
		return "Sexta-feira da Paixão";
	if (off == 60)
		return "Corpus Christi";
	if (carnival && off == -48)
		return "Carnaval (segunda-feira)";
	if (carnival && off == -47)
		return "Carnaval (terça-feira)";

	if (uf == NULL || uf[0] == '\0')
		return NULL;
	CalendarEnsure();
	for (int i = 0; i < cal.nholidays; i++)
	{
		CalHoliday *h = &cal.holidays[i];

		if (strcmp(h->uf, uf) != 0)
			continue;
		if (h->has_easter_offset ? (off == h->easter_offset)
			: (h->month == m && h->day == d))
			return h->name;
	}
	return NULL;
}

bool
CalendarIsHoliday(DateADT day, const char *uf, bool carnival)
{
	return CalendarHolidayName(day, uf, carnival) != NULL;
}

bool
CalendarIsBusinessDay(DateADT day, const char *uf, bool carnival)
{
	int			dow = j2day(day + POSTGRES_EPOCH_JDATE);

	if (dow == 0 || dow == 6)
		return false;
	return !CalendarIsHoliday(day, uf, carnival);
}

/*
 * Best matching window among the rows of one creditor (0: statutory):
 * (uf, channel) over (uf, any) over (any, channel) over (any, any).
 */
static CalWindow *
BestWindow(int64 creditor_id, const char *channel, const char *uf)
{
	CalWindow  *best = NULL;
	int			best_score = -1;

	for (int i = 0; i < cal.nwindows; i++)
	{
		CalWindow  *w = &cal.windows[i];
		int			score = 0;

		if (w->creditor_id != creditor_id)
			continue;
		if (w->uf[0] != '\0')
		{
			if (strcmp(w->uf, uf) != 0)
				continue;
			score += 2;
		}
		if (w->channel[0] != '\0')
		{
			if (strcmp(w->channel, channel) != 0)
				continue;
			score += 1;
		}
		if (score > best_score)
		{
			best = w;
			best_score = score;
		}
	}
	return best;
}

/*
 * The lawful window of one weekday (Monday-Friday, or Saturday) for a
 * channel in a state: the statutory window, narrowed by the creditor's own
 * when it has one (a creditor can narrow the law, never widen it).
 */
static bool
ResolveWindow(const char *channel, const char *uf, int64 creditor_id,
			  bool saturday, TimeADT *from, TimeADT *until)
{
	CalWindow  *law;
	TimeADT		f, u;

	CalendarEnsure();
	law = BestWindow(0, channel, uf);
	if (law == NULL)
	{
		f = DEFAULT_FROM;
		u = saturday ? DEFAULT_SAT_UNTIL : DEFAULT_UNTIL;
	}
	else if (saturday)
	{
		if (!law->has_sat)
			return false;
		f = law->sat_from;
		u = law->sat_until;
	}
	else
	{
		f = law->wd_from;
		u = law->wd_until;
	}

	if (creditor_id > 0)
	{
		CalWindow  *own = BestWindow(creditor_id, channel, uf);

		if (own != NULL)
		{
			if (saturday)
			{
				if (!own->has_sat)
					return false;
				f = Max(f, own->sat_from);
				u = Min(u, own->sat_until);
			}
			else
			{
				f = Max(f, own->wd_from);
				u = Min(u, own->wd_until);
			}
		}
	}
	if (f >= u)
		return false;
	*from = f;
	*until = u;
	return true;
}

bool
CalendarContactDay(DateADT day, const char *channel, const char *uf,
				   int64 creditor_id, TimeADT *from, TimeADT *until)
{
	int			dow = j2day(day + POSTGRES_EPOCH_JDATE);
	TimeADT		f, u;

	if (dow == 0)
		return false;
	if (CalendarIsHoliday(day, uf, CreditorCarnival(creditor_id)))
		return false;
	if (!ResolveWindow(channel, uf, creditor_id, dow == 6, &f, &u))
		return false;
	if (from)
		*from = f;
	if (until)
		*until = u;
	return true;
}

static void
CheckChannel(const char *channel)
{
	if (!CobrancaIsChannel(channel))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid channel: \"%s\"", CobrancaShowValue(channel)),
				 errdetail("Channels are email, sms, whatsapp, phone and letter.")));
}

static void
CheckUF(const char *uf)
{
	if (!CobrancaIsUF(uf))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid uf: \"%s\"", CobrancaShowValue(uf)),
				 errdetail("uf must be the two upper-case letters of a Brazilian state or DF.")));
}

static pg_tz *
LookupZone(const char *tzname)
{
	static char last_name[TZ_STRLEN_MAX + 1] = "";
	static pg_tz *last_tz = NULL;
	pg_tz	   *tz;

	if (last_tz != NULL && strcmp(tzname, last_name) == 0)
		return last_tz;
	CobrancaCheckTimezone("tz", tzname);
	tz = pg_tzset(tzname);
	if (tz == NULL)				/* cannot happen after the check */
		elog(ERROR, "time zone \"%s\" not loaded", tzname);
	strlcpy(last_name, tzname, sizeof(last_name));
	last_tz = tz;
	return tz;
}

/* The instant at which the local clock in tz shows day at time t */
static TimestampTz
LocalToInstant(DateADT day, TimeADT t, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	TimestampTz result;

	j2date(day + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tm.tm_hour = t / USECS_PER_HOUR;
	t -= (TimeADT) tm.tm_hour * USECS_PER_HOUR;
	tm.tm_min = t / USECS_PER_MINUTE;
	t -= (TimeADT) tm.tm_min * USECS_PER_MINUTE;
	tm.tm_sec = t / USECS_PER_SEC;
	fsec = t - (TimeADT) tm.tm_sec * USECS_PER_SEC;
	tm.tm_isdst = -1;
	/* resolves a skipped or repeated local time the way timestamptz input does */
	tzoff = DetermineTimeZoneOffset(&tm, tz);
	if (tm2timestamp(&tm, fsec, &tzoff, &result) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return result;
}

TimestampTz
CalendarNextSlot(TimestampTz ts, const char *channel, const char *tzname,
				 const char *uf, int64 creditor_id)
{
	pg_tz	   *tz = LookupZone(tzname);
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	DateADT		today;
	TimeADT		now_local;

	CheckChannel(channel);
	CheckUF(uf);
	if (TIMESTAMP_NOT_FINITE(ts))
		return ts;
	if (timestamp2tm(ts, &tzoff, &tm, &fsec, NULL, tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	today = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
	now_local = ((((TimeADT) tm.tm_hour * MINS_PER_HOUR) + tm.tm_min) * SECS_PER_MINUTE
				 + tm.tm_sec) * USECS_PER_SEC + fsec;

	/* a year is far more than any run of holidays and weekends */
	for (int i = 0; i < 370; i++)
	{
		TimeADT		from, until;
		TimestampTz slot;

		if (!CalendarContactDay(today + i, channel, uf, creditor_id, &from, &until))
			continue;
		if (i == 0 && now_local >= until)
			continue;
		if (i == 0 && now_local >= from)
			return ts;
		slot = LocalToInstant(today + i, from, tz);
		if (slot < ts)			/* a backward clock change on that day */
			slot = ts;
		return slot;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("no lawful contact slot within a year for channel \"%s\" in %s", channel, uf),
			 errdetail("The contact windows of cobranca.contact_window leave no day open."),
			 errhint("Check the creditor's own windows in cobranca.contact_window.")));
	return ts;					/* keep the compiler quiet */
}

/* ---- SQL-callable ---- */

PG_FUNCTION_INFO_V1(cobranca_easter);

/* easter(year int) returns date */
Datum
cobranca_easter(PG_FUNCTION_ARGS)
{
	int32		year = PG_GETARG_INT32(0);

	if (year < 1583 || year > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("year out of range: %d", year),
				 errdetail("Easter is computed for Gregorian years 1583 to 9999.")));
	PG_RETURN_DATEADT(CalendarEaster(year));
}

PG_FUNCTION_INFO_V1(cobranca_holiday_name);

/* holiday_name(day date, uf text, carnival boolean) returns text */
Datum
cobranca_holiday_name(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	char	   *uf = text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *name;

	CheckUF(uf);
	if (DATE_NOT_FINITE(day))
		PG_RETURN_NULL();
	name = CalendarHolidayName(day, uf, PG_GETARG_BOOL(2));
	if (name == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(name));
}

PG_FUNCTION_INFO_V1(cobranca_business_day);

/* business_day(day date, uf text) returns boolean */
Datum
cobranca_business_day(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	char	   *uf = text_to_cstring(PG_GETARG_TEXT_PP(1));

	CheckUF(uf);
	if (DATE_NOT_FINITE(day))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(CalendarIsBusinessDay(day, uf, false));
}

PG_FUNCTION_INFO_V1(cobranca_add_business_days);

/*
 * add_business_days(day date, n int, uf text) returns date: n business days
 * after day (before it when n < 0); n = 0 returns day itself.
 */
Datum
cobranca_add_business_days(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	int32		n = PG_GETARG_INT32(1);
	char	   *uf = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int			step = (n < 0) ? -1 : 1;

	CheckUF(uf);
	if (DATE_NOT_FINITE(day))
		PG_RETURN_DATEADT(day);
	if (n > 3650 || n < -3650)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too many business days: %d", n),
				 errdetail("add_business_days accepts -3650 to 3650.")));
	while (n != 0)
	{
		day += step;
		if (CalendarIsBusinessDay(day, uf, false))
			n -= step;
	}
	PG_RETURN_DATEADT(day);
}

PG_FUNCTION_INFO_V1(cobranca_contact_day);

/* contact_day(day date, channel text, uf text, creditor_id bigint) returns boolean */
Datum
cobranca_contact_day(PG_FUNCTION_ARGS)
{
	DateADT		day;
	char	   *channel;
	char	   *uf;
	int64		creditor_id = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3);

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	day = PG_GETARG_DATEADT(0);
	channel = text_to_cstring(PG_GETARG_TEXT_PP(1));
	uf = text_to_cstring(PG_GETARG_TEXT_PP(2));
	CheckChannel(channel);
	CheckUF(uf);
	if (DATE_NOT_FINITE(day))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(CalendarContactDay(day, channel, uf, creditor_id, NULL, NULL));
}

PG_FUNCTION_INFO_V1(cobranca_cadence_day);

/*
 * cadence_day(due_on date, offset_days int, channel text, uf text,
 * creditor_id bigint) returns date: the local day on which a cadence step
 * falls.  A reminder (offset < 0) must arrive before the due date, so when
 * its day has no lawful window it moves back to the previous day that has
 * one; a step on or after the due date keeps its day and is pushed forward
 * by next_contact_slot.
 */
Datum
cobranca_cadence_day(PG_FUNCTION_ARGS)
{
	DateADT		due;
	int32		offset;
	char	   *channel;
	char	   *uf;
	int64		creditor_id;
	DateADT		day;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	due = PG_GETARG_DATEADT(0);
	offset = PG_GETARG_INT32(1);
	channel = text_to_cstring(PG_GETARG_TEXT_PP(2));
	uf = text_to_cstring(PG_GETARG_TEXT_PP(3));
	creditor_id = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4);
	CheckChannel(channel);
	CheckUF(uf);
	if (DATE_NOT_FINITE(due))
		PG_RETURN_DATEADT(due);
	/* in 64 bits: due + offset may leave the date range (or int32) */
	if (!IS_VALID_DATE((int64) due + offset) || !IS_VALID_DATE((int64) due + offset - 31))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("cadence day out of range"),
				 errdetail("due_on %s plus offset_days %d is not a date.",
						   DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(due))), offset),
				 errhint("cadence_rule.offset_days runs from -60 to 1825.")));
	day = due + offset;
	if (offset < 0)
	{
		for (int i = 0; i < 30; i++, day--)
			if (CalendarContactDay(day, channel, uf, creditor_id, NULL, NULL))
				break;
	}
	PG_RETURN_DATEADT(day);
}

PG_FUNCTION_INFO_V1(cobranca_next_contact_slot);

/*
 * next_contact_slot(ts timestamptz, channel text, tz text, uf text
 * [, creditor_id bigint]) returns timestamptz
 */
Datum
cobranca_next_contact_slot(PG_FUNCTION_ARGS)
{
	TimestampTz ts;
	char	   *channel;
	char	   *tz;
	char	   *uf;
	int64		creditor_id = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	ts = PG_GETARG_TIMESTAMPTZ(0);
	channel = text_to_cstring(PG_GETARG_TEXT_PP(1));
	tz = text_to_cstring(PG_GETARG_TEXT_PP(2));
	uf = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
		creditor_id = PG_GETARG_INT64(4);
	PG_RETURN_TIMESTAMPTZ(CalendarNextSlot(ts, channel, tz, uf, creditor_id));
}

PG_FUNCTION_INFO_V1(cobranca_calendar_changed);

/*
 * Statement trigger on the tables the calendar cache is built from: sends
 * a relcache invalidation for the table, which every backend (this one at
 * its next command) takes as the signal to reload the cache.
 */
Datum
cobranca_calendar_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("calendar_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	cal.valid = false;
	return PointerGetDatum(NULL);
}
