/* onnx_extdata.c — writing ONNX initializers to an external data file.
 *
 * Contract in onnx_impl.h (onnx_ext_*). Layout of OUT.data: each tensor's
 * bytes at an offset that is a multiple of ONNX_EXT_ALIGN, zero padding
 * between; the TensorProto keeps dims and type and gets data_location =
 * EXTERNAL with entries location (the side file's name, relative to the
 * model's folder), offset and length (decimal strings).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "onnx_impl.h"

bool onnx_ext_wanted(const Onnx__ModelProto *mp, bool forced, size_t nsrc, const char *out_path)
{
	struct stat st;
	if (out_path && stat(out_path, &st) == 0 && !S_ISREG(st.st_mode))
		return false; /* a device target has no folder for a side file */
	if (forced || nsrc > 0)
		return true;
	return onnx__model_proto__get_packed_size(mp) > ONNX_EXT_THRESHOLD;
}

struct ext_writer {
	struct atomic_file af;
	bool open;
	char *path;      /* OUT.data */
	const char *loc; /* its base name */
	uint64_t off;    /* bytes written so far */
};

static int ext_check_inputs(const char *path, const struct model *const *in, size_t nin,
                            struct qs_error *err)
{
	for (size_t k = 0; k < nin; k++) {
		const struct model *m = in[k];
		if (!m)
			continue;
		bool same = atomic_same_file(path, m->path);
		const struct onnx_model *om = m->format == FMT_ONNX ? m->impl : NULL;
		for (size_t i = 0; om && !same && i < om->next; i++)
			same = atomic_same_file(path, om->ext[i].path);
		if (same)
			return qs_error_set(
			        err, QS_ERR_USAGE,
			        "%s: refusing to overwrite an input's data file (choose "
			        "another output name)",
			        path);
	}
	return 0;
}

static int ext_pad(struct ext_writer *w, struct qs_error *err)
{
	static const uint8_t zeros[ONNX_EXT_ALIGN];
	size_t pad = (size_t)((ONNX_EXT_ALIGN - w->off % ONNX_EXT_ALIGN) % ONNX_EXT_ALIGN);
	if (pad && fwrite(zeros, 1, pad, w->af.f) != pad)
		return qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", w->path,
		                    strerror(errno));
	w->off += pad;
	return 0;
}

static Onnx__StringStringEntryProto *ext_entry(const char *key, const char *value)
{
	Onnx__StringStringEntryProto *e = onnx_xmalloc(sizeof *e);
	onnx__string_string_entry_proto__init(e);
	e->key = onnx_strdup(key);
	e->value = onnx_strdup(value);
	return e;
}

static void ext_clear(Onnx__TensorProto *tp)
{
	for (size_t i = 0; i < tp->n_external_data; i++)
		onnx__string_string_entry_proto__free_unpacked(tp->external_data[i],
		                                               onnx_allocator());
	free(tp->external_data);
	tp->external_data = NULL;
	tp->n_external_data = 0;
	onnx_lean_free(tp->raw_data.data);
	tp->raw_data.data = NULL;
	tp->raw_data.len = 0;
	tp->has_raw_data = 0;
}

/* Append data to the side file and point tp at it. */
static int ext_put(struct ext_writer *w, Onnx__TensorProto *tp, const void *data, size_t len,
                   struct qs_error *err)
{
	int rc;
	if (!w->open) {
		if ((rc = atomic_open(&w->af, w->path, err)) != 0)
			return rc;
		w->open = true;
		if (w->af.in_place)
			return qs_error_set(err, QS_ERR_USAGE,
			                    "%s: the external data file must be a regular file",
			                    w->path);
	}
	if ((rc = ext_pad(w, err)) != 0)
		return rc;
	if (len && fwrite(data, 1, len, w->af.f) != len)
		return qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", w->path,
		                    strerror(errno));
	char off[24], n[24];
	snprintf(off, sizeof off, "%" PRIu64, w->off);
	snprintf(n, sizeof n, "%zu", len);
	w->off += len;
	ext_clear(tp);
	tp->external_data = onnx_xmalloc(3 * sizeof *tp->external_data);
	tp->external_data[0] = ext_entry("location", w->loc);
	tp->external_data[1] = ext_entry("offset", off);
	tp->external_data[2] = ext_entry("length", n);
	tp->n_external_data = 3;
	tp->has_data_location = 1;
	tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	return 0;
}

static void ext_inline(Onnx__TensorProto *tp, const void *data, size_t len)
{
	ext_clear(tp);
	tp->has_data_location = 0;
	tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
	tp->has_raw_data = 1;
	tp->raw_data.len = len;
	tp->raw_data.data = onnx_xmalloc(len ? len : 1);
	if (len)
		memcpy(tp->raw_data.data, data, len);
}

/* Initializers of g and its subgraphs whose raw_data is large move out,
 * one at a time (each buffer is freed as soon as it is in the file). */
static int ext_graph(struct ext_writer *w, Onnx__GraphProto *g, int depth, struct qs_error *err)
{
	if (depth > ONNX_MAX_DEPTH)
		return 0;
	for (size_t i = 0; i < g->n_initializer; i++) {
		Onnx__TensorProto *tp = g->initializer[i];
		if (!tp->has_raw_data || tp->raw_data.len < ONNX_EXT_MIN_BYTES ||
		    (tp->has_data_location &&
		     tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
			continue;
		int rc = ext_put(w, tp, tp->raw_data.data, tp->raw_data.len, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];
		for (size_t k = 0; k < n->n_attribute; k++) {
			Onnx__AttributeProto *a = n->attribute[k];
			int rc = a->g ? ext_graph(w, a->g, depth + 1, err) : 0;
			for (size_t j = 0; !rc && j < a->n_graphs; j++)
				rc = ext_graph(w, a->graphs[j], depth + 1, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int onnx_ext_write(Onnx__ModelProto *mp, const struct onnx_ext_src *src, size_t nsrc,
                   const struct model *const *inputs, size_t ninputs, FILE *out,
                   const char *out_path, struct qs_error *err)
{
	struct ext_writer w = {0};
	size_t pl = strlen(out_path);
	w.path = onnx_xmalloc(pl + 6);
	memcpy(w.path, out_path, pl);
	memcpy(w.path + pl, ".data", 6);
	const char *slash = strrchr(w.path, '/');
	w.loc = slash ? slash + 1 : w.path;
	int rc = ext_check_inputs(w.path, inputs, ninputs, err);
	for (size_t i = 0; !rc && i < nsrc; i++) {
		if (src[i].len < ONNX_EXT_MIN_BYTES)
			ext_inline(src[i].tp, src[i].data, src[i].len);
		else
			rc = ext_put(&w, src[i].tp, src[i].data, src[i].len, err);
	}
	if (!rc)
		rc = ext_graph(&w, mp->graph, 0, err);
	if (!rc)
		rc = onnx_pack_write(mp, out, out_path, err);
	/* The data file is committed before the model (model_write renames the
	 * model after this returns), so a reader never sees a model whose data
	 * file is missing. */
	if (w.open) {
		if (rc)
			atomic_abort(&w.af);
		else
			rc = atomic_commit(&w.af, err);
	}
	free(w.path);
	return rc;
}
