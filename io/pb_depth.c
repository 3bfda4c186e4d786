#include "pb_depth.h"

struct pb_walk {
	const uint8_t *base;
	int limit;
	size_t where;
};

bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* Returns false only when the depth limit is passed; a broken wire format
 * ends the walk with true. */
static bool pb_walk_msg(struct pb_walk *w, const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                        const uint8_t *end, int depth)
{
	while (p < end) {
		uint64_t tag, len;
		const ProtobufCFieldDescriptor *f;

		if (!pb_varint(&p, end, &tag))
			return true;
		switch (tag & 7) {
		case 0:
			if (!pb_varint(&p, end, &len))
				return true;
			continue;
		case 1:
		case 5: {
			size_t n = (tag & 7) == 1 ? 8 : 4;

			if ((size_t)(end - p) < n)
				return true;
			p += n;
			continue;
		}
		case 2:
			break;
		default:
			return true;
		}
		if (!pb_varint(&p, end, &len) || len > (uint64_t)(end - p))
			return true;
		f = tag >> 3 <= UINT32_MAX
		            ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3))
		            : NULL;
		if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (depth + 1 > w->limit) {
				w->where = (size_t)(p - w->base);
				return false;
			}
			if (!pb_walk_msg(w, f->descriptor, p, p + len, depth + 1))
				return false;
		}
		p += len;
	}
	return true;
}

bool pb_depth_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                    int limit, size_t *where)
{
	struct pb_walk w = {.base = buf, .limit = limit, .where = 0};
	bool ok;

	if (!buf || !len)
		return true;
	ok = pb_walk_msg(&w, desc, buf, buf + len, 0);

	if (!ok && where)
		*where = w.where;
	return ok;
}
