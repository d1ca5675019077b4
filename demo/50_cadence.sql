-- The contact cadence (régua de cobrança) of the sample portfolio: what the
-- generate_contacts job schedules tomorrow and over the coming week, at
-- lawful hours in each payer's own state and time zone, and what the
-- messages say.

\echo == Cadence rules in force (shipped defaults: creditor_id null)
SELECT offset_days AS "D", channel, name, invoice_kinds
  FROM cobranca.cadence_rule WHERE active AND creditor_id IS NULL
 ORDER BY offset_days, channel;

\echo == Contacts scheduled for tomorrow and the next 9 days (generate_contacts at 06:00 of each day)
SELECT d::date AS day, to_char(d, 'Dy') AS weekday,
       cobranca.generate_contacts((d::date + time '06:00') AT TIME ZONE 'America/Sao_Paulo') AS created
  FROM generate_series(current_date + 1, current_date + 10, interval '1 day') AS d
 ORDER BY d;

\echo == Per local day and channel (Sundays and holidays move to the next lawful slot)
SELECT contact_on, to_char(contact_on, 'Dy') AS weekday,
       count(*) FILTER (WHERE channel = 'email') AS email,
       count(*) FILTER (WHERE channel = 'sms') AS sms,
       count(*) FILTER (WHERE channel = 'whatsapp') AS whatsapp,
       count(*) FILTER (WHERE channel = 'phone') AS phone,
       count(*) FILTER (WHERE channel = 'letter') AS letter,
       sum(cardinality(invoice_ids)) AS invoices_covered
  FROM cobranca.contact
 WHERE contact_on > current_date AND status = 'scheduled'
 GROUP BY contact_on ORDER BY contact_on;

\echo == Earliest local hour per state (SP/AL 08-20 and Sat 08-14; RJ 09-19; ES 08-19; others follow SP)
SELECT p.uf, p.timezone, count(*) AS contacts,
       min((k.scheduled_at AT TIME ZONE p.timezone)::time) AS first_local_time,
       count(*) FILTER (WHERE extract(isodow FROM k.scheduled_at AT TIME ZONE p.timezone) = 6) AS on_saturday,
       count(*) FILTER (WHERE extract(isodow FROM k.scheduled_at AT TIME ZONE p.timezone) = 7) AS on_sunday
  FROM cobranca.contact k JOIN cobranca.payer p ON p.id = k.payer_id
 WHERE k.contact_on > current_date
 GROUP BY p.uf, p.timezone ORDER BY contacts DESC;

\echo == One payer, many invoices, one message a day
SELECT count(*) AS contacts,
       count(*) FILTER (WHERE cardinality(invoice_ids) > 1) AS covering_several_invoices,
       max(cardinality(invoice_ids)) AS most_invoices_in_one_contact,
       (SELECT count(*) FROM (SELECT payer_id, contact_on FROM cobranca.contact
                               WHERE status <> 'cancelled' GROUP BY 1, 2 HAVING count(*) > 1) x)
         AS payer_days_over_the_cap
  FROM cobranca.contact WHERE contact_on > current_date;

\echo == A few rendered messages (pt-BR)
\set QUIET 1
\pset format unaligned
\pset tuples_only on
SELECT '---- ' || k.channel || ' to payer ' || k.payer_id || ', ' || to_char(k.scheduled_at AT TIME ZONE p.timezone, 'DD/MM/YYYY HH24:MI')
       || ' (' || p.uf || ')' || E'\n' || cobranca.contact_message(k.id) || E'\n'
  FROM (SELECT DISTINCT ON (channel) * FROM cobranca.contact
         WHERE contact_on > current_date AND status = 'scheduled'
         ORDER BY channel, cardinality(invoice_ids) DESC, id) k
  JOIN cobranca.payer p ON p.id = k.payer_id
 ORDER BY k.channel;
\pset tuples_only off
\pset format aligned
\unset QUIET
