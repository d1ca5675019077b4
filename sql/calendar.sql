-- The lawful contact calendar: holidays, business days, contact windows,
-- the four Brazilian time zones and daylight saving time.
SET TimeZone = 'UTC';

-- Easter Sunday, checked against published dates
SELECT y, cobranca.easter(y) AS easter
  FROM unnest('{2000,2019,2024,2025,2026,2027,2038}'::int[]) AS y;

-- moving national holidays of 2026 (Carnival only when asked)
SELECT * FROM cobranca.holidays(2026, 'MG', true) WHERE name !~ '^(Confra|Tirad|Dia do T|Indep|Nossa S|Finad|Procl|Natal)';

-- state holidays
SELECT uf, d, cobranca.holiday_name(d, uf) AS name, cobranca.business_day(d, uf) AS business
  FROM (VALUES ('SP', date '2026-07-09'), ('RJ', '2026-07-09'), ('RJ', '2026-04-23'),
               ('BA', '2026-07-02'), ('PE', '2026-03-06'), ('RS', '2026-09-21'),
               ('PR', '2026-12-18'), ('AL', '2026-06-24'), ('ES', '2026-04-13'),
               ('ES', '2025-04-28'), ('MG', '2026-04-21')) AS t(uf, d);

-- Dia da Consciência Negra is national from 2024 on
SELECT cobranca.holiday_name('2023-11-20', 'SP') AS sp_2023, cobranca.holiday_name('2023-11-20', 'RJ') AS rj_2023,
       cobranca.holiday_name('2024-11-20', 'SP') AS sp_2024;

-- business days
SELECT cobranca.add_business_days('2026-04-02', 1, 'SP') AS after_good_friday,
       cobranca.add_business_days('2026-07-08', 1, 'SP') AS sp_after_jul_8,
       cobranca.add_business_days('2026-07-08', 1, 'RJ') AS rj_after_jul_8,
       cobranca.add_business_days('2026-04-06', -1, 'SP') AS before_easter_monday,
       cobranca.add_business_days('2026-03-10', 0, 'SP') AS zero,
       cobranca.add_business_days('2026-03-02', 10, 'SP') AS ten;

-- each state's window, same instants (local time in the payer's zone)
SELECT uf, label, cobranca.next_contact_slot(ts, 'phone', 'America/Sao_Paulo', uf) AT TIME ZONE 'America/Sao_Paulo' AS local_slot
  FROM (VALUES ('Tue 07:30', timestamptz '2026-03-10 07:30-03'),
               ('Tue 08:30', '2026-03-10 08:30-03'),
               ('Tue 19:30', '2026-03-10 19:30-03'),
               ('Tue 20:00', '2026-03-10 20:00-03'),
               ('Sat 10:00', '2026-03-07 10:00-03'),
               ('Sat 15:00', '2026-03-07 15:00-03'),
               ('Sun 10:00', '2026-03-08 10:00-03')) AS t(label, ts),
       unnest('{SP,AL,RJ,ES,MG}'::text[]) AS uf
 ORDER BY uf, ts;

-- holidays push: Good Friday, and SP's 9 July (not a holiday in RJ)
SELECT uf, cobranca.next_contact_slot('2026-04-03 10:00-03', 'whatsapp', 'America/Sao_Paulo', uf) AS good_friday,
       cobranca.next_contact_slot('2026-07-09 10:00-03', 'whatsapp', 'America/Sao_Paulo', uf) AS july_9
  FROM unnest('{SP,RJ}'::text[]) AS uf;

-- the four Brazilian time zones, one instant (Tuesday 10:30 UTC)
SELECT tz, cobranca.next_contact_slot('2026-03-10 10:30Z', 'sms', tz, 'SP') AS slot,
       cobranca.next_contact_slot('2026-03-10 10:30Z', 'sms', tz, 'SP') AT TIME ZONE tz AS local_slot
  FROM unnest('{America/Noronha,America/Sao_Paulo,America/Manaus,America/Rio_Branco}'::text[]) AS tz;

-- daylight saving time (São Paulo until 2019): the start on 2018-11-04 and
-- the end on 2019-02-17 both fell on a Sunday night
SELECT cobranca.next_contact_slot('2018-11-03 15:00-03', 'phone', 'America/Sao_Paulo', 'SP') AS after_dst_start,
       cobranca.next_contact_slot('2019-02-16 15:00-02', 'phone', 'America/Sao_Paulo', 'SP') AS after_dst_end,
       cobranca.next_contact_slot('2018-11-05 09:00-02', 'phone', 'America/Sao_Paulo', 'SP') AS inside_dst;

-- reminder days move back to a lawful day, later steps keep theirs
SELECT uf, cobranca.cadence_day('2026-07-10', -1, 'sms', uf) AS d_minus_1_jul_10,
       cobranca.cadence_day('2026-04-06', -1, 'sms', uf) AS d_minus_1_easter_monday,
       cobranca.cadence_day('2026-07-06', 3, 'sms', uf) AS d_plus_3
  FROM unnest('{SP,RJ}'::text[]) AS uf;

-- a creditor may narrow the law, never widen it
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf, carnival_holiday)
VALUES ('Operadora Calendário', '11222333000181', 'health_plan', '654321', 'SP', true);
INSERT INTO cobranca.contact_window (creditor_id, uf, channel, weekday_from, weekday_until, saturday_from, saturday_until)
SELECT id, 'SP', NULL, '09:00', '18:00', NULL, NULL FROM cobranca.creditor WHERE name = 'Operadora Calendário';
INSERT INTO cobranca.contact_window (creditor_id, uf, channel, weekday_from, weekday_until)
SELECT id, 'RJ', 'phone', '08:00', '19:00' FROM cobranca.creditor WHERE name = 'Operadora Calendário';
INSERT INTO cobranca.contact_window (creditor_id, uf, channel, weekday_from, weekday_until, saturday_from, saturday_until)
SELECT id, 'ES', 'sms', '09:00', '12:00', '09:00', '12:00' FROM cobranca.creditor WHERE name = 'Operadora Calendário';
SELECT label, cobranca.next_contact_slot(ts, 'phone', 'America/Sao_Paulo', 'SP', c.id) AT TIME ZONE 'America/Sao_Paulo' AS creditor_slot,
       cobranca.next_contact_slot(ts, 'phone', 'America/Sao_Paulo', 'SP') AT TIME ZONE 'America/Sao_Paulo' AS law_slot
  FROM cobranca.creditor c,
       (VALUES ('Tue 08:30', timestamptz '2026-03-10 08:30-03'),
               ('Tue 18:30', '2026-03-10 18:30-03'),
               ('Sat 10:00', '2026-03-07 10:00-03'),
               ('Carnival Monday', '2026-02-16 10:00-03')) AS t(label, ts)
 WHERE c.name = 'Operadora Calendário';
-- the cache follows changes to the tables
UPDATE cobranca.contact_window SET weekday_from = '10:00'
 WHERE creditor_id = (SELECT id FROM cobranca.creditor WHERE name = 'Operadora Calendário') AND uf = 'SP';
SELECT cobranca.next_contact_slot('2026-03-10 08:30-03', 'phone', 'America/Sao_Paulo', 'SP', id) AT TIME ZONE 'America/Sao_Paulo'
  FROM cobranca.creditor WHERE name = 'Operadora Calendário';
INSERT INTO cobranca.holiday (uf, month, day, name) VALUES ('SP', 3, 10, 'Feriado de teste');
SELECT cobranca.next_contact_slot('2026-03-10 08:30-03', 'phone', 'America/Sao_Paulo', 'SP') AT TIME ZONE 'America/Sao_Paulo';
DELETE FROM cobranca.holiday WHERE name = 'Feriado de teste';
SELECT cobranca.next_contact_slot('2026-03-10 08:30-03', 'phone', 'America/Sao_Paulo', 'SP') AT TIME ZONE 'America/Sao_Paulo';

-- bad input
SELECT cobranca.next_contact_slot(now(), 'fax', 'America/Sao_Paulo', 'SP');
SELECT cobranca.next_contact_slot(now(), 'sms', 'Mars/Olympus', 'SP');
SELECT cobranca.next_contact_slot(now(), 'sms', 'America/Sao_Paulo', 'XX');
SELECT cobranca.easter(1200);
\set VERBOSITY terse
INSERT INTO cobranca.holiday (uf, month, day, name) VALUES ('SP', 2, 30, 'Trinta de fevereiro');
\set VERBOSITY default
SELECT cobranca.business_day('2026-03-10', 'XY');
SELECT cobranca.cadence_day('2026-03-10', -1, 'pigeon', 'SP');
SELECT cobranca.contact_day(NULL, 'sms', 'SP') IS NULL AS null_day_gives_null;
