/*-------------------------------------------------------------------------
 *
 * document.h
 *	  CPF and CNPJ: normalisation, check digits and masking.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COBRANCA_DOCUMENT_H
#define COBRANCA_DOCUMENT_H

#include "postgres.h"

#define CPF_LEN		11
#define CNPJ_LEN	14

typedef enum DocumentKind
{
	DOC_CPF,
	DOC_CNPJ
} DocumentKind;

/*
 * Copy the significant characters of "in" (digits and, for CNPJ, letters,
 * upper-cased) into out[maxlen + 1], skipping the usual punctuation
 * ". - / " and blanks.  Returns the number of characters kept, or -1 when
 * "in" holds anything else or is too long.
 */
extern int	DocumentStrip(const char *in, char *out, int maxlen);
extern bool CpfValid(const char *digits);
extern bool CnpjValid(const char *chars);
extern void DocumentMask(DocumentKind kind, const char *normalized, char *out);

#endif							/* COBRANCA_DOCUMENT_H */
