-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.channel_cost
  DROP CONSTRAINT channel_cost_cost_check,
  ADD CONSTRAINT channel_cost_cost_check CHECK (cobranca.check_range('channel_cost.cost', cost, 0, 10000));
