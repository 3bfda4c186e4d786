/* onnx_unpack_lean: a ModelProto whose large tensor bytes stay in the file.
 *
 * protobuf-c copies every bytes field while unpacking, so a model's weights
 * would be held twice while it loads (the mapping's pages it read, and the
 * heap copy) and once in the heap afterwards. Instead the wire bytes are
 * re-encoded first without the large raw_data fields (field 9) of the
 * TensorProtos where weights live — graph initializers (GraphProto 5),
 * node attributes' tensor and tensors (AttributeProto 5, 10), through
 * subgraphs (6, 11) — each replaced by a varint field LEAN_FIELD holding
 * its index in a table of (offset, length). The small re-encoding is
 * unpacked, and each marked TensorProto gets raw_data pointing into the
 * mapping (has_raw_data set), the marker removed. The weights' pages are
 * only touched when a tensor is read, and can be released after
 * (model_tensor_release).
 *
 * Such a model must be freed with onnx_allocator() (it does not free
 * pointers into a model's mapping); code that replaces a raw_data goes
 * through onnx_lean_free. A wire format the re-encoder cannot follow gives
 * NULL from onnx_lean_strip, and the caller unpacks the file as it is. */
#include <stdlib.h>
#include <string.h>

#include "mem_release.h"
#include "model.h"
#include "onnx_impl.h"
#include "pb_depth.h"

enum {
	LEAN_MIN = 4096,           /* smaller raw_data stays inline */
	LEAN_FIELD = (1 << 29) - 1 /* the marker: the largest field number */
};

enum lean_ctx {
	CTX_MODEL,
	CTX_GRAPH,
	CTX_NODE,
	CTX_ATTR,
	CTX_TENSOR
};

struct lean_ref {
	size_t off, len;
};

struct lean_buf {
	uint8_t *p;
	size_t n, cap;
	bool oom;
};

struct lean {
	const uint8_t *base;
	struct lean_ref *refs;
	size_t nrefs, cap, attached;
	bool oom;
};

static void buf_put(struct lean_buf *b, const void *p, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 256;
		while (cap < b->n + n)
			cap *= 2;
		uint8_t *q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void buf_varint(struct lean_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	buf_put(b, t, n);
}

/* What a length-delimited field of a message in context ctx holds, on the
 * weights' paths (CTX_TENSOR for raw_data itself is handled apart). */
static int child_ctx(enum lean_ctx ctx, uint64_t field)
{
	static const struct {
		enum lean_ctx in;
		uint64_t field;
		enum lean_ctx child;
	} paths[] = {
	        {CTX_MODEL, 7, CTX_GRAPH}, {CTX_GRAPH, 5, CTX_TENSOR}, {CTX_GRAPH, 1, CTX_NODE},
	        {CTX_NODE, 5, CTX_ATTR},   {CTX_ATTR, 5, CTX_TENSOR},  {CTX_ATTR, 10, CTX_TENSOR},
	        {CTX_ATTR, 6, CTX_GRAPH},  {CTX_ATTR, 11, CTX_GRAPH},
	};
	for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++)
		if (paths[k].in == ctx && paths[k].field == field)
			return (int)paths[k].child;
	return -1;
}

/* Re-encode the message [p, end) of context ctx into out; false when the
 * wire format breaks (the caller gives up on the lean unpack). */
static bool strip_msg(struct lean *l, const uint8_t *p, const uint8_t *end, enum lean_ctx ctx,
                      int depth, struct lean_buf *out)
{
	unsigned seen = 0; /* raw_data (tensor), graph (model), t and g (attribute) */

	if (depth > 3 * ONNX_MAX_DEPTH + 32)
		return false;
	while (p < end) {
		const uint8_t *start = p;
		uint64_t tag, v;
		if (!pb_varint(&p, end, &tag))
			return false;
		uint64_t field = tag >> 3;
		switch (tag & 7) {
		case 0:
			if (!pb_varint(&p, end, &v))
				return false;
			break;
		case 1:
		case 5:
			if ((size_t)(end - p) < ((tag & 7) == 1 ? 8u : 4u))
				return false;
			p += (tag & 7) == 1 ? 8 : 4;
			break;
		case 2: {
			if (!pb_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return false;
			const uint8_t *fp = p;
			p += v;
			int child = child_ctx(ctx, field);
			/* a field that protobuf merges or overrides when repeated: the
			 * file is unpacked as it is rather than guess which wins */
			unsigned bit = ctx == CTX_TENSOR && field == 9  ? 1u
			               : ctx == CTX_MODEL && field == 7 ? 2u
			               : ctx == CTX_ATTR && field == 5  ? 4u
			               : ctx == CTX_ATTR && field == 6  ? 8u
			                                                : 0u;
			if (bit & seen)
				return false;
			seen |= bit;
			if (ctx == CTX_TENSOR && field == 9 && v >= LEAN_MIN) {
				if (l->nrefs == l->cap) {
					size_t cap = l->cap ? 2 * l->cap : 64;
					struct lean_ref *r = realloc(l->refs, cap * sizeof *r);
					if (!r)
						return !(l->oom = true);
					l->refs = r;
					l->cap = cap;
				}
				l->refs[l->nrefs] = (struct lean_ref){(size_t)(fp - l->base), v};
				/* not read here: pages the read of the tag mapped go */
				mem_release_own_map(fp, v);
				buf_varint(out, (uint64_t)LEAN_FIELD << 3);
				buf_varint(out, l->nrefs++);
				continue;
			}
			if (child >= 0) {
				struct lean_buf sub = {0};
				bool ok =
				        strip_msg(l, fp, p, (enum lean_ctx)child, depth + 1, &sub);
				if (ok && !sub.oom) {
					buf_varint(out, tag);
					buf_varint(out, sub.n);
					buf_put(out, sub.p, sub.n);
				}
				free(sub.p);
				if (!ok || sub.oom)
					return !(l->oom |= sub.oom) && ok;
				continue;
			}
			break;
		}
		default:
			return false;
		}
		if (ctx == CTX_TENSOR && field == LEAN_FIELD)
			continue; /* only the markers made here may carry this number */
		buf_put(out, start, (size_t)(p - start));
	}
	return true;
}

static void *lean_alloc(void *data, size_t size)
{
	(void)data;
	return malloc(size);
}

static void lean_free(void *data, void *p)
{
	(void)data;
	if (!model_map_holds(p)) /* else borrowed from a model's mapping */
		free(p);
}

static ProtobufCAllocator lean_allocator = {.alloc = lean_alloc, .free = lean_free};

ProtobufCAllocator *onnx_allocator(void)
{
	return &lean_allocator;
}

void onnx_lean_free(void *p)
{
	lean_free(NULL, p);
}

/* The marker of tp, if any, turned into raw_data in the mapping. */
static void lean_attach(const struct onnx_model *om, struct lean *l, Onnx__TensorProto *tp)
{
	ProtobufCMessage *b = &tp->base;
	unsigned keep = 0;

	for (unsigned k = 0; k < b->n_unknown_fields; k++) {
		ProtobufCMessageUnknownField *u = &b->unknown_fields[k];
		const uint8_t *p = u->data;
		uint64_t idx;
		if (u->tag == LEAN_FIELD && u->wire_type == PROTOBUF_C_WIRE_TYPE_VARINT &&
		    pb_varint(&p, u->data + u->len, &idx) && idx < l->nrefs) {
			onnx_lean_free(tp->has_raw_data ? tp->raw_data.data : NULL);
			tp->has_raw_data = 1;
			tp->raw_data.data = om->map + l->refs[idx].off;
			l->attached++;
			tp->raw_data.len = l->refs[idx].len;
			free(u->data);
			continue;
		}
		b->unknown_fields[keep++] = *u;
	}
	b->n_unknown_fields = keep;
	if (!keep) {
		free(b->unknown_fields);
		b->unknown_fields = NULL;
	}
}

static void lean_graph(const struct onnx_model *om, struct lean *l, Onnx__GraphProto *g, int depth)
{
	if (!g || depth > ONNX_MAX_DEPTH)
		return;
	for (size_t i = 0; i < g->n_initializer; i++)
		lean_attach(om, l, g->initializer[i]);
	for (size_t i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];
		for (size_t k = 0; k < n->n_attribute; k++) {
			Onnx__AttributeProto *a = n->attribute[k];
			if (a->t)
				lean_attach(om, l, a->t);
			for (size_t j = 0; j < a->n_tensors; j++)
				lean_attach(om, l, a->tensors[j]);
			lean_graph(om, l, a->g, depth + 1);
			for (size_t j = 0; j < a->n_graphs; j++)
				lean_graph(om, l, a->graphs[j], depth + 1);
		}
	}
}

int onnx_unpack_lean(const struct onnx_model *om, int limit, Onnx__ModelProto **mp, size_t *deep_at)
{
	struct lean l = {.base = om->map};
	struct lean_buf out = {0};
	/* borrowing needs the mapping listed (model_map_holds), for the frees */
	bool lean = model_map_holds(om->map) &&
	            strip_msg(&l, om->map, om->map + om->map_len, CTX_MODEL, 0, &out) && !out.oom &&
	            !l.oom;
	const uint8_t *buf = lean ? (out.p ? out.p : (const uint8_t *)"") : om->map;
	size_t n = lean ? out.n : om->map_len;
	int rc = 0;

	/* protobuf-c recurses without a limit: the bytes it will unpack are
	 * checked first (the file's own offset is reported) */
	*mp = NULL;
	if (!pb_depth_check(&onnx__model_proto__descriptor, buf, n, limit, deep_at)) {
		if (lean)
			pb_depth_check(&onnx__model_proto__descriptor, om->map, om->map_len, limit,
			               deep_at);
		rc = -1;
	} else if ((*mp = onnx__model_proto__unpack(&lean_allocator, n, buf)) != NULL && lean) {
		lean_graph(om, &l, (*mp)->graph, 0);
		if (l.attached != l.nrefs) { /* a marker not reached: the plain unpack */
			onnx__model_proto__free_unpacked(*mp, &lean_allocator);
			*mp = onnx__model_proto__unpack(&lean_allocator, om->map_len, om->map);
		}
	}
	free(out.p);
	free(l.refs);
	return rc;
}
