-- CPF and CNPJ: check digits, normalisation, masking (SPEC §6 vectors)
SELECT doc, cobranca.cpf_valid(doc) AS cpf_valid
  FROM (VALUES ('145.382.206-20'), ('14538220620'), ('145.382.206-21'), ('111.111.111-11'),
               ('000.000.000-00'), ('123.456.789-09'), ('1453822062'), ('145382206200'),
               ('145.382.206-2O'), (''), ('  145 382 206 20 ')) AS t(doc);

SELECT doc, cobranca.cnpj_valid(doc) AS cnpj_valid
  FROM (VALUES ('11.222.333/0001-81'), ('11222333000181'), ('11.222.333/0001-82'),
               ('12.ABC.345/01DE-35'), ('12abc34501de35'), ('12.ABC.345/01DE-36'),
               ('00.000.000/0000-00'), ('AA.AAA.AAA/AAAA-AA'), ('12.ABC.345/01DE-3A'),
               ('60.574.652/0001-61'), ('1122233300018')) AS t(doc);

SELECT cobranca.cpf_valid(NULL) IS NULL AS null_in_null_out;

SELECT cobranca.document_normalize('person', '145.382.206-20') AS cpf,
       cobranca.document_normalize('company', '12.abc.345/01de-35') AS cnpj,
       cobranca.document_mask('person', '14538220620') AS cpf_masked,
       cobranca.document_mask('company', '12ABC34501DE35') AS cnpj_masked;

-- errors name what is wrong and never echo the document in clear
\set VERBOSITY default
SELECT cobranca.document_normalize('person', '145.382.206-21');
SELECT cobranca.document_normalize('person', '111.111.111-11');
SELECT cobranca.document_normalize('person', '145.382.206');
SELECT cobranca.document_normalize('person', '145.382.206-2#');
SELECT cobranca.document_normalize('company', '12.ABC.345/01DE-36');
SELECT cobranca.document_normalize('alien', '145.382.206-20');
