/*-------------------------------------------------------------------------
 *
 * template.c
 *	  Message templates of the cadence: checking and rendering.
 *
 * A template is pt-BR text with {{placeholders}} taken from a fixed list.
 * The words a collection text must never contain live here, in one place:
 * health terms (a message that reveals a diagnosis, a procedure or a CID
 * code is an LGPD art. 11 breach) and threatening or embarrassing wording
 * (CDC arts. 42 and 71; no credit-bureau or court talk in the cadence).
 * A template containing one of them is refused, both when a cadence rule is
 * written (CHECK constraint) and when a message is rendered.
 *
 * TemplateCheck and TemplateRender need no server (the values come from a
 * lookup callback), so that test/fuzz/template_fuzz.c builds them
 * standalone; the SQL-callable part at the end reads the values from a
 * jsonb and turns a problem into an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "template.h"

/* The placeholders a template may use (see cobranca.contact_message) */
static const char *const allowed_placeholders[] = {
	"nome",				/* payer's name */
	"credor",			/* creditor's name */
	"credor_cnpj",		/* creditor's CNPJ, formatted */
	"credor_endereco",	/* creditor's address, city and state */
	"credor_contato",	/* creditor's service phone, e-mail, site */
	"registro_ans",		/* operator's ANS registry */
	"total",			/* total owed, R$ */
	"quantidade",		/* number of invoices */
	"titulos",			/* one line per invoice: competence, due date, amount */
	"vencimento",		/* earliest due date */
	"pix",				/* PIX copy-and-paste line, empty when none */
	"protocolo"			/* ANS protocol of a human contact */
};

/* Health data: never in anything sent to a payer (LGPD art. 11) */
static const char *const health_words[] = {
	"diagnóstico", "diagnostico", "diagnósticos", "diagnosticos",
	"cid", "cid10", "cid-10",
	"procedimento", "procedimentos", "tuss",
	"internação", "internacao", "internações", "internacoes",
	"internado", "internada", "hospitalização", "hospitalizacao",
	"cirurgia", "cirurgias", "exame", "exames", "laudo", "laudos",
	"doença", "doenca", "doenças", "doencas", "enfermidade",
	"tratamento", "tratamentos", "terapia", "quimioterapia", "radioterapia",
	"medicamento", "medicamentos", "prontuário", "prontuario",
	"sinistro", "sinistros", "claim", "claims", "hospitalization",
	"gravidez", "gestação", "gestacao", "parto",
	"hiv", "aids", "câncer", "cancer", "oncologia", "psiquiatria", "uti"
};

/* Threats and embarrassment: never in a collection text (CDC arts. 42, 71) */
static const char *const threat_words[] = {
	"spc", "serasa", "scpc", "boa vista",
	"protesto", "protestar", "protestado", "cartório", "cartorio",
	"negativação", "negativacao", "negativar", "negativado", "nome sujo",
	"polícia", "policia", "delegacia", "prisão", "prisao", "cadeia",
	"penhora", "penhorar", "ação judicial", "acao judicial",
	"processo judicial", "processar", "oficial de justiça", "oficial de justica",
	"execução", "execucao", "último aviso", "ultimo aviso",
	"calote", "caloteiro", "vergonha"
};

/*
 * Lower-case ASCII and the Latin-1 capitals of UTF-8 (À..Þ), whatever the
 * database's collation: enough to match the word lists above.
 */
static char *
LowerText(const char *s)
{
	size_t		n = strlen(s);
	unsigned char *out = palloc(n + 1);

	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		else if (c >= 0x80 && c <= 0x9E && c != 0x97 && i > 0 &&
				 (unsigned char) s[i - 1] == 0xC3)
			c += 0x20;
		out[i] = c;
	}
	out[n] = '\0';
	return (char *) out;
}

static inline bool
IsWordByte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* The first word of list found as a whole word in lowered text, or NULL */
static const char *
FindWord(const char *lowered, const char *const *list, int n)
{
	for (int i = 0; i < n; i++)
	{
		size_t		len = strlen(list[i]);
		const char *p = lowered;

		while ((p = strstr(p, list[i])) != NULL)
		{
			bool		start_ok = (p == lowered || !IsWordByte((unsigned char) p[-1]));
			bool		end_ok = !IsWordByte((unsigned char) p[len]);

			if (start_ok && end_ok)
				return list[i];
			p++;
		}
	}
	return NULL;
}

static bool
IsAllowedPlaceholder(const char *name, int len)
{
	for (int i = 0; i < lengthof(allowed_placeholders); i++)
		if (strlen(allowed_placeholders[i]) == len &&
			strncmp(allowed_placeholders[i], name, len) == 0)
			return true;
	return false;
}

/*
 * What is wrong with a template, if anything: health data, threatening
 * wording, an unclosed placeholder or one outside the list.  *what and
 * *whatlen give the word or placeholder name found.
 */
TemplateProblem
TemplateCheck(const char *tpl, const char **what, int *whatlen)
{
	char	   *lowered = LowerText(tpl);
	const char *word;
	const char *p;
	TemplateProblem problem = TPL_OK;

	*what = NULL;
	*whatlen = 0;
	if ((word = FindWord(lowered, health_words, lengthof(health_words))) != NULL)
		problem = TPL_HEALTH;
	else if ((word = FindWord(lowered, threat_words, lengthof(threat_words))) != NULL)
		problem = TPL_THREAT;
	pfree(lowered);
	if (problem != TPL_OK)
	{
		*what = word;
		*whatlen = strlen(word);
		return problem;
	}

	for (p = strstr(tpl, "{{"); p != NULL; p = strstr(p, "{{"))
	{
		const char *name = p + 2;
		const char *end = strstr(name, "}}");

		if (end == NULL)
			return TPL_UNCLOSED;
		if (!IsAllowedPlaceholder(name, end - name))
		{
			*what = name;
			*whatlen = end - name;
			return TPL_UNKNOWN;
		}
		p = end + 2;
	}
	return TPL_OK;
}

/*
 * Substitute the placeholders with what lookup gives for their names
 * (never NULL; "" for none).  A line whose placeholders all came out empty
 * (say, {{pix}} when there is no PIX key, or a protocol not given yet) is
 * dropped rather than left half-written.  The template should have passed
 * TemplateCheck; if not, a "{{" without its "}}" on the same line is kept
 * as text.
 */
char *
TemplateRender(const char *tpl, TemplateLookup lookup, void *ctx)
{
	StringInfoData out;
	const char *p = tpl;

	initStringInfo(&out);
	while (*p)
	{
		const char *eol = strchr(p, '\n');
		const char *stop = eol ? eol : p + strlen(p);
		int			line_start = out.len;
		bool		had_placeholder = false;
		bool		had_value = false;

		while (p < stop)
		{
			const char *end = NULL;

			if (p[0] == '{' && p[1] == '{')
			{
				end = strstr(p + 2, "}}");
				if (end != NULL && end + 2 > stop)
					end = NULL;
			}
			if (end != NULL)
			{
				const char *val = lookup(ctx, p + 2, end - (p + 2));

				had_placeholder = true;
				if (*val)
					had_value = true;
				appendStringInfoString(&out, val);
				p = end + 2;
			}
			else
			{
				appendStringInfoChar(&out, *p);
				p++;
			}
		}
		if (had_placeholder && !had_value)
		{
			out.len = line_start;
			out.data[out.len] = '\0';
			if (eol)
				p = eol + 1;
			continue;
		}
		if (eol)
		{
			appendStringInfoChar(&out, '\n');
			p = eol + 1;
		}
	}
	return out.data;
}

#ifndef COBRANCA_FUZZ

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "validate.h"

/* Refuse a bad template with an error; field names the column */
static void
CheckTemplate(const char *field, const char *tpl)
{
	const char *what;
	int			len;

	switch (TemplateCheck(tpl, &what, &len))
	{
		case TPL_OK:
			break;
		case TPL_HEALTH:
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("%s references health data: \"%s\"", field, what),
					 errdetail("Messages to payers never carry diagnoses, procedures, CID codes, claims or hospitalizations (LGPD art. 11)."),
					 errhint("Use only amounts, competences and due dates.")));
			break;
		case TPL_THREAT:
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("%s contains threatening or embarrassing wording: \"%s\"", field, what),
					 errdetail("Collection texts never threaten or embarrass the payer (CDC arts. 42 and 71)."),
					 errhint("State the amount, the due date and how to pay.")));
			break;
		case TPL_UNCLOSED:
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("%s has an unclosed placeholder", field),
					 errdetail("A placeholder is written {{name}}.")));
			break;
		case TPL_UNKNOWN:
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("%s uses an unknown placeholder: \"{{%s}}\"", field,
							CobrancaShowValue(pnstrdup(what, len))),
					 errdetail("Placeholders are nome, credor, credor_cnpj, credor_endereco, credor_contato, registro_ans, total, quantidade, titulos, vencimento, pix and protocolo.")));
			break;
	}
}

/* The value of key in the jsonb object ctx, as text ("" when absent or null) */
static const char *
VarValue(void *ctx, const char *key, int len)
{
	Jsonb	   *vars = (Jsonb *) ctx;
	JsonbValue	vbuf;
	JsonbValue *v;

	if (vars == NULL || !JB_ROOT_IS_OBJECT(vars))
		return "";
	v = getKeyJsonValueFromContainer(&vars->root, key, len, &vbuf);
	if (v == NULL)
		return "";
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return v->val.boolean ? "true" : "false";
		default:
			return "";
	}
}

PG_FUNCTION_INFO_V1(cobranca_check_template);

/* check_template(field text, template text) returns boolean */
Datum
cobranca_check_template(PG_FUNCTION_ARGS)
{
	CheckTemplate(text_to_cstring(PG_GETARG_TEXT_PP(0)),
				  text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(cobranca_render_template);

/* render_template(template text, vars jsonb) returns text */
Datum
cobranca_render_template(PG_FUNCTION_ARGS)
{
	char	   *tpl = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *vars = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);

	CheckTemplate("template", tpl);
	PG_RETURN_TEXT_P(cstring_to_text(TemplateRender(tpl, VarValue, vars)));
}

#endif							/* COBRANCA_FUZZ */
