/* onnx_impl.h — internals shared by the ONNX reader, writer, opset upgrade
 * and demo (not part of the io/ API).
 *
 * struct onnx_model is model.impl for an ONNX model: the mmap of the file,
 * the unpacked ModelProto (owning every raw_data buffer tensors borrow), the
 * external-data mmaps, and per model tensor where it came from (the
 * TensorProto, its graph, the Constant node when there is one).
 */
#ifndef QS_ONNX_IMPL_H
#define QS_ONNX_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onnx.h"
#include "onnx.pb-c.h"

struct onnx_src {
	Onnx__TensorProto *tp;
	Onnx__GraphProto *graph;
	Onnx__NodeProto *const_node; /* Constant node holding tp, or NULL */
	size_t gpos;                 /* index of tp in graph->initializer / node */
	bool external;
};

struct onnx_ext {
	char *path;
	uint8_t *map;
	size_t len;
};

struct onnx_model {
	uint8_t *map; /* the .onnx file */
	size_t map_len;
	Onnx__ModelProto *mp;
	char *dir;            /* folder of the model, for external data */
	struct onnx_src *src; /* model.ntensors entries */
	struct onnx_ext *ext;
	size_t next;
	void **owned; /* buffers converted from typed fields, bias copies */
	size_t nowned, capowned;
	size_t nskipped; /* tensors of types the engine has no dtype for */
	size_t nreal;    /* tensors 0..nreal-1 have a TensorProto (src[i].tp);
	                  * the rest are virtual: the codes a QuantizeLinear
	                  * makes of a float weight at run time */
};

/* ---- onnx_read.c ---- */
/* Decode tp into t (dtype, shape, data). dir: folder for external data. */
int onnx_tensor_decode(struct onnx_model *om, const Onnx__TensorProto *tp, const char *name,
                       const char *file, struct model_tensor *t, struct qs_error *err);
void *onnx_own(struct onnx_model *om, size_t bytes); /* zeroed, freed with the model */
int64_t onnx_default_opset(const Onnx__ModelProto *mp);

/* ---- onnx_graph.c ---- */
/* Fill quant, is_aux and facts of m's tensors from the graph. */
int onnx_graph_analyse(struct model *m, struct qs_error *err);
/* om->map unpacked into *mp with the large raw_data of the weights'
 * TensorProtos left in the mapping (io/onnx_lean.c); *mp NULL when
 * protobuf-c refuses the bytes. −1 (nothing unpacked) when messages nest
 * deeper than limit, *deep_at then the offset in the file. Every message of
 * such a tree is freed with onnx_allocator(), which frees what is not in a
 * model's mapping (model_map_holds), and a replaced raw_data with
 * onnx_lean_free. */
int onnx_unpack_lean(const struct onnx_model *om, int limit, Onnx__ModelProto **mp,
                     size_t *deep_at);
ProtobufCAllocator *onnx_allocator(void);
void onnx_lean_free(void *p);
/* Value of a node attribute (NULL when absent). */
const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt);
/* Call fn for every node of g and its subgraphs (depth first). */
void onnx_walk_nodes(Onnx__GraphProto *g, int depth,
                     void (*fn)(Onnx__GraphProto *g, Onnx__NodeProto *n, void *ctx), void *ctx);

/* ---- onnx_pb.c: building messages (all malloc'd, freed by protobuf-c) ---- */
char *onnx_strdup(const char *s);
Onnx__TensorProto *onnx_pb_tensor(const char *name, int32_t dtype, const int64_t *dims, int ndim,
                                  const void *raw, size_t nbytes);
Onnx__NodeProto *onnx_pb_node(const char *op, const char *name, const char *const *in, size_t nin,
                              const char *const *out, size_t nout);
void onnx_pb_attr_int(Onnx__NodeProto *n, const char *name, int64_t v);
void onnx_pb_attr_ints(Onnx__NodeProto *n, const char *name, const int64_t *v, size_t nv);
void onnx_pb_attr_float(Onnx__NodeProto *n, const char *name, float v);
void onnx_pb_attr_tensor(Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t);
void onnx_pb_graph_add_init(Onnx__GraphProto *g, Onnx__TensorProto *t);
void onnx_pb_graph_insert_node(Onnx__GraphProto *g, size_t pos, Onnx__NodeProto *n);
void onnx_pb_graph_remove_node(Onnx__GraphProto *g, size_t pos); /* frees it */
void onnx_pb_node_add_input(Onnx__NodeProto *n, const char *name);
void onnx_pb_node_remove_attr(Onnx__NodeProto *n, const char *name);
Onnx__ValueInfoProto *onnx_pb_value_info(const char *name, int32_t elem, const int64_t *dims,
                                         const char *const *dim_params, int ndim);
void onnx_pb_set_opset(Onnx__ModelProto *mp, const char *domain, int64_t version);
void *onnx_xmalloc(size_t n); /* aborts on OOM (sizes here are ours, not the file's) */

/* ---- onnx_opset.c ---- */
/* Raise the default-domain opset of mp to `target` (no-op when already
 * there), converting the ops whose attributes became inputs (Slice 10,
 * Clip/Pad 11, Squeeze/Unsqueeze/Split/ReduceSum 13, Reduce* 18, Dropout 12,
 * TopK 10). An op whose meaning changes in a way that cannot be converted
 * gives QS_ERR_UNSUPPORTED naming it. ir_version is raised to match. */
int onnx_opset_raise(Onnx__ModelProto *mp, int64_t target, struct qs_error *err);

/* ---- onnx_extdata.c: writing external data ----
 * The side file is OUT.data beside OUT (location = its base name). Every
 * initializer (subgraphs too) whose raw_data is ≥ ONNX_EXT_MIN_BYTES, and
 * every still-external tensor of the source, is appended at an offset that
 * is a multiple of ONNX_EXT_ALIGN, one tensor at a time (its in-memory
 * buffer freed at once); smaller source-external tensors come back inline.
 * Constant-node tensors and typed fields (float_data, ...) stay inline. */
#define ONNX_EXT_ALIGN     4096
#define ONNX_EXT_MIN_BYTES 1024
/* Inline output above this (2 GiB minus 64 MiB for the message framing
 * protobuf-c's size count leaves out of nothing, but readers' limits
 * differ) switches to external data. */
#define ONNX_EXT_THRESHOLD ((size_t)INT32_MAX - ((size_t)64 << 20))

/* A tensor of the copy still pointing at the source's external data. */
struct onnx_ext_src {
	Onnx__TensorProto *tp;
	const void *data; /* the source's bytes (the mmap), len bytes */
	size_t len;
};

/* External data is written when forced, when the source had external
 * tensors (nsrc > 0), or when the inline model would exceed
 * ONNX_EXT_THRESHOLD — never for a target that exists and is not a regular
 * file (a device). */
bool onnx_ext_wanted(const Onnx__ModelProto *mp, bool forced, size_t nsrc, const char *out_path);

/* Move tensors of mp to OUT.data (written atomically, committed before this
 * returns 0; removed on any error), then pack mp to out. Refuses
 * (QS_ERR_USAGE) when OUT.data is one of the inputs' files or data files. */
int onnx_ext_write(Onnx__ModelProto *mp, const struct onnx_ext_src *src, size_t nsrc,
                   const struct model *const *inputs, size_t ninputs, FILE *out,
                   const char *out_path, struct qs_error *err);

/* ---- onnx_write.c ---- */
int onnx_write_model(const struct model *src, const struct write_opts *o, FILE *out,
                     const char *out_path, struct qs_error *err);

/* Pack mp and write it to out (flushed); refuses a message over protobuf's
 * 2 GiB limit. Errors name out_path. */
int onnx_pack_write(Onnx__ModelProto *mp, FILE *out, const char *out_path, struct qs_error *err);

#endif
