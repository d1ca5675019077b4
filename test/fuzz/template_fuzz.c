/*
 * libFuzzer harness for the message templates of src/template.c, built
 * without a server: the renderer takes its values from a lookup callback,
 * here a fixed table.  The first two input bytes say which placeholders
 * have an empty value; the rest is the template.  Beyond not crashing
 * (and, under AddressSanitizer, never reading past the template) it
 * checks that:
 *   - TemplateCheck's word or placeholder lies inside the template;
 *   - the renderer, on any template (checked or not), asks only for names
 *     that lie inside the template, and its output is no longer than the
 *     template plus the values it substituted;
 *   - on a template TemplateCheck accepts it asks only for allowed names,
 *     leaves no {{placeholder}} of the list in its output, keeps every
 *     line when no value is empty, and never adds lines.
 * SOURCES: src/template.c
 * MAXLEN: 512
 */
#include "postgres.h"

#include <stdint.h>
#include <stdlib.h>

#include "../../src/template.h"

static const char *const names[] = {
	"nome", "credor", "credor_cnpj", "credor_endereco", "credor_contato",
	"registro_ans", "total", "quantidade", "titulos", "vencimento", "pix",
	"protocolo"
};

typedef struct Ctx
{
	const char *tpl;
	size_t		len;
	unsigned	empty;			/* bit i: names[i] has an empty value */
	bool		checked;
	size_t		substituted;	/* bytes of values handed out */
} Ctx;

static int
name_index(const char *name, int len)
{
	for (int i = 0; i < (int) lengthof(names); i++)
		if ((int) strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
			return i;
	return -1;
}

/* the value of a placeholder: "<NAME>" in brackets, never braces */
static const char *
lookup(void *arg, const char *name, int len)
{
	Ctx		   *ctx = arg;
	static char value[64];
	int			i;

	if (name < ctx->tpl || len < 0 || name + len > ctx->tpl + ctx->len)
		abort();
	i = name_index(name, len);
	if (ctx->checked && i < 0)
		abort();
	if (i >= 0 && (ctx->empty & (1u << i)))
		return "";
	snprintf(value, sizeof(value), "[%s]", i >= 0 ? names[i] : "?");
	ctx->substituted += strlen(value);
	return value;
}

static int
count_lines(const char *s)
{
	int			n = 0;

	for (; *s; s++)
		n += (*s == '\n');
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ctx			ctx;
	char	   *tpl;
	char	   *out;
	const char *what;
	int			whatlen;
	TemplateProblem problem;

	if (size < 2)
		return 0;
	ctx.empty = (data[0] | data[1] << 8) & 0xFFF;
	/* the template exactly as long as it is, so that ASan sees any overread */
	tpl = malloc(size - 1);
	memcpy(tpl, data + 2, size - 2);
	tpl[size - 2] = '\0';
	ctx.tpl = tpl;
	ctx.len = strlen(tpl);

	problem = TemplateCheck(tpl, &what, &whatlen);
	if (problem == TPL_HEALTH || problem == TPL_THREAT)
	{
		if (what == NULL || whatlen <= 0)
			abort();
	}
	else if (problem == TPL_UNKNOWN)
	{
		if (what < tpl || what + whatlen > tpl + ctx.len)
			abort();
	}
	else if (problem != TPL_OK && problem != TPL_UNCLOSED)
		abort();

	ctx.checked = (problem == TPL_OK);
	ctx.substituted = 0;
	out = TemplateRender(tpl, lookup, &ctx);
	if (strlen(out) > ctx.len + ctx.substituted)
		abort();
	if (count_lines(out) > count_lines(tpl))
		abort();
	if (ctx.checked)
	{
		for (int i = 0; i < (int) lengthof(names); i++)
		{
			char		ph[40];

			snprintf(ph, sizeof(ph), "{{%s}}", names[i]);
			if (strstr(out, ph) != NULL)
				abort();
		}
		if (ctx.empty == 0 && count_lines(out) != count_lines(tpl))
			abort();
	}
	pfree(out);
	free(tpl);
	return 0;
}
