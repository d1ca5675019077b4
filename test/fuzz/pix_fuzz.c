/*
 * libFuzzer harness for the PIX BR Code of src/paycode.c, built without a
 * server.  The input is split at line feeds into key, merchant name, city
 * and txid; its first byte says whether there is an amount and a txid, the
 * next four give the amount in cents.  Beyond not crashing (and, under
 * AddressSanitizer, no out-of-bounds access) it checks that:
 *   - CobrancaCrc16 agrees with an independent table-driven CRC16-CCITT;
 *   - a payload PixBuild makes is printable ASCII, parses back as the EMV
 *     TLV fields 00 26 52 53 [54] 58 59 60 62 63 in that order, each within
 *     its length limit, carrying the key, the plain name and city, the
 *     amount and the txid given, and ends in its own valid CRC16;
 *   - a refusal names an argument that is really wrong.
 * SOURCES: src/paycode.c
 * MAXLEN: 256
 */
#include "postgres.h"

#include <stdint.h>
#include <stdlib.h>

#include "../../src/paycode.h"

static uint16 crc_table[256];

static uint16
ref_crc(const char *s, size_t len)
{
	uint16		crc = 0xFFFF;

	if (crc_table[1] == 0)
		for (int i = 0; i < 256; i++)
		{
			uint16		c = (uint16) (i << 8);

			for (int b = 0; b < 8; b++)
				c = (c & 0x8000) ? (uint16) ((c << 1) ^ 0x1021) : (uint16) (c << 1);
			crc_table[i] = c;
		}
	for (size_t i = 0; i < len; i++)
		crc = (uint16) ((crc << 8) ^ crc_table[((crc >> 8) ^ (unsigned char) s[i]) & 0xFF]);
	return crc;
}

/* one TLV field at *pos of s: id, value (copied into val) */
static bool
next_tlv(const char *s, int len, int *pos, char id[3], char *val)
{
	int			n;

	if (*pos + 4 > len)
		return false;
	for (int i = 0; i < 4; i++)
		if (s[*pos + i] < '0' || s[*pos + i] > '9')
			return false;
	id[0] = s[*pos];
	id[1] = s[*pos + 1];
	id[2] = '\0';
	n = (s[*pos + 2] - '0') * 10 + (s[*pos + 3] - '0');
	if (*pos + 4 + n > len)
		return false;
	memcpy(val, s + *pos + 4, n);
	val[n] = '\0';
	*pos += 4 + n;
	return true;
}

static bool
plain_ok(const char *v, int max)
{
	int			n = strlen(v);

	if (n == 0 || n > max || v[0] == ' ' || v[n - 1] == ' ')
		return false;
	for (int i = 0; i < n; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'A' && v[i] <= 'Z') ||
			  (v[i] >= 'a' && v[i] <= 'z') || strchr(" .,-&/'", v[i])))
			return false;
	return true;
}

static void
check_payload(const StringInfoData *buf, const char *key, const char *name,
			  const char *city, bool has_amount, int64 cents, const char *txid)
{
	const char *s = buf->data;
	int			len = buf->len;
	int			pos = 0;
	char		id[3];
	char		val[128];
	char		sub[128];
	char	   *plain;
	int			spos;

	if (len > PIX_MAX_LEN || (int) strlen(s) != len)
		abort();
	for (int i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7E)
			abort();
	/* 00 */
	if (!next_tlv(s, len, &pos, id, val) || strcmp(id, "00") || strcmp(val, "01"))
		abort();
	/* 26: the merchant account, itself TLV */
	if (!next_tlv(s, len, &pos, id, val) || strcmp(id, "26"))
		abort();
	spos = 0;
	if (!next_tlv(val, strlen(val), &spos, id, sub) || strcmp(id, "00") || strcmp(sub, "br.gov.bcb.pix"))
		abort();
	if (!next_tlv(val, strlen(val), &spos, id, sub) || strcmp(id, "01") || strcmp(sub, key))
		abort();
	if (spos != (int) strlen(val))
		abort();
	if (!next_tlv(s, len, &pos, id, val) || strcmp(id, "52") || strcmp(val, "0000"))
		abort();
	if (!next_tlv(s, len, &pos, id, val) || strcmp(id, "53") || strcmp(val, "986"))
		abort();
	if (!next_tlv(s, len, &pos, id, val))
		abort();
	if (has_amount)
	{
		char		want[32];

		snprintf(want, sizeof(want), "%lld.%02d", (long long) (cents / 100), (int) (cents % 100));
		if (strcmp(id, "54") || strcmp(val, want) || strlen(val) > PIX_AMOUNT_MAX)
			abort();
		if (!next_tlv(s, len, &pos, id, val))
			abort();
	}
	if (strcmp(id, "58") || strcmp(val, "BR"))
		abort();
	plain = PixPlainText(name, PIX_NAME_MAX);
	if (!next_tlv(s, len, &pos, id, val) || strcmp(id, "59") || strcmp(val, plain) || !plain_ok(val, PIX_NAME_MAX))
		abort();
	pfree(plain);
	plain = PixPlainText(city, PIX_CITY_MAX);
	if (!next_tlv(s, len, &pos, id, val) || strcmp(id, "60") || strcmp(val, plain) || !plain_ok(val, PIX_CITY_MAX))
		abort();
	pfree(plain);
	if (!next_tlv(s, len, &pos, id, val) || strcmp(id, "62"))
		abort();
	spos = 0;
	if (!next_tlv(val, strlen(val), &spos, id, sub) || strcmp(id, "05") ||
		strcmp(sub, txid ? txid : "***") || spos != (int) strlen(val))
		abort();
	/* 63: the CRC of everything before its value, "6304" included */
	if (pos + 8 != len || strncmp(s + pos, "6304", 4) != 0)
		abort();
	{
		char		want[5];

		snprintf(want, sizeof(want), "%04X", ref_crc(s, pos + 4));
		if (strcmp(s + pos + 4, want) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *in;
	char	   *fields[4] = {"", "", "", ""};
	bool		has_amount,
				has_txid;
	int64		cents;
	int			nf = 0;
	StringInfoData buf;
	const char *detail;
	PixField	bad;

	if (size < 5)
		return 0;
	has_amount = data[0] & 1;
	has_txid = data[0] & 2;
	cents = (int64) ((uint32) data[1] << 24 | (uint32) data[2] << 16 | (uint32) data[3] << 8 | data[4]);
	if (data[0] & 4)
		cents = -cents;
	if (data[0] & 8)
		cents *= 1000000;		/* past the 13 characters of field 54 */
	data += 5;
	size -= 5;

	/* the CRC on the raw bytes */
	if (CobrancaCrc16((const char *) data, size) != ref_crc((const char *) data, size))
		abort();

	in = malloc(size + 1);
	memcpy(in, data, size);
	in[size] = '\0';
	fields[nf++] = in;
	for (char *p = in; *p && nf < 4; p++)
		if (*p == '\n')
		{
			*p = '\0';
			fields[nf++] = p + 1;
		}

	initStringInfo(&buf);
	bad = PixBuild(fields[0], fields[1], fields[2], has_amount, cents,
				   has_txid ? fields[3] : NULL, &buf, &detail);
	if (bad == PIX_OK)
		check_payload(&buf, fields[0], fields[1], fields[2], has_amount, cents,
					  has_txid ? fields[3] : NULL);
	else
	{
		/* the argument named is really wrong */
		size_t		klen = strlen(fields[0]);
		bool		key_ok = klen >= 1 && klen <= PIX_KEY_MAX;
		char	   *plain;

		for (size_t i = 0; i < klen; i++)
			key_ok &= ((unsigned char) fields[0][i] > 0x20 && (unsigned char) fields[0][i] < 0x7F);
		if (detail == NULL)
			abort();
		switch (bad)
		{
			case PIX_KEY:
				if (key_ok)
					abort();
				break;
			case PIX_NAME:
			case PIX_CITY:
				plain = PixPlainText(fields[bad == PIX_NAME ? 1 : 2],
									 bad == PIX_NAME ? PIX_NAME_MAX : PIX_CITY_MAX);
				if (!key_ok || plain[0] != '\0')
					abort();
				pfree(plain);
				break;
			case PIX_AMOUNT:
				if (!has_amount || (cents > 0 && cents < INT64CONST(1000000000000)))
					abort();
				break;
			case PIX_TXID:
				if (!has_txid)
					abort();
				break;
			default:
				abort();
		}
	}
	pfree(buf.data);
	free(in);
	return 0;
}
