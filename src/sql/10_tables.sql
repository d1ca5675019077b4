-- The public tables (SPEC §3b).  Column names are the contract with ERPs and
-- BI tools: columns may be added, never renamed.
--
-- Every domain table carries creditor_id, the tenant key: row-level security
-- filters on it and a distributed layout would shard on it.  Where the ERP
-- may omit it, the bookkeeping triggers (15_bookkeeping.sql) fill it from
-- the parent row and refuse a value that disagrees with the parent.

CREATE TABLE cobranca.creditor (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                  text NOT NULL CHECK (cobranca.check_text('creditor.name', name, 200, false)),
  document              text NOT NULL,
  kind                  text NOT NULL
    CHECK (cobranca.check_member('creditor.kind', kind, '{health_plan,clinic,hospital,lab}')),
  ans_registry          text
    CHECK (cobranca.check_pattern('creditor.ans_registry', ans_registry, '^[0-9]{6}$', 'the 6 digits of the operator''s ANS registry')),
  address               text
    CHECK (cobranca.check_text('creditor.address', address, 500, true)),
  city                  text
    CHECK (cobranca.check_text('creditor.city', city, 100, false)),
  uf                    text CHECK (cobranca.check_uf('creditor.uf', uf)),
  pix_key               text CHECK (cobranca.check_pattern('creditor.pix_key', pix_key, '^[!-~]{1,77}$', '1 to 77 printable ASCII characters without blanks: a CPF, CNPJ, e-mail, +55 phone or random key')),
  fine_pct              numeric(5,2) NOT NULL DEFAULT 2.00
    CHECK (cobranca.check_range('creditor.fine_pct', fine_pct, 0, 2)),
  interest_month_pct    numeric(5,2) NOT NULL DEFAULT 1.00
    CHECK (cobranca.check_range('creditor.interest_month_pct', interest_month_pct, 0, 1)),
  timezone              text NOT NULL DEFAULT 'America/Sao_Paulo'
    CHECK (cobranca.check_timezone('creditor.timezone', timezone)),
  service_phone         text
    CHECK (cobranca.check_text('creditor.service_phone', service_phone, 60, false)),
  service_email         text
    CHECK (cobranca.check_text('creditor.service_email', service_email, 254, false)),
  service_site          text
    CHECK (cobranca.check_text('creditor.service_site', service_site, 200, false)),
  notice_day            integer NOT NULL DEFAULT 35
    CHECK (cobranca.check_range('creditor.notice_day', notice_day, 1, 50)),
  carnival_holiday      boolean NOT NULL DEFAULT false,
  claims_break_even_pct numeric(5,2) NOT NULL DEFAULT 70.00
    CHECK (cobranca.check_range('creditor.claims_break_even_pct', claims_break_even_pct, 0.01, 100)),
  created_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT creditor_document_valid
    CHECK (cobranca.check_rule(cobranca.cnpj_valid(document), 'invalid CNPJ in creditor.document',
                               'creditor.document must be a CNPJ with matching check digits.')),
  CONSTRAINT creditor_ans_registry_required
    CHECK (cobranca.check_rule(kind <> 'health_plan' OR ans_registry IS NOT NULL,
                               'creditor.ans_registry is required for a health_plan',
                               'Health-plan operators print their 6-digit ANS registry on notices and protocols.')),
  CONSTRAINT creditor_document_key UNIQUE (document)
);
COMMENT ON TABLE cobranca.creditor IS
  'Who is owed: a health-plan operator, clinic, hospital or lab; the tenant of every other row';
COMMENT ON COLUMN cobranca.creditor.document IS 'CNPJ, normalized (no punctuation); printed on every collection text (CDC art. 42-A)';
COMMENT ON COLUMN cobranca.creditor.ans_registry IS 'ANS operator registry, 6 digits; required for health_plan';
COMMENT ON COLUMN cobranca.creditor.fine_pct IS 'late fine in percent of the overdue amount, at most 2 (CDC art. 52 §1º)';
COMMENT ON COLUMN cobranca.creditor.interest_month_pct IS 'late interest in percent a month, pro rata die, at most 1';
COMMENT ON COLUMN cobranca.creditor.timezone IS 'time zone of the creditor''s own dates (notices, protocols)';
COMMENT ON COLUMN cobranca.creditor.notice_day IS 'day of default on which the RN 593 notice is drafted (≤ 50)';
COMMENT ON COLUMN cobranca.creditor.carnival_holiday IS 'whether Carnival Monday and Tuesday are non-business days';
COMMENT ON COLUMN cobranca.creditor.claims_break_even_pct IS 'claims ratio above which a contract is flagged';

CREATE TABLE cobranca.portfolio (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  name        text NOT NULL CHECK (cobranca.check_text('portfolio.name', name, 200, false)),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT portfolio_name_key UNIQUE (creditor_id, name)
);
COMMENT ON TABLE cobranca.portfolio IS
  'A creditor''s set of payers worked by one team; the unit of assignment and of KPIs';

CREATE TABLE cobranca.assignment (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id  bigint NOT NULL REFERENCES cobranca.creditor,
  login        name NOT NULL,
  portfolio_id bigint NOT NULL REFERENCES cobranca.portfolio ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT assignment_key UNIQUE (login, portfolio_id)
);
CREATE INDEX assignment_portfolio_idx ON cobranca.assignment (portfolio_id);
COMMENT ON TABLE cobranca.assignment IS
  'Which portfolios a login works (analysts, supervisors, legal); creditor_id is taken from the portfolio';

CREATE TABLE cobranca.payer (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id     bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id    bigint NOT NULL REFERENCES cobranca.portfolio,
  external_id     text CHECK (cobranca.check_text('payer.external_id', external_id, 100, false)),
  kind            text NOT NULL DEFAULT 'person'
    CHECK (cobranca.check_member('payer.kind', kind, '{person,company}')),
  document        text NOT NULL,
  document_cipher bytea,
  document_digest bytea,
  document_key    smallint REFERENCES cobranca.key_ring,
  name            text NOT NULL CHECK (cobranca.check_text('payer.name', name, 200, false)),
  email           text CHECK (cobranca.check_text('payer.email', email, 254, false)
    AND cobranca.check_pattern('payer.email', email, '^[^@[:space:]]+@[^@[:space:]]+$', 'an e-mail address such as nome@example.com.br')),
  phone           text CHECK (cobranca.check_pattern('payer.phone', phone, '^\+?[0-9]{10,15}$', '10 to 15 digits, optionally after a +, without punctuation (e.g. +5511987654321)')),
  whatsapp        text CHECK (cobranca.check_pattern('payer.whatsapp', whatsapp, '^\+?[0-9]{10,15}$', '10 to 15 digits, optionally after a +, without punctuation (e.g. +5511987654321)')),
  address         text
    CHECK (cobranca.check_text('payer.address', address, 500, true)),
  uf              text NOT NULL DEFAULT 'SP' CHECK (cobranca.check_uf('payer.uf', uf)),
  timezone        text NOT NULL DEFAULT 'America/Sao_Paulo'
    CHECK (cobranca.check_timezone('payer.timezone', timezone)),
  opt_out         text[] NOT NULL DEFAULT '{}'
    CHECK (cobranca.check_channels('payer.opt_out', opt_out)),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT payer_external_key UNIQUE (creditor_id, external_id)
);
CREATE INDEX payer_portfolio_idx ON cobranca.payer (portfolio_id);
COMMENT ON TABLE cobranca.payer IS
  'Who owes: a beneficiary holder, a patient or a company; the unit of contact';
COMMENT ON COLUMN cobranca.payer.document IS
  'CPF (person) or CNPJ (company): written in clear by the ERP, punctuation optional; stored masked (***.456.789-**), the clear value only encrypted in document_cipher';
COMMENT ON COLUMN cobranca.payer.document_cipher IS 'the normalized document, AES-256-GCM encrypted (see doc/security.md)';
COMMENT ON COLUMN cobranca.payer.document_key IS 'the data key (cobranca.key_ring) under which document_cipher was made';
COMMENT ON COLUMN cobranca.payer.document_digest IS 'keyed digest (HMAC-SHA-256) of the normalized document, for cobranca.find_payer';
COMMENT ON COLUMN cobranca.payer.uf IS 'state of residence: decides contact hours and state holidays';
COMMENT ON COLUMN cobranca.payer.timezone IS 'the payer''s time zone: business-rule dates and contact hours are local to it';
COMMENT ON COLUMN cobranca.payer.opt_out IS 'channels the payer refused (LGPD art. 18): never used for contacts';

CREATE TABLE cobranca.contract (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id       bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id      bigint NOT NULL REFERENCES cobranca.portfolio,
  payer_id          bigint NOT NULL REFERENCES cobranca.payer,
  external_id       text CHECK (cobranca.check_text('contract.external_id', external_id, 100, false)),
  number            text NOT NULL CHECK (cobranca.check_text('contract.number', number, 60, false)),
  plan_name         text NOT NULL CHECK (cobranca.check_text('contract.plan_name', plan_name, 200, false)),
  plan_ans_registry text CHECK (cobranca.check_pattern('contract.plan_ans_registry', plan_ans_registry, '^[0-9]{6,9}$', 'the plan''s ANS registry, 6 to 9 digits')),
  plan_type         text NOT NULL
    CHECK (cobranca.check_member('contract.plan_type', plan_type,
           '{individual,family,collective_membership,collective_business}')),
  paid_by_person    boolean,
  starts_on         date NOT NULL
    CHECK (cobranca.check_date('contract.starts_on', starts_on)),
  status            text NOT NULL DEFAULT 'active'
    CHECK (cobranca.check_member('contract.status', status, '{active,suspended,cancelled}')),
  status_reason     text
    CHECK (cobranca.check_member('contract.status_reason', status_reason, '{default,fraud,request,other}')),
  status_changed_at timestamptz,
  created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT contract_external_key UNIQUE (creditor_id, external_id),
  CONSTRAINT contract_reason_required
    CHECK (cobranca.check_rule(status NOT IN ('suspended', 'cancelled') OR status_reason IS NOT NULL,
                               'contract.status_reason is required for a suspended or cancelled contract',
                               'contract.status is ' || status || '; give the reason: default, fraud, request or other.'))
);
CREATE INDEX contract_payer_idx ON cobranca.contract (payer_id);
COMMENT ON TABLE cobranca.contract IS
  'A health-plan contract (or a clinic''s service contract); status changes for default pass the RN 593 guard';
COMMENT ON COLUMN cobranca.contract.paid_by_person IS
  'a natural person pays the operator directly (RN 593 applies); defaults to true for individual and family plans, false otherwise';
COMMENT ON COLUMN cobranca.contract.status_reason IS 'why the contract is suspended or cancelled: default, fraud, request, other';

CREATE TABLE cobranca.hospitalization (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id   bigint NOT NULL REFERENCES cobranca.creditor,
  contract_id   bigint NOT NULL REFERENCES cobranca.contract,
  external_id   text CHECK (cobranca.check_text('hospitalization.external_id', external_id, 100, false)),
  admitted_on   date NOT NULL
    CHECK (cobranca.check_date('hospitalization.admitted_on', admitted_on)),
  discharged_on date
    CHECK (cobranca.check_date('hospitalization.discharged_on', discharged_on)),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT hospitalization_external_key UNIQUE (creditor_id, external_id),
  CONSTRAINT hospitalization_dates
    CHECK (cobranca.check_not_before('hospitalization.discharged_on', discharged_on,
                                     'hospitalization.admitted_on', admitted_on))
);
CREATE INDEX hospitalization_open_idx ON cobranca.hospitalization (contract_id)
  WHERE discharged_on IS NULL;
COMMENT ON TABLE cobranca.hospitalization IS
  'Hospital stays of a contract''s holder: no cancellation while one is open (Lei 9.656 art. 13 par. único III). Health data: never shown to analysts, never used for scoring';

CREATE TABLE cobranca.invoice (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id     bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id    bigint NOT NULL REFERENCES cobranca.portfolio,
  payer_id        bigint NOT NULL REFERENCES cobranca.payer,
  contract_id     bigint REFERENCES cobranca.contract,
  external_id     text CHECK (cobranca.check_text('invoice.external_id', external_id, 100, false)),
  kind            text NOT NULL
    CHECK (cobranca.check_member('invoice.kind', kind, '{premium,copay,private,disallowance,installment}')),
  competence      date
    CHECK (cobranca.check_date('invoice.competence', competence)),
  issued_on       date NOT NULL DEFAULT CURRENT_DATE
    CHECK (cobranca.check_date('invoice.issued_on', issued_on)),
  due_on          date NOT NULL
    CHECK (cobranca.check_date('invoice.due_on', due_on)),
  amount          numeric(14,2) NOT NULL CHECK (cobranca.check_positive('invoice.amount', amount)),
  paid_total      numeric(14,2) NOT NULL DEFAULT 0,
  balance         numeric(14,2) NOT NULL DEFAULT 0,
  credit          numeric(14,2) NOT NULL DEFAULT 0,
  status          text NOT NULL DEFAULT 'open'
    CHECK (cobranca.check_member('invoice.status', status,
           '{open,paid,disputed,in_agreement,cancelled,written_off}')),
  open_disputes   integer NOT NULL DEFAULT 0,
  agreement_id    bigint,
  last_payment_on date,
  paid_on         date,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT invoice_external_key UNIQUE (creditor_id, external_id),
  CONSTRAINT invoice_due_after_issue
    CHECK (cobranca.check_not_before('invoice.due_on', due_on, 'invoice.issued_on', issued_on)),
  CONSTRAINT invoice_competence_first_day
    CHECK (cobranca.check_rule(competence = date_trunc('month', competence)::date,
                               'invoice.competence must be the first day of a month',
                               'For example 2026-03-01 for the premium of March 2026.')),
  CONSTRAINT invoice_premium_needs_contract
    CHECK (cobranca.check_rule(kind <> 'premium' OR (contract_id IS NOT NULL AND competence IS NOT NULL),
                               'a premium needs invoice.contract_id and invoice.competence',
                               'A premium bills one month of a contract: both must be given.')),
  CONSTRAINT invoice_bookkeeping
    CHECK (paid_total >= 0 AND balance >= 0 AND credit >= 0 AND open_disputes >= 0)
);
CREATE INDEX invoice_payer_idx ON cobranca.invoice (payer_id);
CREATE INDEX invoice_contract_idx ON cobranca.invoice (contract_id, due_on) WHERE contract_id IS NOT NULL;
CREATE INDEX invoice_open_due_idx ON cobranca.invoice (due_on)
  WHERE status IN ('open', 'disputed', 'in_agreement');
CREATE INDEX invoice_portfolio_idx ON cobranca.invoice (portfolio_id, status);
COMMENT ON TABLE cobranca.invoice IS
  'A bill (título): premium, copay, private bill, disallowance charged to the payer, or agreement installment';
COMMENT ON COLUMN cobranca.invoice.competence IS 'first day of the billed month (required for premiums)';
COMMENT ON COLUMN cobranca.invoice.amount IS 'amount billed, BRL, > 0';
COMMENT ON COLUMN cobranca.invoice.paid_total IS 'sum of the payments recorded against it (maintained)';
COMMENT ON COLUMN cobranca.invoice.balance IS 'amount − payments, never below zero (maintained)';
COMMENT ON COLUMN cobranca.invoice.credit IS 'payments beyond the amount: an overpayment owed back or to be applied (maintained)';
COMMENT ON COLUMN cobranca.invoice.status IS
  'open, paid (balance 0), disputed (a dispute is open), in_agreement (covered by an active agreement), cancelled, written_off; maintained except for the final cancelled and written_off, which staff or the ERP set';
COMMENT ON COLUMN cobranca.invoice.open_disputes IS 'number of unanswered disputes (maintained)';
COMMENT ON COLUMN cobranca.invoice.agreement_id IS 'the active agreement covering it, if any';
COMMENT ON COLUMN cobranca.invoice.last_payment_on IS 'date of the latest payment, in the payer''s time zone (maintained)';
COMMENT ON COLUMN cobranca.invoice.updated_at IS 'last direct change of the row (payments and disputes are recorded in their own rows)';
COMMENT ON COLUMN cobranca.invoice.paid_on IS 'date on which it was settled, in the payer''s time zone (maintained)';

CREATE TABLE cobranca.payment (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  invoice_id  bigint NOT NULL REFERENCES cobranca.invoice,
  external_id text CHECK (cobranca.check_text('payment.external_id', external_id, 100, false)),
  paid_at     timestamptz NOT NULL DEFAULT pg_catalog.now()
    CHECK (cobranca.check_timestamp('payment.paid_at', paid_at)),
  amount      numeric(14,2) NOT NULL CHECK (cobranca.check_positive('payment.amount', amount)),
  method      text NOT NULL
    CHECK (cobranca.check_member('payment.method', method, '{pix,boleto,card,cash,transfer}')),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT payment_external_key UNIQUE (creditor_id, external_id)
);
CREATE INDEX payment_invoice_idx ON cobranca.payment (invoice_id);
CREATE INDEX payment_paid_at_idx ON cobranca.payment USING brin (paid_at);
COMMENT ON TABLE cobranca.payment IS
  'Money received against an invoice; keeps the invoice''s balance and status right in the same transaction';

CREATE TABLE cobranca.dispute (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  invoice_id  bigint NOT NULL REFERENCES cobranca.invoice,
  external_id text CHECK (cobranca.check_text('dispute.external_id', external_id, 100, false)),
  opened_on   date NOT NULL DEFAULT CURRENT_DATE
    CHECK (cobranca.check_date('dispute.opened_on', opened_on)),
  reason      text NOT NULL CHECK (cobranca.check_text('dispute.reason', reason, 2000, true)),
  answered_on date
    CHECK (cobranca.check_date('dispute.answered_on', answered_on)),
  outcome     text CHECK (cobranca.check_member('dispute.outcome', outcome, '{upheld,rejected}')),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT dispute_external_key UNIQUE (creditor_id, external_id),
  CONSTRAINT dispute_dates
    CHECK (cobranca.check_not_before('dispute.answered_on', answered_on, 'dispute.opened_on', opened_on)),
  CONSTRAINT dispute_answer_complete CHECK ((answered_on IS NULL) = (outcome IS NULL))
);
CREATE INDEX dispute_invoice_idx ON cobranca.dispute (invoice_id);
COMMENT ON TABLE cobranca.dispute IS
  'A contestation (glosa, contestação) of an invoice: while unanswered the invoice is disputed, never contacted nor noticed';
COMMENT ON COLUMN cobranca.dispute.outcome IS
  'upheld (the payer was right: the ERP corrects or cancels the invoice) or rejected (the debt stands)';

CREATE TABLE cobranca.claim (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  contract_id bigint NOT NULL REFERENCES cobranca.contract,
  external_id text CHECK (cobranca.check_text('claim.external_id', external_id, 100, false)),
  occurred_on date NOT NULL
    CHECK (cobranca.check_date('claim.occurred_on', occurred_on)),
  amount      numeric(14,2) NOT NULL CHECK (cobranca.check_positive('claim.amount', amount)),
  category    text CHECK (cobranca.check_text('claim.category', category, 60, false)),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT claim_external_key UNIQUE (creditor_id, external_id)
);
CREATE INDEX claim_contract_idx ON cobranca.claim (contract_id, occurred_on);
COMMENT ON TABLE cobranca.claim IS
  'Cost of care paid by the operator under a contract (sinistro), for the claims ratio only. Health data: never shown to analysts, never used for scoring';
COMMENT ON COLUMN cobranca.claim.category IS 'broad cost category (consultation, exam, therapy, hospital, other); never a diagnosis or procedure';

CREATE TABLE cobranca.cadence_rule (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id   bigint REFERENCES cobranca.creditor,
  name          text NOT NULL CHECK (cobranca.check_text('cadence_rule.name', name, 200, false)),
  offset_days   integer NOT NULL CHECK (cobranca.check_range('cadence_rule.offset_days', offset_days, -60, 1825)),
  channel       text NOT NULL
    CHECK (cobranca.check_member('cadence_rule.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  invoice_kinds text[] NOT NULL DEFAULT '{premium,copay,private,disallowance,installment}'
    CHECK (cobranca.check_members('cadence_rule.invoice_kinds', invoice_kinds,
                                   '{premium,copay,private,disallowance,installment}')
           AND cobranca.check_rule(cardinality(invoice_kinds) > 0, 'cadence_rule.invoice_kinds is empty',
                                   'List at least one of premium, copay, private, disallowance, installment.')),
  min_probability float8 CHECK (cobranca.check_range('cadence_rule.min_probability', min_probability::numeric, 0, 1)),
  max_probability float8 CHECK (cobranca.check_range('cadence_rule.max_probability', max_probability::numeric, 0, 1)),
  template      text
    CHECK (cobranca.check_text('cadence_rule.template', template, 4000, true)),
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX cadence_rule_creditor_idx ON cobranca.cadence_rule (creditor_id) WHERE active;
COMMENT ON TABLE cobranca.cadence_rule IS
  'A step of the contact cadence (régua): offset in days from the due date, channel, invoice kinds; creditor_id null applies to every creditor';
COMMENT ON COLUMN cobranca.cadence_rule.offset_days IS 'days from the due date: negative is a reminder before it';
COMMENT ON COLUMN cobranca.cadence_rule.min_probability IS 'optional score band: the rule applies only at or above this payment probability';
COMMENT ON COLUMN cobranca.cadence_rule.max_probability IS 'optional score band: the rule applies only at or below this payment probability';

CREATE TABLE cobranca.contact (
  id           bigint GENERATED ALWAYS AS IDENTITY,
  creditor_id  bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id bigint NOT NULL REFERENCES cobranca.portfolio,
  payer_id     bigint NOT NULL REFERENCES cobranca.payer,
  invoice_ids  bigint[] NOT NULL
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'contact.invoice_ids is empty',
                               'A contact covers at least one invoice.')),
  rule_id      bigint REFERENCES cobranca.cadence_rule,
  channel      text NOT NULL
    CHECK (cobranca.check_member('contact.channel', channel, '{email,sms,whatsapp,phone,letter}')),
  contact_on   date NOT NULL
    CHECK (cobranca.check_date('contact.contact_on', contact_on)),
  scheduled_at timestamptz NOT NULL
    CHECK (cobranca.check_timestamp('contact.scheduled_at', scheduled_at)),
  status       text NOT NULL DEFAULT 'scheduled'
    CHECK (cobranca.check_member('contact.status', status,
           '{scheduled,sent,delivered,read,replied,failed,cancelled,done}')),
  outcome      text CHECK (cobranca.check_text('contact.outcome', outcome, 200, false)),
  protocol     text CHECK (cobranca.check_pattern('contact.protocol', protocol, '^[0-9]{20}$', '20 digits: ANS registry (6), date yyyymmdd (8), sequence (6)')),
  attempt      integer NOT NULL DEFAULT 1 CHECK (cobranca.check_range('contact.attempt', attempt, 1, 5)),
  notes        text CHECK (cobranca.check_text('contact.notes', notes, 4000, true)),
  message      text,
  claimed_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
) PARTITION BY RANGE (contact_on);
-- Partitioned by month of contact_on, the payer's local day
-- (92_partition.sql).  As for audit_log, the keys and indexes are the
-- partitions' own, modelled on the default partition's: id is unique since
-- it comes from one identity sequence, and (payer_id, channel, contact_on),
-- which holds the month, is unique across the table.
CREATE TABLE cobranca.contact_default PARTITION OF cobranca.contact DEFAULT;
ALTER TABLE cobranca.contact_default ADD CONSTRAINT contact_default_pkey PRIMARY KEY (id);
ALTER TABLE cobranca.contact_default ADD CONSTRAINT contact_default_one_per_channel_day
  UNIQUE (payer_id, channel, contact_on);
CREATE INDEX contact_default_due_idx ON cobranca.contact_default (channel, scheduled_at)
  WHERE status = 'scheduled' AND claimed_at IS NULL;
CREATE INDEX contact_default_invoices_idx ON cobranca.contact_default USING gin (invoice_ids);
CREATE INDEX contact_default_capacity_idx ON cobranca.contact_default (creditor_id, channel, contact_on)
  WHERE status <> 'cancelled';
-- The table has no key of its own to identify its rows to a logical
-- replica (the BI replica, 93_replica.sql): its published rows carry every
-- column, and the replica finds them by the partitions' primary key.  No
-- cost: a partitioned table stores nothing; its partitions log by their key.
ALTER TABLE cobranca.contact REPLICA IDENTITY FULL;
COMMENT ON TABLE cobranca.contact IS
  'A contact of the cadence: one per payer, channel and local day, covering all of the payer''s due invoices';
COMMENT ON COLUMN cobranca.contact.contact_on IS 'the payer''s local day of the contact: at most one per payer, channel and day';
COMMENT ON COLUMN cobranca.contact.message IS 'the rendered text, written when a sender claims the contact';
COMMENT ON COLUMN cobranca.contact.claimed_at IS 'when a sender claimed it through cobranca.claim_contacts (handed out once)';
COMMENT ON COLUMN cobranca.contact.protocol IS 'ANS protocol number of a human contact (RN 395/2016): registry(6) + yyyymmdd + sequence(6)';

CREATE TABLE cobranca.default_notice (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  creditor_id          bigint NOT NULL REFERENCES cobranca.creditor,
  portfolio_id         bigint NOT NULL REFERENCES cobranca.portfolio,
  contract_id          bigint NOT NULL REFERENCES cobranca.contract,
  invoice_ids          bigint[] NOT NULL
    CHECK (cobranca.check_rule(cardinality(invoice_ids) > 0, 'default_notice.invoice_ids is empty',
                               'A notice lists at least one overdue premium.')),
  amount_due           numeric(14,2) NOT NULL CHECK (cobranca.check_positive('default_notice.amount_due', amount_due)),
  default_since        date NOT NULL,
  drafted_on           date NOT NULL DEFAULT CURRENT_DATE,
  status               text NOT NULL DEFAULT 'draft'
    CHECK (cobranca.check_member('default_notice.status', status,
           '{draft,sent,confirmed,unreachable,cured,expired,void}')),
  body                 text NOT NULL,
  channel              text
    CHECK (cobranca.check_member('default_notice.channel', channel,
           '{email,sms,whatsapp,phone,ivr,letter,agent}')),
  confirmed_at         timestamptz,
  proof                jsonb
    CHECK (cobranca.check_rule(octet_length(proof::text) <= 65536, 'default_notice.proof is too large',
                               'default_notice.proof has ' || octet_length(proof::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.')),
  attempts             jsonb
    CHECK (cobranca.check_rule(octet_length(attempts::text) <= 65536, 'default_notice.attempts is too large',
                               'default_notice.attempts has ' || octet_length(attempts::text) || ' bytes as text; at most 65536: keep references to documents and recordings, not their content.')),
  term_start_on        date,
  deadline_on          date,
  confirmed_by_day_50  boolean,
  closed_at            timestamptz,
  created_at           timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at           timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX default_notice_contract_idx ON cobranca.default_notice (contract_id);
-- One live notice per contract: it serves one default episode until it is
-- cured or voided; concurrent drafting runs meet on this index.
CREATE UNIQUE INDEX default_notice_live_key ON cobranca.default_notice (contract_id)
  WHERE status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired');
CREATE INDEX default_notice_invoices_idx ON cobranca.default_notice USING gin (invoice_ids)
  WHERE status IN ('draft', 'sent', 'confirmed', 'unreachable', 'expired');
COMMENT ON TABLE cobranca.default_notice IS
  'An ANS RN 593/2023 default notice: drafted by the jobs, confirmed with proof of receipt; its deadline gates cancellation for default (see doc/rn593.md)';
COMMENT ON COLUMN cobranca.default_notice.invoice_ids IS 'the overdue premiums listed in the notice';
COMMENT ON COLUMN cobranca.default_notice.amount_due IS 'sum of the listed premiums'' balances when drafted, BRL (without fine and interest)';
COMMENT ON COLUMN cobranca.default_notice.default_since IS 'due date of the oldest listed unpaid premium; day n of the default is default_since + n';
COMMENT ON COLUMN cobranca.default_notice.drafted_on IS 'the payer''s local date as of which the notice was drafted (the jobs always give it)';
COMMENT ON COLUMN cobranca.default_notice.status IS
  'draft, sent, confirmed (receipt proved), unreachable (every registered channel failed), expired (deadline passed unpaid), cured (paid or no longer two listed premiums unpaid), void (debt renegotiated)';
COMMENT ON COLUMN cobranca.default_notice.body IS 'the pt-BR text of the notice, as rendered when drafted; never health data';
COMMENT ON COLUMN cobranca.default_notice.channel IS 'channel through which receipt was confirmed (RN 593 art. 8)';
COMMENT ON COLUMN cobranca.default_notice.confirmed_at IS 'when the beneficiary received the notice';
COMMENT ON COLUMN cobranca.default_notice.proof IS 'evidence of receipt, keys per channel (read_receipt or certificate, reply, recording and data_confirmed, ar, signed_receipt)';
COMMENT ON COLUMN cobranca.default_notice.attempts IS 'failed delivery attempts, [{channel, at, result}], for an unreachable notice';
COMMENT ON COLUMN cobranca.default_notice.term_start_on IS 'local date from which the 10 days run: confirmation date, or last failed attempt (computed)';
COMMENT ON COLUMN cobranca.default_notice.deadline_on IS 'last day of the 10-day term (term start + 10, moved to a dispute answer + 10; null while a dispute is pending): computed by trigger, never written by hand';
COMMENT ON COLUMN cobranca.default_notice.confirmed_by_day_50 IS 'the term started by day 50 of the default (RN 593): staff KPI (computed)';
COMMENT ON COLUMN cobranca.default_notice.closed_at IS 'when the notice was cured, voided or expired';

-- The job runner's registry: each periodic job is one row, so that a new
-- capability plugs into run_jobs() and the background worker by inserting
-- its row.  A job function takes the cycle's instant and returns how many
-- rows it touched.
CREATE TABLE cobranca.job (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z_]+$'),
  position    integer NOT NULL UNIQUE,
  function    regprocedure NOT NULL,
  description text NOT NULL,
  enabled     boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE cobranca.job IS
  'Periodic jobs run in position order by cobranca.run_jobs() and the background worker; function(as_of timestamptz) returns bigint';

-- pg_dump keeps the rows of extension tables only when told to.
SELECT pg_catalog.pg_extension_config_dump('cobranca.creditor', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.portfolio', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.assignment', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.payer', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contract', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.hospitalization', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.invoice', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.payment', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.dispute', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.claim', '');
-- rules shipped with the extension have creditor_id null and are recreated by
-- CREATE EXTENSION; only the creditors' own rules are dumped
SELECT pg_catalog.pg_extension_config_dump('cobranca.cadence_rule', 'WHERE creditor_id IS NOT NULL');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.default_notice', '');

-- Identity sequences are dumped with their tables, so that ids handed out
-- after a restore do not collide with restored rows.
SELECT pg_catalog.pg_extension_config_dump('cobranca.creditor_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.portfolio_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.assignment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.payer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contract_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.hospitalization_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.invoice_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.payment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.dispute_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.claim_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.cadence_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.contact_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.default_notice_id_seq', '');
