-- The lawful contact calendar (calendar.c): national holidays computed for
-- any year, state holidays and contact windows from two small tables that
-- every backend caches (a statement trigger tells the backends to reload).

CREATE TABLE cobranca.holiday (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uf            text NOT NULL CHECK (cobranca.check_uf('holiday.uf', uf)),
  month         smallint CHECK (cobranca.check_range('holiday.month', month, 1, 12)),
  day           smallint CHECK (cobranca.check_range('holiday.day', day, 1, 31)),
  easter_offset smallint CHECK (cobranca.check_range('holiday.easter_offset', easter_offset, -100, 100)),
  name          text NOT NULL CHECK (cobranca.check_text('holiday.name', name, 200, false)),
  law           text
    CHECK (cobranca.check_text('holiday.law', law, 300, true)),
  shipped       boolean NOT NULL DEFAULT false,
  CONSTRAINT holiday_date_or_easter
    CHECK ((month IS NOT NULL AND day IS NOT NULL AND easter_offset IS NULL)
        OR (month IS NULL AND day IS NULL AND easter_offset IS NOT NULL)),
  CONSTRAINT holiday_real_date
    CHECK (month IS NULL OR day <= (ARRAY[31,29,31,30,31,30,31,31,30,31,30,31])[month]),
  CONSTRAINT holiday_key UNIQUE NULLS NOT DISTINCT (uf, month, day, easter_offset)
);
COMMENT ON TABLE cobranca.holiday IS
  'State holidays (national ones are computed): a fixed month and day, or a number of days from Easter Sunday; no contact is made on them';
COMMENT ON COLUMN cobranca.holiday.uf IS 'state whose payers observe the holiday';
COMMENT ON COLUMN cobranca.holiday.month IS 'month of a fixed-date holiday (with day)';
COMMENT ON COLUMN cobranca.holiday.day IS 'day of the month of a fixed-date holiday';
COMMENT ON COLUMN cobranca.holiday.easter_offset IS 'days from Easter Sunday of a moving holiday (instead of month and day)';
COMMENT ON COLUMN cobranca.holiday.law IS 'the state law that makes it a holiday';
COMMENT ON COLUMN cobranca.holiday.shipped IS 'a row shipped with the extension (recreated by CREATE EXTENSION, so not dumped)';

INSERT INTO cobranca.holiday (uf, month, day, name, law, shipped) SELECT *, true FROM (VALUES
  ('SP', 7, 9, 'Revolução Constitucionalista de 1932', 'Lei estadual 9.497/1997'),
  ('RJ', 4, 23, 'Dia de São Jorge', 'Lei estadual 5.198/2008'),
  ('RJ', 11, 20, 'Dia de Zumbi dos Palmares', 'Lei estadual 4.007/2002'),
  ('MG', 4, 21, 'Data Magna de Minas Gerais', NULL),
  ('BA', 7, 2, 'Independência da Bahia', NULL),
  ('PE', 3, 6, 'Data Magna de Pernambuco (Revolução de 1817)', NULL),
  ('RS', 9, 20, 'Revolução Farroupilha', 'Lei estadual 4.850/1964'),
  ('PR', 12, 19, 'Emancipação Política do Paraná', NULL),
  ('AL', 6, 24, 'São João', NULL),
  ('AL', 6, 29, 'São Pedro', NULL),
  ('AL', 9, 16, 'Emancipação Política de Alagoas', NULL),
  ('AL', 11, 20, 'Dia de Zumbi dos Palmares', NULL),
  ('AM', 9, 5, 'Elevação do Amazonas a Província', NULL),
  ('CE', 3, 25, 'Data Magna do Ceará (Abolição)', NULL),
  ('MA', 7, 28, 'Adesão do Maranhão à Independência', NULL),
  ('MS', 10, 11, 'Criação do Estado de Mato Grosso do Sul', NULL),
  ('PA', 8, 15, 'Adesão do Pará à Independência', NULL),
  ('PB', 8, 5, 'Fundação do Estado da Paraíba', NULL),
  ('PI', 10, 19, 'Dia do Piauí', NULL),
  ('RN', 10, 3, 'Mártires de Cunhaú e Uruaçu', NULL),
  ('SE', 7, 8, 'Emancipação Política de Sergipe', NULL),
  ('TO', 10, 5, 'Criação do Estado do Tocantins', NULL),
  ('DF', 11, 30, 'Dia do Evangélico', NULL)) AS v;
INSERT INTO cobranca.holiday (uf, easter_offset, name, law, shipped) VALUES
  ('ES', 8, 'Nossa Senhora da Penha', NULL, true);

-- Contact windows.  Rows with creditor_id null are the law; a creditor's own
-- rows can only narrow them (checked on write, and the calendar intersects
-- the two whatever is stored).  uf null is the default for states without a
-- row, channel null applies to every channel.
CREATE TABLE cobranca.contact_window (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id    bigint REFERENCES cobranca.creditor ON DELETE CASCADE,
  uf             text CHECK (cobranca.check_uf('contact_window.uf', uf)),
  channel        text
    CHECK (cobranca.check_member('contact_window.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  weekday_from   time NOT NULL,
  weekday_until  time NOT NULL,
  saturday_from  time,
  saturday_until time,
  law            text
    CHECK (cobranca.check_text('contact_window.law', law, 300, true)),
  CONSTRAINT contact_window_weekday CHECK (weekday_from < weekday_until),
  CONSTRAINT contact_window_saturday
    CHECK ((saturday_from IS NULL) = (saturday_until IS NULL)
           AND (saturday_from IS NULL OR saturday_from < saturday_until)),
  CONSTRAINT contact_window_key UNIQUE NULLS NOT DISTINCT (creditor_id, uf, channel)
);
CREATE INDEX contact_window_creditor_idx ON cobranca.contact_window (creditor_id);
COMMENT ON TABLE cobranca.contact_window IS
  'Lawful hours for contacting payers, local to the payer, per state and channel; never on Sundays or holidays. creditor_id null rows are the law, a creditor''s rows narrow them';
COMMENT ON COLUMN cobranca.contact_window.creditor_id IS 'null: the statutory window; otherwise a creditor''s narrower window';
COMMENT ON COLUMN cobranca.contact_window.uf IS 'state of the payer; null: every state without a row of its own';
COMMENT ON COLUMN cobranca.contact_window.channel IS 'channel; null: every channel';
COMMENT ON COLUMN cobranca.contact_window.weekday_from IS 'Monday to Friday: first lawful local time';
COMMENT ON COLUMN cobranca.contact_window.weekday_until IS 'Monday to Friday: end of the window (exclusive)';
COMMENT ON COLUMN cobranca.contact_window.saturday_from IS 'Saturday: first lawful local time; null: no contact on Saturdays';
COMMENT ON COLUMN cobranca.contact_window.saturday_until IS 'Saturday: end of the window (exclusive)';
COMMENT ON COLUMN cobranca.contact_window.law IS 'the law that sets the window';

INSERT INTO cobranca.contact_window (uf, weekday_from, weekday_until, saturday_from, saturday_until, law) VALUES
  (NULL, '08:00', '20:00', '08:00', '14:00', 'default: the rule of Lei estadual SP 15.426/2014'),
  ('SP', '08:00', '20:00', '08:00', '14:00', 'Lei estadual SP 15.426/2014'),
  ('AL', '08:00', '20:00', '08:00', '14:00', 'Lei estadual AL 7.782/2016'),
  ('RJ', '09:00', '19:00', NULL, NULL, 'Lei estadual RJ 7.868/2018'),
  ('ES', '08:00', '19:00', NULL, NULL, 'Lei estadual ES 10.626/2017');

-- The statutory window that applies to a state and channel.
CREATE FUNCTION cobranca.statutory_window(uf text, channel text)
  RETURNS cobranca.contact_window
  LANGUAGE sql STABLE
  AS $$
    SELECT w FROM cobranca.contact_window w
     WHERE w.creditor_id IS NULL
       AND (w.uf IS NULL OR w.uf = $1)
       AND (w.channel IS NULL OR w.channel = $2)
     ORDER BY (w.uf IS NOT NULL) DESC, (w.channel IS NOT NULL) DESC
     LIMIT 1
  $$;
COMMENT ON FUNCTION cobranca.statutory_window(text, text) IS
  'the statutory contact window (creditor_id null) that applies to a state and channel: the most specific row';

-- A creditor may narrow the law, never widen it.
CREATE FUNCTION cobranca.contact_window_guard() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  law cobranca.contact_window;
  who text;
BEGIN
  IF NEW.creditor_id IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT c.name INTO who FROM cobranca.creditor c WHERE c.id = NEW.creditor_id;
  law := cobranca.statutory_window(NEW.uf, coalesce(NEW.channel, 'phone'));
  IF law.id IS NULL THEN
    RETURN NEW;
  END IF;
  IF NEW.weekday_from < law.weekday_from OR NEW.weekday_until > law.weekday_until THEN
    RAISE EXCEPTION 'contact window of creditor "%" widens the law', who
      USING ERRCODE = 'check_violation',
            DETAIL = format('contact_window weekday %s-%s is outside the statutory %s-%s for %s (%s).',
                            NEW.weekday_from, NEW.weekday_until, law.weekday_from, law.weekday_until,
                            coalesce(NEW.uf, 'every state'), law.law),
            HINT = 'A creditor may only narrow the statutory contact hours.';
  END IF;
  IF NEW.saturday_from IS NOT NULL AND
     (law.saturday_from IS NULL OR NEW.saturday_from < law.saturday_from
      OR NEW.saturday_until > law.saturday_until) THEN
    RAISE EXCEPTION 'contact window of creditor "%" widens the law', who
      USING ERRCODE = 'check_violation',
            DETAIL = format('contact_window saturday %s-%s is outside the statutory %s for %s (%s).',
                            NEW.saturday_from, NEW.saturday_until,
                            coalesce(law.saturday_from || '-' || law.saturday_until, 'none'),
                            coalesce(NEW.uf, 'every state'), law.law),
            HINT = 'A creditor may only narrow the statutory contact hours.';
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION cobranca.contact_window_guard() IS
  'refuses a creditor''s contact window that is wider than the statutory one for its state and channel';
CREATE TRIGGER contact_window_guard
  BEFORE INSERT OR UPDATE ON cobranca.contact_window
  FOR EACH ROW EXECUTE FUNCTION cobranca.contact_window_guard();

CREATE FUNCTION cobranca.calendar_changed() RETURNS trigger
  AS 'MODULE_PATHNAME', 'cobranca_calendar_changed'
  LANGUAGE C;
COMMENT ON FUNCTION cobranca.calendar_changed() IS
  'statement trigger: tells every backend to reload its cached holidays and contact windows';
CREATE TRIGGER calendar_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cobranca.holiday
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.calendar_changed();
CREATE TRIGGER calendar_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cobranca.contact_window
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.calendar_changed();
CREATE TRIGGER calendar_changed
  AFTER INSERT OR UPDATE OF carnival_holiday OR DELETE ON cobranca.creditor
  FOR EACH STATEMENT EXECUTE FUNCTION cobranca.calendar_changed();

CREATE FUNCTION cobranca.easter(year integer) RETURNS date
  AS 'MODULE_PATHNAME', 'cobranca_easter'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.easter(integer) IS
  'Easter Sunday of a Gregorian year; Good Friday is 2 days before, Corpus Christi 60 after, Carnival 48 and 47 before';

CREATE FUNCTION cobranca.holiday_name(day date, uf text, carnival boolean DEFAULT false)
  RETURNS text
  AS 'MODULE_PATHNAME', 'cobranca_holiday_name'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.holiday_name(date, text, boolean) IS
  'name of the national or state holiday on day for a payer in uf (Carnival Monday and Tuesday only when carnival), or null';

CREATE FUNCTION cobranca.holidays(year integer, uf text, carnival boolean DEFAULT false)
  RETURNS TABLE (day date, name text)
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT d::date, cobranca.holiday_name(d::date, $2, $3)
      FROM pg_catalog.generate_series(pg_catalog.make_date($1, 1, 1),
                                      pg_catalog.make_date($1, 12, 31), interval '1 day') AS d
     WHERE cobranca.holiday_name(d::date, $2, $3) IS NOT NULL
     ORDER BY 1
  $$;
COMMENT ON FUNCTION cobranca.holidays(integer, text, boolean) IS
  'the national and state holidays of a year for a payer in uf';

CREATE FUNCTION cobranca.business_day(day date, uf text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_business_day'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.business_day(date, text) IS
  'true on Monday to Friday when day is not a national or state holiday in uf';

CREATE FUNCTION cobranca.add_business_days(day date, n integer, uf text) RETURNS date
  AS 'MODULE_PATHNAME', 'cobranca_add_business_days'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.add_business_days(date, integer, text) IS
  'the date n business days after day in uf (before it when n is negative; day itself when n is 0)';

CREATE FUNCTION cobranca.contact_day(day date, channel text, uf text, creditor_id bigint DEFAULT NULL)
  RETURNS boolean
  AS 'MODULE_PATHNAME', 'cobranca_contact_day'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.contact_day(date, text, text, bigint) IS
  'true when the day has a lawful contact window for channel in uf (and for the creditor''s own windows and Carnival option)';

CREATE FUNCTION cobranca.cadence_day(due_on date, offset_days integer, channel text, uf text,
                                     creditor_id bigint DEFAULT NULL)
  RETURNS date
  AS 'MODULE_PATHNAME', 'cobranca_cadence_day'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.cadence_day(date, integer, text, text, bigint) IS
  'local day of a cadence step: due_on + offset_days; a reminder (negative offset) falling on a day without a lawful window moves back to the previous day that has one';

CREATE FUNCTION cobranca.next_contact_slot(ts timestamptz, channel text, tz text, uf text)
  RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'cobranca_next_contact_slot'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.next_contact_slot(timestamptz, text, text, text) IS
  'the first lawful instant at or after ts for channel, for a payer in uf whose time zone is tz: the statutory window, never on Sundays or holidays';

CREATE FUNCTION cobranca.next_contact_slot(ts timestamptz, channel text, tz text, uf text, creditor_id bigint)
  RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'cobranca_next_contact_slot'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.next_contact_slot(timestamptz, text, text, text, bigint) IS
  'next_contact_slot narrowed by the creditor''s own contact windows and its Carnival option';

-- Rows shipped with the extension are recreated by CREATE EXTENSION; only
-- the ones added later are dumped.
SELECT pg_catalog.pg_extension_config_dump('cobranca.holiday', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('cobranca.holiday_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_window', 'WHERE creditor_id IS NOT NULL');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_window_id_seq', '');
