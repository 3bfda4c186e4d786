#include "name_check.h"

#include <stdint.h>
#include <string.h>

/* Bytes in the UTF-8 sequence starting at s (1..4), or 0 when it is not a
 * valid, shortest-form encoding of a scalar value. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	uint32_t cp, min;
	size_t n;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		n = 2, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 3, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t name_check_prefix(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (p[i]) {
		if (p[i] < 0x20 || p[i] == 0x7f || !(n = utf8_seq(p + i)))
			break;
		i += n;
	}
	return i;
}

int name_check_model(const struct model *m, const char *path, struct qs_error *err)
{
	for (size_t i = 0; i < m->ntensors; i++) {
		const char *name = m->tensors[i].name;
		size_t ok;

		if (!name)
			continue;
		ok = name_check_prefix(name);
		if (name[ok])
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: tensor %zu: name is not printable UTF-8 text "
			                    "(byte 0x%02x at offset %zu of the name)",
			                    path, i, (unsigned char)name[ok], ok);
	}
	return 0;
}
