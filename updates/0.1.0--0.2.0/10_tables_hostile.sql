-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.creditor
  DROP CONSTRAINT creditor_name_check,
  ADD CONSTRAINT creditor_name_check CHECK (cobranca.check_text('creditor.name', name, 200, false)),
  DROP CONSTRAINT creditor_ans_registry_check,
  ADD CONSTRAINT creditor_ans_registry_check CHECK (cobranca.check_pattern('creditor.ans_registry', ans_registry, '^[0-9]{6}$', 'the 6 digits of the operator''s ANS registry')),
  ADD CONSTRAINT creditor_address_check CHECK (cobranca.check_text('creditor.address', address, 500, true)),
  ADD CONSTRAINT creditor_city_check CHECK (cobranca.check_text('creditor.city', city, 100, false)),
  DROP CONSTRAINT creditor_pix_key_check,
  ADD CONSTRAINT creditor_pix_key_check CHECK (cobranca.check_pattern('creditor.pix_key', pix_key, '^[!-~]{1,77}$', '1 to 77 printable ASCII characters without blanks: a CPF, CNPJ, e-mail, +55 phone or random key')),
  ADD CONSTRAINT creditor_service_phone_check CHECK (cobranca.check_text('creditor.service_phone', service_phone, 60, false)),
  ADD CONSTRAINT creditor_service_email_check CHECK (cobranca.check_text('creditor.service_email', service_email, 254, false)),
  ADD CONSTRAINT creditor_service_site_check CHECK (cobranca.check_text('creditor.service_site', service_site, 200, false)),
  DROP CONSTRAINT creditor_claims_break_even_pct_check,
  ADD CONSTRAINT creditor_claims_break_even_pct_check CHECK (cobranca.check_range('creditor.claims_break_even_pct', claims_break_even_pct, 0.01, 100));
ALTER TABLE cobranca.portfolio
  DROP CONSTRAINT portfolio_name_check,
  ADD CONSTRAINT portfolio_name_check CHECK (cobranca.check_text('portfolio.name', name, 200, false));
ALTER TABLE cobranca.payer
  DROP CONSTRAINT payer_external_id_check,
  ADD CONSTRAINT payer_external_id_check CHECK (cobranca.check_text('payer.external_id', external_id, 100, false)),
  DROP CONSTRAINT payer_name_check,
  ADD CONSTRAINT payer_name_check CHECK (cobranca.check_text('payer.name', name, 200, false)),
  DROP CONSTRAINT payer_email_check,
  ADD CONSTRAINT payer_email_check CHECK (cobranca.check_text('payer.email', email, 254, false)
    AND cobranca.check_pattern('payer.email', email, '^[^@[:space:]]+@[^@[:space:]]+$', 'an e-mail address such as nome@example.com.br')),
  DROP CONSTRAINT payer_phone_check,
  ADD CONSTRAINT payer_phone_check CHECK (cobranca.check_pattern('payer.phone', phone, '^\+?[0-9]{10,15}$', '10 to 15 digits, optionally after a +, without punctuation (e.g. +5511987654321)')),
  DROP CONSTRAINT payer_whatsapp_check,
  ADD CONSTRAINT payer_whatsapp_check CHECK (cobranca.check_pattern('payer.whatsapp', whatsapp, '^\+?[0-9]{10,15}$', '10 to 15 digits, optionally after a +, without punctuation (e.g. +5511987654321)')),
  ADD CONSTRAINT payer_address_check CHECK (cobranca.check_text('payer.address', address, 500, true));
ALTER TABLE cobranca.contract
  DROP CONSTRAINT contract_external_id_check,
  ADD CONSTRAINT contract_external_id_check CHECK (cobranca.check_text('contract.external_id', external_id, 100, false)),
  DROP CONSTRAINT contract_number_check,
  ADD CONSTRAINT contract_number_check CHECK (cobranca.check_text('contract.number', number, 60, false)),
  DROP CONSTRAINT contract_plan_name_check,
  ADD CONSTRAINT contract_plan_name_check CHECK (cobranca.check_text('contract.plan_name', plan_name, 200, false)),
  DROP CONSTRAINT contract_plan_ans_registry_check,
  ADD CONSTRAINT contract_plan_ans_registry_check CHECK (cobranca.check_pattern('contract.plan_ans_registry', plan_ans_registry, '^[0-9]{6,9}$', 'the plan''s ANS registry, 6 to 9 digits')),
  ADD CONSTRAINT contract_starts_on_check CHECK (cobranca.check_date('contract.starts_on', starts_on));
ALTER TABLE cobranca.hospitalization
  DROP CONSTRAINT hospitalization_external_id_check,
  ADD CONSTRAINT hospitalization_external_id_check CHECK (cobranca.check_text('hospitalization.external_id', external_id, 100, false)),
  ADD CONSTRAINT hospitalization_admitted_on_check CHECK (cobranca.check_date('hospitalization.admitted_on', admitted_on)),
  ADD CONSTRAINT hospitalization_discharged_on_check CHECK (cobranca.check_date('hospitalization.discharged_on', discharged_on));
ALTER TABLE cobranca.invoice
  DROP CONSTRAINT invoice_external_id_check,
  ADD CONSTRAINT invoice_external_id_check CHECK (cobranca.check_text('invoice.external_id', external_id, 100, false)),
  ADD CONSTRAINT invoice_competence_check CHECK (cobranca.check_date('invoice.competence', competence)),
  ADD CONSTRAINT invoice_issued_on_check CHECK (cobranca.check_date('invoice.issued_on', issued_on)),
  ADD CONSTRAINT invoice_due_on_check CHECK (cobranca.check_date('invoice.due_on', due_on));
ALTER TABLE cobranca.payment
  DROP CONSTRAINT payment_external_id_check,
  ADD CONSTRAINT payment_external_id_check CHECK (cobranca.check_text('payment.external_id', external_id, 100, false)),
  ADD CONSTRAINT payment_paid_at_check CHECK (cobranca.check_timestamp('payment.paid_at', paid_at));
ALTER TABLE cobranca.dispute
  DROP CONSTRAINT dispute_external_id_check,
  ADD CONSTRAINT dispute_external_id_check CHECK (cobranca.check_text('dispute.external_id', external_id, 100, false)),
  ADD CONSTRAINT dispute_opened_on_check CHECK (cobranca.check_date('dispute.opened_on', opened_on)),
  DROP CONSTRAINT dispute_reason_check,
  ADD CONSTRAINT dispute_reason_check CHECK (cobranca.check_text('dispute.reason', reason, 2000, true)),
  ADD CONSTRAINT dispute_answered_on_check CHECK (cobranca.check_date('dispute.answered_on', answered_on));
ALTER TABLE cobranca.claim
  DROP CONSTRAINT claim_external_id_check,
  ADD CONSTRAINT claim_external_id_check CHECK (cobranca.check_text('claim.external_id', external_id, 100, false)),
  ADD CONSTRAINT claim_occurred_on_check CHECK (cobranca.check_date('claim.occurred_on', occurred_on)),
  DROP CONSTRAINT claim_category_check,
  ADD CONSTRAINT claim_category_check CHECK (cobranca.check_text('claim.category', category, 60, false));
ALTER TABLE cobranca.cadence_rule
  DROP CONSTRAINT cadence_rule_name_check,
  ADD CONSTRAINT cadence_rule_name_check CHECK (cobranca.check_text('cadence_rule.name', name, 200, false)),
  DROP CONSTRAINT cadence_rule_offset_days_check,
  ADD CONSTRAINT cadence_rule_offset_days_check CHECK (cobranca.check_range('cadence_rule.offset_days', offset_days, -60, 1825)),
  DROP CONSTRAINT cadence_rule_invoice_kinds_check,
  ADD CONSTRAINT cadence_rule_invoice_kinds_check CHECK (cobranca.check_members('cadence_rule.invoice_kinds', invoice_kinds,
                                   '{premium,copay,private,disallowance,installment}')
           AND cobranca.check_rule(cardinality(invoice_kinds) > 0, 'cadence_rule.invoice_kinds is empty',
                                   'List at least one of premium, copay, private, disallowance, installment.')),
  DROP CONSTRAINT cadence_rule_min_probability_check,
  ADD CONSTRAINT cadence_rule_min_probability_check CHECK (cobranca.check_range('cadence_rule.min_probability', min_probability::numeric, 0, 1)),
  DROP CONSTRAINT cadence_rule_max_probability_check,
  ADD CONSTRAINT cadence_rule_max_probability_check CHECK (cobranca.check_range('cadence_rule.max_probability', max_probability::numeric, 0, 1)),
  ADD CONSTRAINT cadence_rule_template_check CHECK (cobranca.check_text('cadence_rule.template', template, 4000, true));
ALTER TABLE cobranca.contact
  ADD CONSTRAINT contact_contact_on_check CHECK (cobranca.check_date('contact.contact_on', contact_on)),
  ADD CONSTRAINT contact_scheduled_at_check CHECK (cobranca.check_timestamp('contact.scheduled_at', scheduled_at)),
  DROP CONSTRAINT contact_outcome_check,
  ADD CONSTRAINT contact_outcome_check CHECK (cobranca.check_text('contact.outcome', outcome, 200, false)),
  DROP CONSTRAINT contact_protocol_check,
  ADD CONSTRAINT contact_protocol_check CHECK (cobranca.check_pattern('contact.protocol', protocol, '^[0-9]{20}$', '20 digits: ANS registry (6), date yyyymmdd (8), sequence (6)')),
  DROP CONSTRAINT contact_attempt_check,
  ADD CONSTRAINT contact_attempt_check CHECK (cobranca.check_range('contact.attempt', attempt, 1, 5)),
  DROP CONSTRAINT contact_notes_check,
  ADD CONSTRAINT contact_notes_check CHECK (cobranca.check_text('contact.notes', notes, 4000, true));
ALTER TABLE cobranca.contract
  DROP CONSTRAINT contract_reason_required,
  ADD CONSTRAINT contract_reason_required
    CHECK (cobranca.check_rule(status NOT IN ('suspended', 'cancelled') OR status_reason IS NOT NULL,
                               'contract.status_reason is required for a suspended or cancelled contract',
                               'contract.status is ' || status || '; give the reason: default, fraud, request or other.'));
ALTER TABLE cobranca.contact
  DROP CONSTRAINT contact_invoice_ids_check,
  ADD CONSTRAINT contact_invoice_ids_check
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'contact.invoice_ids is empty',
                               'A contact covers at least one invoice.'));
ALTER TABLE cobranca.default_notice
  DROP CONSTRAINT default_notice_invoice_ids_check,
  ADD CONSTRAINT default_notice_invoice_ids_check
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'default_notice.invoice_ids is empty',
                               'A notice lists at least one overdue premium.'));

-- 0.2.0: evidence and sender data are references, not 1 MB blobs
ALTER TABLE cobranca.default_notice
  ADD CONSTRAINT default_notice_proof_check
    CHECK (cobranca.check_rule(octet_length(proof::text) <= 65536, 'default_notice.proof is too large',
                               'default_notice.proof has ' || octet_length(proof::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.'));
ALTER TABLE cobranca.default_notice
  ADD CONSTRAINT default_notice_attempts_check
    CHECK (cobranca.check_rule(octet_length(attempts::text) <= 65536, 'default_notice.attempts is too large',
                               'default_notice.attempts has ' || octet_length(attempts::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.'));
