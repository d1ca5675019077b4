-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.channel_capacity
  DROP CONSTRAINT channel_capacity_daily_limit_check,
  ADD CONSTRAINT channel_capacity_daily_limit_check CHECK (cobranca.check_range('channel_capacity.daily_limit', daily_limit, 0, 1000000));
ALTER TABLE cobranca.contact_event
  ADD CONSTRAINT contact_event_at_check CHECK (cobranca.check_timestamp('contact_event.at', at));

-- 0.2.0: evidence and sender data are references, not 1 MB blobs
ALTER TABLE cobranca.contact_event
  ADD CONSTRAINT contact_event_details_check
    CHECK (cobranca.check_rule(octet_length(details::text) <= 65536, 'contact_event.details is too large',
                               'contact_event.details has ' || octet_length(details::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.'));
