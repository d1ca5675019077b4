-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.channel_capacity
  DROP CONSTRAINT channel_capacity_daily_limit_check,
  ADD CONSTRAINT channel_capacity_daily_limit_check CHECK (cobranca.check_range('channel_capacity.daily_limit', daily_limit, 0, 1000000));
ALTER TABLE cobranca.contact_event
  ADD CONSTRAINT contact_event_at_check CHECK (cobranca.check_timestamp('contact_event.at', at));
