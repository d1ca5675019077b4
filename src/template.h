/*-------------------------------------------------------------------------
 *
 * template.h
 *	  Message templates: the checker and renderer cores (no server needed).
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_TEMPLATE_H
#define COBRANCA_TEMPLATE_H

#include "postgres.h"

typedef enum TemplateProblem
{
	TPL_OK = 0,
	TPL_HEALTH,					/* health data (LGPD art. 11) */
	TPL_THREAT,					/* threatening or embarrassing wording */
	TPL_UNCLOSED,				/* "{{" without "}}" */
	TPL_UNKNOWN					/* a placeholder outside the list */
} TemplateProblem;

/* the value of placeholder name[0..len-1]: never NULL, "" when none */
typedef const char *(*TemplateLookup) (void *ctx, const char *name, int len);

extern TemplateProblem TemplateCheck(const char *tpl, const char **what, int *whatlen);
extern char *TemplateRender(const char *tpl, TemplateLookup lookup, void *ctx);

#endif							/* COBRANCA_TEMPLATE_H */
