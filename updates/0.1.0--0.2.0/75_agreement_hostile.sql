-- 0.2.0: an empty invoice list is refused with its own words.
ALTER TABLE cobranca.agreement
  DROP CONSTRAINT agreement_invoice_ids_check,
  ADD CONSTRAINT agreement_invoice_ids_check
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'agreement.invoice_ids is empty',
                               'An agreement covers at least one invoice.'));
-- and no agreement date outside 1900-2099 ('infinity' included)
ALTER TABLE cobranca.agreement
  ADD CONSTRAINT agreement_as_of_check CHECK (cobranca.check_date('agreement.as_of', as_of)),
  ADD CONSTRAINT agreement_first_due_check CHECK (cobranca.check_date('agreement.first_due', first_due));
ALTER TABLE cobranca.agreement_installment
  DROP CONSTRAINT agreement_installment_n_check,
  ADD CONSTRAINT agreement_installment_n_check CHECK (cobranca.check_range('agreement_installment.n', n, 1, 360)),
  ADD CONSTRAINT agreement_installment_due_on_check CHECK (cobranca.check_date('agreement_installment.due_on', due_on));
