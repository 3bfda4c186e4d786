/* model.h — a loaded model, whatever its format: a list of named tensors
 * whose bytes stay in the file's mmap (borrowed), plus what the format's
 * graph or naming conventions say about them.
 *
 * Shapes are always in numpy (row-major) order: last axis contiguous. Readers
 * of formats that store dims reversed (GGUF) reverse them on load.
 *
 * Ownership: model_load returns a model the caller frees with model_free.
 * Tensor data pointers stay valid until model_free. Readers check every
 * length, count and offset against the file size before trusting it.
 *
 * Inside a model (for format readers): m->tensors, each tensor's name and
 * its quant (scale, zero_point, float_name and the struct itself) are
 * malloc'd and freed by model_free (tensor_quant_free), which first calls
 * ops->unload(m); unload frees only m->impl (the mmap, parsed graph,
 * inflated buffers). A load that fails may leave tensors partly filled
 * (unset pointers NULL, m->ntensors counting the filled entries): model_load
 * then calls model_free.
 */
#ifndef QS_MODEL_H
#define QS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../analysis/analyze.h"
#include "../analysis/dtype.h"
#include "../analysis/error.h"
#include "../analysis/layout.h"
#include "../analysis/qtype.h"

enum model_format {
	FMT_NPY,
	FMT_NPZ,
	FMT_ONNX,
	FMT_GGUF,
	FMT_SAFETENSORS,
	FMT_TFLITE,
	FMT_COUNT
};

/* Quantization parameters a reader found for a quantized tensor (integer
 * codes with scale/zero point from the graph or naming conventions).
 * Block-quantized GGUF tensors use model_tensor.block instead. */
struct tensor_quant {
	int bits;
	int32_t qmin, qmax;
	struct layout layout; /* groups of the scale/zero-point arrays */
	float *scale;         /* layout.ngroups, owned */
	int32_t *zero_point;  /* layout.ngroups, owned */
	char *float_name;     /* the float tensor it approximates, if known */
};

void tensor_quant_free(struct tensor_quant *q); /* NULL-safe; frees members */

struct model_tensor {
	char *name;
	enum dtype dtype;          /* element type as stored */
	const struct qtype *block; /* GGUF block type (Q4_0, ...), else NULL */
	int ndim;
	int64_t shape[QS_MAX_DIMS];
	uint64_t nelem;
	const uint8_t *data; /* borrowed, nbytes long */
	size_t nbytes;
	bool big_endian, fortran_order;
	enum nibble_order nibbles;
	struct graph_facts facts;   /* role, consumer op, axis, K, scales */
	struct tensor_quant *quant; /* NULL for float tensors; owned */
	bool is_aux;                /* a scale/zero-point/shape tensor of another */
};

struct model;
struct write_opts;

/* One table row per format (io/model.c). */
struct model_format_ops {
	enum model_format format;
	const char *name;       /* "onnx" */
	const char *extensions; /* ".onnx" — space-separated */
	/* Does the file look like this format (magic bytes)? */
	bool (*sniff)(const uint8_t *head, size_t len, const char *path);
	int (*load)(const char *path, struct model *m, struct qs_error *err);
	void (*unload)(struct model *m);
	/* Write src (a model of this format) with o->plan into out; out_path is
	 * the final name (for side files such as external data). NULL when the
	 * format is read-only. model_write does the atomic temp+rename. */
	int (*write)(const struct model *src, const struct write_opts *o, FILE *out,
	             const char *out_path, struct qs_error *err);
};

struct model {
	enum model_format format;
	const struct model_format_ops *ops;
	char *path;
	size_t ntensors;
	struct model_tensor *tensors; /* owned */
	void *impl;                   /* the reader's state (mmap, parsed graph) */
};

/* Load path, choosing the format by magic bytes, then by extension. */
int model_load(const char *path, struct model **out, struct qs_error *err);
void model_free(struct model *m); /* NULL-safe */

const struct model_format_ops *model_format_by_name(const char *name);
const struct model_format_ops *model_format_by_path(const char *path);

/* Index of the tensor named name, or −1. */
int64_t model_find(const struct model *m, const char *name);

/* Sorted name lookup (model_find is a linear scan): build once, then
 * O(log n) finds. refs borrow the model's names; free before model_free. */
struct model_name_ref {
	const char *name;
	size_t i; /* tensor index */
};
struct model_names {
	size_t n;
	struct model_name_ref *refs; /* owned, sorted by name */
};
/* Index every named tensor, or only the analysable ones. 0 or QS_ERR_NOMEM. */
int model_names_build(const struct model *m, bool analysable_only, struct model_names *out);
int64_t model_names_find(const struct model_names *ix, const char *name); /* index or −1 */
const char *model_names_duplicate(const struct model_names *ix); /* a repeated name or NULL */
void model_names_free(struct model_names *ix);                   /* NULL-safe */

/* Decode tensor t to float (dequantizing block types and quant tensors:
 * x = (q − z)·s). dst holds t->nelem floats. */
int model_tensor_to_f32(const struct model *m, const struct model_tensor *t, float *dst,
                        struct qs_error *err);

/* ---- streaming access (one tensor at a time, no whole-tensor copy) ------
 *
 * model_tensor_f32_view: t's values in place, zero copy, when its storage is
 * plain little-endian float32 on a little-endian host, 4-byte aligned, C
 * order (or Fortran order with at most one dimension longer than 1), with no
 * quant params and no block type — exactly the tensors whose
 * model_tensor_to_f32 is a plain copy. The t->nelem floats are borrowed from
 * the model (its mapping or a reader's buffer) and stay valid until
 * model_free. NULL otherwise (also for t->nelem == 0): decode instead.
 *
 * model_tensor_to_f32_range: write the count floats model_tensor_to_f32
 * would give for elements [first, first+count) (C order) into dst, bit for
 * bit, reading only the bytes those elements need. Works for every float and
 * integer dtype, Fortran-ordered and big-endian npy data, 4-bit nibbles of
 * either order at any (odd) first, quant tensors (x = (q − z)·s) with
 * per-tensor, per-channel or blocked params, and ggml block types at any
 * first/count (ranges aligned to model_tensor_range_align decode straight
 * from the blocks; ragged ends go through a one-block scratch buffer).
 * Errors: first+count > t->nelem → QS_ERR_USAGE (nothing read);
 * storage shorter than t->nelem elements → QS_ERR_FORMAT; a block type
 * without a decoder or an unknown dtype → QS_ERR_UNSUPPORTED (as the
 * whole-tensor decode); a quant layout not covering t->nelem or float codes
 * → QS_ERR_FORMAT (as the whole-tensor decode); QS_ERR_NOMEM only for a
 * ragged end of a block type of more than 256 elements per block (none
 * today). count == 0 succeeds after the bounds check. m is not read at
 * present (hand-built tensors may pass NULL). Thread-safe: several threads
 * may decode ranges of one tensor at once (reads t and its bytes only).
 *
 * model_tensor_range_align: the element granularity at which range decoding
 * is cheapest (block_elems for ggml block types, else 1); streaming callers
 * choose chunk sizes that are multiples of it.
 *
 * model_tensor_release: t has been read; drop its pages from this
 * process's resident set when they lie in a read-only file mapping
 * (mem_release_mapped: the page cache keeps them, a later read faults them
 * in again). Writers call it after each tensor, so that writing a model
 * shows the RSS of a tensor or two, not of the whole input. Never fails.
 *
 * model_tensor_prefetch: hint that t's bytes will be read soon
 * (madvise WILLNEED on the pages holding them); call it for the next tensor
 * while analysing the current one. On heap data (inflated npz members,
 * unpacked GPTQ/AWQ codes) it is a harmless hint; never fails. The model
 * files themselves are mapped private read-only with MADV_SEQUENTIAL
 * (model_map_file; ONNX external data likewise). */
const float *model_tensor_f32_view(const struct model *m, const struct model_tensor *t);
int model_tensor_to_f32_range(const struct model *m, const struct model_tensor *t, uint64_t first,
                              uint64_t count, float *dst, struct qs_error *err);
uint64_t model_tensor_range_align(const struct model_tensor *t);
void model_tensor_prefetch(const struct model_tensor *t);
void model_tensor_release(const struct model_tensor *t);

/* Integer codes of a quantized tensor (t->quant or t->block), nelem int32. */
int model_tensor_codes(const struct model *m, const struct model_tensor *t, int32_t *dst,
                       struct qs_error *err);

/* model_tensor_codes for elements [first, first+count) (C order) only: the
 * slice of what model_tensor_codes gives, bit for bit, reading only the
 * bytes those elements need (block types: aligned ranges straight from the
 * blocks, ragged ends through a one-block scratch buffer; Fortran-ordered
 * and big-endian npy codes, nibbles of either order at any first). Errors
 * as model_tensor_to_f32_range: first+count > t->nelem → QS_ERR_USAGE
 * (nothing read); a tensor neither quant nor block → QS_ERR_USAGE; a block
 * type without codes → QS_ERR_UNSUPPORTED; float-typed codes or storage
 * shorter than t->nelem → QS_ERR_FORMAT. Thread-safe like the float range
 * decode; m is not read. */
int model_tensor_codes_range(const struct model *m, const struct model_tensor *t, uint64_t first,
                             uint64_t count, int32_t *dst, struct qs_error *err);

/* Quantize tensor t of m with spec (simulate a write): x̂ always; for linear
 * schemes also the codes, the layout and per-group parameters (range_choose
 * on each group's finite values, then quant_tensor); for ggml block qtypes
 * the packed blocks (quantize_ref, or quantize_method for non-minmax
 * methods); float qtypes (F16, BF16) give the cast round trip only. Memory:
 * x̂ and codes (8 bytes per element) plus one group of scratch. */
struct quantized_tensor {
	const struct qtype *qt; /* NULL: linear scheme */
	struct scheme scheme;   /* resolved (a LINEAR qtype's bits/signedness) */
	int bits;
	int32_t qmin, qmax;
	struct layout layout;
	struct qparam *params; /* layout.ngroups, owned; NULL unless linear */
	float *xhat;           /* nelem, owned */
	int32_t *codes;        /* nelem, owned; NULL unless linear */
	void *blocks;          /* QTYPE_BLOCK: nblocks × block_bytes, owned */
	size_t nbytes_blocks;
};
int model_tensor_quantize(const struct model *m, const struct model_tensor *t,
                          const struct qspec *spec, struct quantized_tensor *out,
                          struct qs_error *err);
void quantized_tensor_free(struct quantized_tensor *q); /* NULL-safe; frees members */

/* Map path read-only and private (madvise SEQUENTIAL) for readers; an empty
 * file is an error. model_unmap_file(NULL, 0) is a no-op. */
int model_map_file(const char *path, const uint8_t **data, size_t *len, struct qs_error *err);
void model_unmap_file(const uint8_t *data, size_t len);
/* Does p point into a mapping of model_map_file's that is still mapped?
 * (Code freeing protobuf-c's byte strings, some of which borrow the file's
 * bytes: io/onnx_lean.c.) Thread-safe. */
bool model_map_holds(const void *p);

/* The last component of path (after the last '/'), as readers and writers
 * name a file in their messages; points into path. */
const char *model_path_base(const char *path);

/* Is this a tensor qscope analyses (a float or quantized weight-like tensor
 * with at least one element, not an auxiliary scale/zero point/int index)? */
bool model_tensor_analysable(const struct model_tensor *t);

/* ---- pairing ---------------------------------------------------------- */

struct pair {
	int64_t f;       /* index in the float model, −1 when unpaired */
	int64_t q;       /* index in the quantized model, −1 when unpaired */
	const char *how; /* "name", "convention", "position" (static string) */
};

struct pairing {
	size_t n;
	struct pair *pairs; /* owned; unpaired tensors appear with f or q = −1 */
};

/* Pair the analysable tensors of fm with those of qm: by the quant tensors'
 * float_name, by equal names, then by order and shape. */
int model_pair(const struct model *fm, const struct model *qm, struct pairing *out,
               struct qs_error *err);
void pairing_free(struct pairing *p);

/* ---- writing ---------------------------------------------------------- */

/* What to do with each tensor of the source model when writing. */
struct tensor_plan {
	bool quantize; /* false: keep as is (float) */
	struct qspec spec;
};

struct write_opts {
	const struct tensor_plan *plan; /* src->ntensors entries */
	bool fake_quant;                /* write dequantized floats instead of codes */
	const char *to;                 /* format name, or NULL: from the output extension */
	const struct model *like;       /* ONNX --like: an existing quantized model
				   * whose structure is kept, scales replaced */
	bool external_data;             /* ONNX: tensors of 1024 bytes or more go to
				   * the side file OUT.data (io/onnx_write.c) */
};

/* Write src with plan to path atomically (io/atomic.h: temporary file in the
 * same folder, fsync, rename; a device such as /dev/null is written in
 * place). Refuses to overwrite src->path or o->like->path (same inode, so
 * links and symlinks count) and refuses "-". Nothing is left behind on
 * error. The format is o->to, else the extension of path. */
int model_write(const struct model *src, const struct write_opts *o, const char *path,
                struct qs_error *err);

#endif
