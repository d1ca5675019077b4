-- 0.2.0: CHECK constraints that name the field and value (validate.c), and
-- limits on text, dates and numbers that were accepted unchecked before.
-- Each constraint keeps the name PostgreSQL gives an inline column CHECK.
ALTER TABLE cobranca.score_model
  ADD CONSTRAINT score_model_features_check CHECK (cobranca.check_members('score_model.features', features, cobranca.score_feature_names())),
  ADD CONSTRAINT score_model_coefficients_check CHECK (cobranca.check_finite('score_model.coefficients', coefficients));
ALTER TABLE cobranca.score_model
  DROP CONSTRAINT score_model_sizes,
  ADD CONSTRAINT score_model_sizes
    CHECK (cobranca.check_rule(cardinality(coefficients) = cardinality(features) + 1,
                               'score_model.coefficients does not match score_model.features',
                               'score_model has ' || cardinality(features) || ' features and ' || cardinality(coefficients)
                               || ' coefficients; it needs one coefficient per feature plus the intercept first.'));
