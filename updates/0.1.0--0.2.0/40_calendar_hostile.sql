-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.holiday
  DROP CONSTRAINT holiday_month_check,
  ADD CONSTRAINT holiday_month_check CHECK (cobranca.check_range('holiday.month', month, 1, 12)),
  DROP CONSTRAINT holiday_day_check,
  ADD CONSTRAINT holiday_day_check CHECK (cobranca.check_range('holiday.day', day, 1, 31)),
  DROP CONSTRAINT holiday_easter_offset_check,
  ADD CONSTRAINT holiday_easter_offset_check CHECK (cobranca.check_range('holiday.easter_offset', easter_offset, -100, 100)),
  DROP CONSTRAINT holiday_name_check,
  ADD CONSTRAINT holiday_name_check CHECK (cobranca.check_text('holiday.name', name, 200, false)),
  ADD CONSTRAINT holiday_law_check CHECK (cobranca.check_text('holiday.law', law, 300, true));
ALTER TABLE cobranca.contact_window
  ADD CONSTRAINT contact_window_law_check CHECK (cobranca.check_text('contact_window.law', law, 300, true));
