/* onnx_read.c — ONNX reader: ModelProto → model tensors (see onnx.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem_release.h"
#include "onnx_impl.h"

/* Elements beyond this are not a model but a hostile header (2^48). */
#define ONNX_MAX_ELEMS (UINT64_C(1) << 48)

static const struct {
	int32_t onnx;
	int qs;
} dtype_map[] = {
        {1, DTYPE_F32},   {2, DTYPE_U8},        {3, DTYPE_I8},      {4, DTYPE_U16},
        {5, DTYPE_I16},   {6, DTYPE_I32},       {7, DTYPE_I64},     {9, DTYPE_BOOL},
        {10, DTYPE_F16},  {11, DTYPE_F64},      {12, DTYPE_U32},    {13, DTYPE_U64},
        {16, DTYPE_BF16}, {17, DTYPE_F8E4M3FN}, {19, DTYPE_F8E5M2}, {21, DTYPE_U4},
        {22, DTYPE_I4},
};

int onnx_dtype_to_qs(int32_t onnx_type)
{
	for (size_t i = 0; i < sizeof dtype_map / sizeof dtype_map[0]; i++)
		if (dtype_map[i].onnx == onnx_type)
			return dtype_map[i].qs;
	return -1;
}

int32_t onnx_dtype_from_qs(enum dtype t)
{
	for (size_t i = 0; i < sizeof dtype_map / sizeof dtype_map[0]; i++)
		if (dtype_map[i].qs == (int)t)
			return dtype_map[i].onnx;
	return 0;
}

void *onnx_own(struct onnx_model *om, size_t bytes)
{
	if (om->nowned == om->capowned) {
		size_t cap = om->capowned ? 2 * om->capowned : 16;
		void **p = realloc(om->owned, cap * sizeof *p);
		if (!p)
			return NULL;
		om->owned = p;
		om->capowned = cap;
	}
	void *b = calloc(1, bytes ? bytes : 1);
	if (b)
		om->owned[om->nowned++] = b;
	return b;
}

int64_t onnx_default_opset(const Onnx__ModelProto *mp)
{
	for (size_t i = 0; i < mp->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
		if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx"))
			return o->has_version ? o->version : 1;
	}
	return 1;
}

/* ---- shape ---- */

static int tensor_shape(const Onnx__TensorProto *tp, const char *name, const char *file,
                        struct model_tensor *t, struct qs_error *err)
{
	if (tp->n_dims > QS_MAX_DIMS)
		return qs_error_set(err, QS_ERR_UNSUPPORTED,
		                    "%s: tensor '%s': %zu dims (at most %d)", file, name,
		                    tp->n_dims, QS_MAX_DIMS);
	uint64_t n = 1;
	t->ndim = (int)tp->n_dims;
	for (size_t i = 0; i < tp->n_dims; i++) {
		int64_t d = tp->dims[i];
		if (d < 0)
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: tensor '%s': negative dim %lld at index %zu", file,
			                    name, (long long)d, i);
		t->shape[i] = d;
		if ((uint64_t)d > ONNX_MAX_ELEMS || (d && n > ONNX_MAX_ELEMS / (uint64_t)d))
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: tensor '%s': absurd dims (dim %zu = %lld, more "
			                    "than 2^48 elements)",
			                    file, name, i, (long long)d);
		n *= (uint64_t)d;
	}
	t->nelem = n;
	return 0;
}

/* ---- external data ---- */

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool location_safe(const char *loc)
{
	if (!loc[0] || loc[0] == '/')
		return false;
	const char *p = loc;
	while (*p) {
		size_t len = strcspn(p, "/\\");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += len;
		if (*p)
			p++;
	}
	return true;
}

static struct onnx_ext *ext_open(struct onnx_model *om, const char *loc, const char *file,
                                 const char *name, struct qs_error *err)
{
	if (!location_safe(loc)) {
		qs_error_set(
		        err, QS_ERR_FORMAT,
		        "%s: tensor '%s': external data location '%s' leaves the model's folder",
		        file, name, loc);
		return NULL;
	}
	size_t len = strlen(om->dir) + strlen(loc) + 2;
	char *full = malloc(len);
	if (!full) {
		qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", file);
		return NULL;
	}
	snprintf(full, len, "%s/%s", om->dir, loc);
	char rdir[PATH_MAX], rfile[PATH_MAX];
	if (!realpath(om->dir, rdir) || !realpath(full, rfile)) {
		qs_error_set(err, QS_ERR_IO, "%s: tensor '%s': external data '%s': %s", file, name,
		             loc, strerror(errno));
		free(full);
		return NULL;
	}
	free(full);
	size_t dl = strlen(rdir);
	if (strncmp(rfile, rdir, dl) != 0 || (rfile[dl] != '/' && dl != 1)) {
		qs_error_set(err, QS_ERR_FORMAT,
		             "%s: tensor '%s': external data '%s' resolves outside the model's "
		             "folder",
		             file, name, loc);
		return NULL;
	}
	for (size_t i = 0; i < om->next; i++)
		if (!strcmp(om->ext[i].path, rfile))
			return &om->ext[i];
	struct onnx_ext *e = realloc(om->ext, (om->next + 1) * sizeof *e);
	if (!e) {
		qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", file);
		return NULL;
	}
	om->ext = e;
	e = &om->ext[om->next];
	*e = (struct onnx_ext){0};
	int fd = open(rfile, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		qs_error_set(err, QS_ERR_IO, "%s: tensor '%s': external data '%s': %s", file, name,
		             loc, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	e->len = (size_t)st.st_size;
	if (e->len) {
		void *p = mmap(NULL, e->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			qs_error_set(err, QS_ERR_IO, "%s: external data '%s': mmap: %s", file, loc,
			             strerror(errno));
			close(fd);
			return NULL;
		}
		madvise(p, e->len, MADV_SEQUENTIAL); /* as model_map_file: read tensor by tensor */
		e->map = p;
	}
	close(fd);
	e->path = strdup(rfile);
	om->next++;
	return e;
}

static int tensor_external(struct onnx_model *om, const Onnx__TensorProto *tp, const char *name,
                           const char *file, struct model_tensor *t, size_t need,
                           struct qs_error *err)
{
	const char *loc = NULL;
	uint64_t off = 0, len = UINT64_MAX;
	for (size_t i = 0; i < tp->n_external_data; i++) {
		const Onnx__StringStringEntryProto *kv = tp->external_data[i];
		if (!kv->key || !kv->value)
			continue;
		bool ok = true;
		if (!strcmp(kv->key, "location"))
			loc = kv->value;
		else if (!strcmp(kv->key, "offset"))
			ok = parse_u64(kv->value, &off);
		else if (!strcmp(kv->key, "length"))
			ok = parse_u64(kv->value, &len);
		if (!ok)
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: tensor '%s': external data %s '%s' is not a "
			                    "number",
			                    file, name, kv->key, kv->value);
	}
	if (!loc)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: tensor '%s': external data without a location", file,
		                    name);
	struct onnx_ext *e = ext_open(om, loc, file, name, err);
	if (!e)
		return err ? err->code : QS_ERR_FORMAT;
	if (len == UINT64_MAX)
		len = need;
	if (len != need)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: tensor '%s': external length %llu, dims need %zu bytes",
		                    file, name, (unsigned long long)len, need);
	if (off > e->len || len > e->len - off)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: tensor '%s': external data '%s' offset %llu + length "
		                    "%llu is past its end (%zu bytes)",
		                    file, name, loc, (unsigned long long)off,
		                    (unsigned long long)len, e->len);
	t->data = e->map ? e->map + off : NULL;
	t->nbytes = need;
	return 0;
}

/* ---- typed fields → raw little-endian bytes ---- */

static int typed_count_err(const char *file, const char *name, const char *field, size_t have,
                           uint64_t want, struct qs_error *err)
{
	return qs_error_set(err, QS_ERR_FORMAT,
	                    "%s: tensor '%s': %s has %zu entries, dims need %llu", file, name,
	                    field, have, (unsigned long long)want);
}

static int tensor_typed(struct onnx_model *om, const Onnx__TensorProto *tp, const char *name,
                        const char *file, struct model_tensor *t, size_t need, struct qs_error *err)
{
	uint64_t n = t->nelem;
	unsigned bits = dtype_info(t->dtype)->bits;
	switch (t->dtype) {
	case DTYPE_F32:
		if (tp->n_float_data != n)
			return typed_count_err(file, name, "float_data", tp->n_float_data, n, err);
		t->data = (const uint8_t *)tp->float_data;
		break;
	case DTYPE_F64:
		if (tp->n_double_data != n)
			return typed_count_err(file, name, "double_data", tp->n_double_data, n,
			                       err);
		t->data = (const uint8_t *)tp->double_data;
		break;
	case DTYPE_I64:
		if (tp->n_int64_data != n)
			return typed_count_err(file, name, "int64_data", tp->n_int64_data, n, err);
		t->data = (const uint8_t *)tp->int64_data;
		break;
	case DTYPE_I32:
		if (tp->n_int32_data != n)
			return typed_count_err(file, name, "int32_data", tp->n_int32_data, n, err);
		t->data = (const uint8_t *)tp->int32_data;
		break;
	case DTYPE_U32:
	case DTYPE_U64: {
		if (tp->n_uint64_data != n)
			return typed_count_err(file, name, "uint64_data", tp->n_uint64_data, n,
			                       err);
		uint8_t *b = onnx_own(om, need);
		if (!b)
			return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", file);
		for (uint64_t i = 0; i < n; i++) {
			if (t->dtype == DTYPE_U32) {
				uint32_t v = (uint32_t)tp->uint64_data[i];
				memcpy(b + 4 * i, &v, 4);
			} else {
				memcpy(b + 8 * i, &tp->uint64_data[i], 8);
			}
		}
		t->data = b;
		break;
	}
	case DTYPE_I4:
	case DTYPE_U4: {
		/* Two nibbles per int32 entry, as the packed byte. */
		uint64_t want = (n + 1) / 2;
		if (tp->n_int32_data != want)
			return typed_count_err(file, name, "int32_data", tp->n_int32_data, want,
			                       err);
		uint8_t *b = onnx_own(om, need);
		if (!b)
			return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", file);
		for (uint64_t i = 0; i < want; i++)
			b[i] = (uint8_t)tp->int32_data[i];
		t->data = b;
		break;
	}
	default: {
		/* One element per int32 entry (8/16-bit ints, bool, fp16, bf16, fp8). */
		if (tp->n_int32_data != n)
			return typed_count_err(file, name, "int32_data", tp->n_int32_data, n, err);
		uint8_t *b = onnx_own(om, need);
		if (!b)
			return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", file);
		for (uint64_t i = 0; i < n; i++) {
			uint32_t v = (uint32_t)tp->int32_data[i];
			if (bits == 8) {
				b[i] = (uint8_t)v;
			} else {
				uint16_t h = (uint16_t)v;
				memcpy(b + 2 * i, &h, 2);
			}
		}
		t->data = b;
		break;
	}
	}
	t->nbytes = need;
	return 0;
}

int onnx_tensor_decode(struct onnx_model *om, const Onnx__TensorProto *tp, const char *name,
                       const char *file, struct model_tensor *t, struct qs_error *err)
{
	int dt = onnx_dtype_to_qs(tp->data_type);
	if (dt < 0)
		return qs_error_set(err, QS_ERR_UNSUPPORTED, "%s: tensor '%s': data type %d", file,
		                    name, (int)tp->data_type);
	t->dtype = (enum dtype)dt;
	t->nibbles = NIBBLE_LOW_FIRST;
	int rc = tensor_shape(tp, name, file, t, err);
	if (rc)
		return rc;
	size_t need;
	if (!dtype_nbytes(t->dtype, t->nelem, &need))
		return qs_error_set(err, QS_ERR_FORMAT, "%s: tensor '%s': absurd dims", file, name);
	if (tp->has_data_location &&
	    tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return tensor_external(om, tp, name, file, t, need, err);
	if (tp->has_raw_data) {
		if (tp->raw_data.len != need)
			return qs_error_set(err, QS_ERR_FORMAT,
			                    "%s: tensor '%s': dims need %zu bytes of %s, raw_data "
			                    "has %zu",
			                    file, name, need, dtype_name(t->dtype),
			                    tp->raw_data.len);
		t->data = tp->raw_data.data;
		t->nbytes = need;
		return 0;
	}
	if (t->nelem == 0) {
		t->data = NULL;
		t->nbytes = 0;
		return 0;
	}
	return tensor_typed(om, tp, name, file, t, need, err);
}

/* ---- collecting tensors ---- */

struct collect {
	struct model *m;
	struct onnx_model *om;
	size_t cap;
	const char *file;
	struct qs_error *err;
};

static int add_tensor(struct collect *c, Onnx__TensorProto *tp, const char *name,
                      Onnx__GraphProto *g, Onnx__NodeProto *cn, size_t gpos)
{
	if (onnx_dtype_to_qs(tp->data_type) < 0) {
		c->om->nskipped++;
		return 0;
	}
	struct model *m = c->m;
	if (m->ntensors == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct model_tensor *t = realloc(m->tensors, cap * sizeof *t);
		struct onnx_src *s = realloc(c->om->src, cap * sizeof *s);
		if (t)
			m->tensors = t;
		if (s)
			c->om->src = s;
		if (!t || !s)
			return qs_error_set(c->err, QS_ERR_NOMEM, "%s: out of memory", c->file);
		c->cap = cap;
	}
	struct model_tensor *t = &m->tensors[m->ntensors];
	*t = (struct model_tensor){0};
	t->facts.out_axis = -1;
	int rc = onnx_tensor_decode(c->om, tp, name, c->file, t, c->err);
	if (rc)
		return rc;
	t->name = strdup(name);
	if (!t->name)
		return qs_error_set(c->err, QS_ERR_NOMEM, "%s: out of memory", c->file);
	c->om->src[m->ntensors] = (struct onnx_src){
	        .tp = tp,
	        .graph = g,
	        .const_node = cn,
	        .gpos = gpos,
	        .external = tp->has_data_location &&
	                    tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL,
	};
	m->ntensors++;
	return 0;
}

static int collect_graph(struct collect *c, Onnx__GraphProto *g, int depth);

static int collect_node(struct collect *c, Onnx__GraphProto *g, Onnx__NodeProto *n, size_t pos,
                        int depth)
{
	if (n->op_type && !strcmp(n->op_type, "Constant") && (!n->domain || !n->domain[0]) &&
	    n->n_output >= 1) {
		const Onnx__AttributeProto *a = onnx_attr(n, "value");
		if (a && a->t) {
			int rc = add_tensor(c, a->t, n->output[0], g, n, pos);
			if (rc)
				return rc;
		}
	}
	for (size_t i = 0; i < n->n_attribute; i++) {
		const Onnx__AttributeProto *a = n->attribute[i];
		if (a->g) {
			int rc = collect_graph(c, a->g, depth + 1);
			if (rc)
				return rc;
		}
		for (size_t k = 0; k < a->n_graphs; k++) {
			int rc = collect_graph(c, a->graphs[k], depth + 1);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int collect_graph(struct collect *c, Onnx__GraphProto *g, int depth)
{
	if (depth > ONNX_MAX_DEPTH)
		return qs_error_set(c->err, QS_ERR_FORMAT,
		                    "%s: subgraphs nested deeper than %d levels", c->file,
		                    ONNX_MAX_DEPTH);
	for (size_t i = 0; i < g->n_initializer; i++) {
		Onnx__TensorProto *tp = g->initializer[i];
		int rc = add_tensor(c, tp, tp->name ? tp->name : "", g, NULL, i);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < g->n_node; i++) {
		int rc = collect_node(c, g, g->node[i], i, depth);
		if (rc)
			return rc;
	}
	return 0;
}

static int map_file(const char *path, struct onnx_model *om, struct qs_error *err)
{
	const uint8_t *p;
	int rc = model_map_file(path, &p, &om->map_len, err);

	om->map = (uint8_t *)p; /* mapped read-only; never written through */
	return rc;
}

static char *dir_of(const char *path)
{
	const char *s = strrchr(path, '/');
	if (!s)
		return strdup(".");
	if (s == path)
		return strdup("/");
	return strndup(path, (size_t)(s - path));
}

static void onnx_unload(struct model *m)
{
	struct onnx_model *om = m ? m->impl : NULL;
	if (!om)
		return;
	if (om->mp)
		onnx__model_proto__free_unpacked(om->mp, onnx_allocator());
	model_unmap_file(om->map, om->map_len);
	for (size_t i = 0; i < om->next; i++) {
		if (om->ext[i].map)
			munmap(om->ext[i].map, om->ext[i].len);
		free(om->ext[i].path);
	}
	free(om->ext);
	for (size_t i = 0; i < om->nowned; i++)
		free(om->owned[i]);
	free(om->owned);
	free(om->src);
	free(om->dir);
	free(om);
	m->impl = NULL;
}

static int onnx_load(const char *path, struct model *m, struct qs_error *err)
{
	const char *file = model_path_base(path);
	struct onnx_model *om = calloc(1, sizeof *om);
	if (!om)
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", file);
	m->impl = om;
	m->format = FMT_ONNX;
	m->ops = &onnx_format_ops;
	int rc = map_file(path, om, err);
	if (rc)
		return rc;
	om->dir = dir_of(path);
	/* protobuf-c recurses without a limit: refuse nesting bombs first. A
	 * subgraph level is three messages deep (Graph, Node, Attribute). */
	size_t deep_at = 0;
	if (onnx_unpack_lean(om, 3 * ONNX_MAX_DEPTH + 32, &om->mp, &deep_at) != 0)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: messages nested more than %d deep at offset %zu "
		                    "(subgraphs or types)",
		                    file, 3 * ONNX_MAX_DEPTH + 32, deep_at);
	if (!om->mp)
		return qs_error_set(err, QS_ERR_FORMAT,
		                    "%s: not a valid ONNX protobuf (truncated, or a field with "
		                    "the wrong wire type) in %zu bytes",
		                    file, om->map_len);
	if (!om->mp->graph)
		return qs_error_set(err, QS_ERR_FORMAT, "%s: ModelProto has no graph (field 7)",
		                    file);
	struct collect c = {.m = m, .om = om, .file = file, .err = err};
	rc = collect_graph(&c, om->mp->graph, 0);
	if (rc)
		return rc;
	om->nreal = m->ntensors;
	/* The weights' bytes stay in the mapping (onnx_unpack_lean): the pages
	 * the unpack read can leave the resident set, a tensor read later
	 * faults its own in again and model_tensor_release drops them. */
	mem_release_mapped(om->map, om->map_len);
	return onnx_graph_analyse(m, err);
}

static bool onnx_sniff(const uint8_t *head, size_t len, const char *path)
{
	size_t pl = path ? strlen(path) : 0;
	if (pl >= 5 && !strcmp(path + pl - 5, ".onnx"))
		return true;
	/* ir_version (field 1, varint) first, as every exporter writes it. */
	return len >= 3 && head[0] == 0x08 && head[1] > 0 && head[1] < 0x20 &&
	       (head[2] == 0x12 || head[2] == 0x1a || head[2] == 0x3a || head[2] == 0x42);
}

static int onnx_write(const struct model *src, const struct write_opts *o, FILE *out,
                      const char *out_path, struct qs_error *err)
{
	return onnx_write_model(src, o, out, out_path, err);
}

const struct model_format_ops onnx_format_ops = {
        .format = FMT_ONNX,
        .name = "onnx",
        .extensions = ".onnx",
        .sniff = onnx_sniff,
        .load = onnx_load,
        .unload = onnx_unload,
        .write = onnx_write,
};

/* ---- standalone TensorProto files ---- */

int onnx_tensor_file_load(const char *path, struct onnx_tensor_file *out, struct qs_error *err)
{
	*out = (struct onnx_tensor_file){0};
	struct onnx_model om = {0};
	int rc = map_file(path, &om, err);
	if (rc)
		return rc;
	const char *file = model_path_base(path);
	Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, om.map_len, om.map);
	if (!tp) {
		model_unmap_file(om.map, om.map_len);
		return qs_error_set(err, QS_ERR_FORMAT, "%s: not a valid TensorProto", file);
	}
	om.dir = dir_of(path);
	struct model_tensor t = {0};
	rc = onnx_tensor_decode(&om, tp, tp->name ? tp->name : "", file, &t, err);
	if (!rc) {
		out->name = strdup(tp->name ? tp->name : "");
		out->dtype = t.dtype;
		out->ndim = t.ndim;
		memcpy(out->shape, t.shape, sizeof t.shape);
		out->nelem = t.nelem;
		out->v = calloc(t.nelem ? t.nelem : 1, sizeof *out->v);
		if (!out->v || !out->name) {
			rc = qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", file);
		} else if (dtype_info(t.dtype)->is_float) {
			float *f = malloc((t.nelem ? t.nelem : 1) * sizeof *f);
			if (f) {
				dtype_to_f32(t.dtype, t.data, 0, t.nelem, false, t.nibbles, f);
				for (uint64_t i = 0; i < t.nelem; i++)
					out->v[i] = f[i];
			}
			free(f);
		} else {
			for (uint64_t i = 0; i < t.nelem; i++)
				out->v[i] = (double)dtype_get_int(t.dtype, t.data, i, t.nibbles);
		}
	}
	onnx__tensor_proto__free_unpacked(tp, NULL);
	for (size_t i = 0; i < om.nowned; i++)
		free(om.owned[i]);
	free(om.owned);
	for (size_t i = 0; i < om.next; i++) {
		if (om.ext[i].map)
			munmap(om.ext[i].map, om.ext[i].len);
		free(om.ext[i].path);
	}
	free(om.ext);
	free(om.dir);
	model_unmap_file(om.map, om.map_len);
	if (rc)
		onnx_tensor_file_free(out);
	return rc;
}

void onnx_tensor_file_free(struct onnx_tensor_file *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->v);
	*t = (struct onnx_tensor_file){0};
}
