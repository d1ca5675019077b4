/*
 * libFuzzer harness for the boleto linha digitável of src/paycode.c,
 * built without a server.  For every input it checks, beyond not crashing
 * (and, under AddressSanitizer, no out-of-bounds access), that:
 *   - BoletoLineValid on the raw bytes agrees with an independent
 *     reference validator written from the FEBRABAN layout;
 *   - a line built by the reference from a barcode made of the input's
 *     digits validates, plain or punctuated as people type it, and
 *     BoletoBarcode gives that barcode back;
 *   - changing any one digit of fields 1 to 4 of that line makes it
 *     invalid (mod 10 and the general digit catch every single-digit
 *     error there); in field 5 the result agrees with the reference (the
 *     mod 11 general digit maps three remainders to 1, so a few
 *     single-digit changes there are undetectable by design);
 *   - the due date of a valid line is the one of the factor's two dates
 *     (9000 days apart) nearer the reference day, and factors 0000 and
 *     below 1000 are told apart.
 * SOURCES: src/paycode.c
 * MAXLEN: 128
 */
#include "postgres.h"

#include <stdint.h>
#include <stdlib.h>

#include "../../src/paycode.h"

/* Luhn-style mod 10 of FEBRABAN, written with a doubling table */
static int
ref_mod10(const char *d, int len)
{
	static const int doubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
	int			sum = 0;

	for (int i = 0; i < len; i++)
	{
		int			v = d[len - 1 - i] - '0';

		sum += (i % 2 == 0) ? doubled[v] : v;
	}
	return sum % 10 == 0 ? 0 : 10 - sum % 10;
}

/* general digit: weights 2..9 repeating from the right over the 43 digits */
static int
ref_mod11(const char *bar_without_dv)
{
	int			sum = 0;
	int			r;

	for (int i = 0; i < 43; i++)
		sum += (bar_without_dv[42 - i] - '0') * (2 + i % 8);
	r = 11 - sum % 11;
	return (r == 0 || r > 9) ? 1 : r;
}

/* the barcode (44 digits) of a 47-digit line */
static void
ref_bar(const char *line, char *bar)
{
	/* bank+currency, DV, factor+amount, free field 1-5, 6-15, 16-25 */
	snprintf(bar, 45, "%.4s%c%.14s%.5s%.10s%.10s",
			 line, line[32], line + 33, line + 4, line + 10, line + 21);
}

static bool
ref_valid(const char *p, int len)
{
	char		line[48];
	char		bar[45];
	char		body[44];
	int			n = 0;

	for (int i = 0; i < len; i++)
	{
		if (p[i] >= '0' && p[i] <= '9')
		{
			if (n >= 47)
				return false;
			line[n++] = p[i];
		}
		else if (p[i] != ' ' && p[i] != '.')
			return false;
	}
	if (n != 47)
		return false;
	line[47] = '\0';
	if (ref_mod10(line, 9) != line[9] - '0' || ref_mod10(line + 10, 10) != line[20] - '0' ||
		ref_mod10(line + 21, 10) != line[31] - '0')
		return false;
	ref_bar(line, bar);
	memcpy(body, bar, 4);
	memcpy(body + 4, bar + 5, 39);
	body[43] = '\0';
	return ref_mod11(body) == bar[4] - '0';
}

/* the 47-digit line of a barcode whose general digit is already right */
static void
ref_line(const char *bar, char *line)
{
	memcpy(line, bar, 4);
	memcpy(line + 4, bar + 19, 5);
	line[9] = '0' + ref_mod10(line, 9);
	memcpy(line + 10, bar + 24, 10);
	line[20] = '0' + ref_mod10(line + 10, 10);
	memcpy(line + 21, bar + 34, 10);
	line[31] = '0' + ref_mod10(line + 21, 10);
	line[32] = bar[4];
	memcpy(line + 33, bar + 5, 14);
	line[47] = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *in = malloc(size ? size : 1);
	char		bar[45];
	char		body[44];
	char		line[48];
	char		back[45];
	char		typed[64];
	char		digits[48];

	memcpy(in, data, size);
	/* 1. the raw bytes, without a terminator (ASan sees any overread) */
	if (BoletoLineValid(in, (int) size) != ref_valid(in, (int) size))
		abort();
	if (BoletoDigits(in, (int) size, digits) && strlen(digits) != 47)
		abort();
	free(in);

	if (size < 4)
		return 0;

	/* 2. a barcode from the input's bytes: 44 digits, the general digit set */
	for (int i = 0; i < 44; i++)
		bar[i] = '0' + (i < (int) size ? data[i] : data[i % size] + i) % 10;
	bar[3] = '9';				/* currency: real */
	bar[44] = '\0';
	memcpy(body, bar, 4);
	memcpy(body + 4, bar + 5, 39);
	body[43] = '\0';
	bar[4] = '0' + ref_mod11(body);
	ref_line(bar, line);
	if (!BoletoLineValid(line, 47))
		abort();
	BoletoBarcode(line, back);
	if (strcmp(back, bar) != 0)
		abort();
	snprintf(typed, sizeof(typed), "%.5s.%.5s %.5s.%.6s %.5s.%.6s %c %.14s",
			 line, line + 5, line + 10, line + 15, line + 21, line + 26, line[32], line + 33);
	if (!BoletoLineValid(typed, strlen(typed)))
		abort();

	/* 3. one digit changed */
	{
		int			pos = data[0] % 47;
		char		changed[48];

		memcpy(changed, line, 48);
		changed[pos] = '0' + (changed[pos] - '0' + 1 + data[1] % 9) % 10;
		if (pos < 33 && BoletoLineValid(changed, 47))
			abort();
		if (BoletoLineValid(changed, 47) != ref_valid(changed, 47))
			abort();
	}

	/* 4. the due date */
	{
		int			factor = (line[33] - '0') * 1000 + (line[34] - '0') * 100 +
			(line[35] - '0') * 10 + (line[36] - '0');
		int			ref = BOLETO_BASE_JULIAN - 20000 + (int) ((data[2] << 8 | data[3]) * 3);
		int			julian = 0;
		int			rc = BoletoDueJulian(line, ref, &julian);

		if (factor == 0 ? rc != 0 : factor < 1000 ? rc != -1 : rc != 1)
			abort();
		if (rc == 1)
		{
			int			a = BOLETO_BASE_JULIAN + factor;
			int			b = BOLETO_RESTART_JULIAN + factor - 1000;
			int			other = (julian == a) ? b : a;

			if (b - a != 9000 || (julian != a && julian != b) ||
				abs(julian - ref) > abs(other - ref))
				abort();
		}
	}
	return 0;
}
