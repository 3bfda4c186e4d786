/* gguf.h — GGUF files (llama.cpp / ggml), versions 2 and 3, little-endian.
 *
 * Reading (gguf_format_ops.load): the file is mmapped read-only; gguf_parse
 * walks the header (magic "GGUF", version, tensor count, KV count), every
 * metadata KV (all 13 value types; arrays of any scalar type or of strings;
 * arrays of arrays are refused like ggml does), the tensor infos and the
 * data section, checking every count, length and offset against the file
 * size before it is used. Refused (QS_ERR_FORMAT, one line naming file and
 * byte offset or field): bad magic, version 1 or > 3, big-endian files,
 * truncation anywhere, counts that cannot fit in the remaining bytes, value
 * types > 12, a BOOL other than 0/1, duplicate keys or tensor names, tensor
 * names of 64 bytes or more (ggml's GGML_MAX_NAME), n_dims 0 or > 4,
 * element counts overflowing int64, unknown ggml types, dims[0] not a
 * multiple of the type's block, `general.alignment` not a UINT32 power of
 * two, data offsets not a multiple of the alignment, data past the end of
 * the file, and overlapping tensors.
 *
 * Model tensors: shapes are reversed to numpy order (GGUF dims[0] is the
 * innermost axis, so dims [in, out] become shape [out, in]). F32, F16, BF16,
 * I8, I16, I32, I64 and F64 map to plain dtypes; the block types qscope reads
 * (ggml_quants.h) get model_tensor.block set and dtype U8. Other ggml types
 * (IQ*, TQ*, Q8_1, MXFP4, ...) are listed as auxiliary 1-D byte tensors
 * (is_aux) so the rest of the file stays usable. 2-D and larger tensors are
 * weights (output axis 0, K = product of the other dims); names ending in
 * ".bias" are biases.
 *
 * Writing (gguf_format_ops.write, version 3): tensors in source order; a
 * planned tensor is quantized to its spec's ggml qtype (F32, F16, BF16, Q8_0,
 * Q4_0, Q4_1, Q5_0, Q5_1; method minmax = llama.cpp's reference quantizer,
 * other methods = ggml_quants.h's quantize_method). A spec without a ggml
 * qtype picks one from bits/scheme: 8 → Q8_0, 5 → Q5_0 (sym) / Q5_1 (asym),
 * 4 → Q4_0 / Q4_1. Tensors with fewer than 2 dims, or whose last dim is not
 * a multiple of the block, stay as they are (F32 for float sources), as
 * llama.cpp does — also for F16/BF16 targets. fake_quant writes x̂ as F32. Unplanned
 * tensors keep their bytes and type when the source is GGUF, else their
 * dtype when GGUF has it, else F32. Metadata KVs of a GGUF source are copied
 * byte for byte in order, except general.file_type (set to the llama_ftype of
 * the most used quantized type) and general.quantization_version (2 when any
 * tensor is block-quantized), which are replaced or appended. Tensor infos
 * are laid out exactly as ggml's strict reader wants: offsets sequential in
 * info order, each a multiple of the alignment (general.alignment of the
 * source or 32), zero padding.
 */
#ifndef QS_GGUF_H
#define QS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define GGUF_MAX_NAME      64 /* tensor names must be shorter */
#define GGUF_MAX_DIMS      4
#define GGUF_DEFAULT_ALIGN 32

enum gguf_vtype {
	GGUF_T_U8,
	GGUF_T_I8,
	GGUF_T_U16,
	GGUF_T_I16,
	GGUF_T_U32,
	GGUF_T_I32,
	GGUF_T_F32,
	GGUF_T_BOOL,
	GGUF_T_STRING,
	GGUF_T_ARRAY,
	GGUF_T_U64,
	GGUF_T_I64,
	GGUF_T_F64,
	GGUF_T_COUNT
};

struct gguf_kv {
	char *key; /* owned, NUL-terminated */
	enum gguf_vtype type;
	enum gguf_vtype arr_type; /* GGUF_T_ARRAY only */
	uint64_t arr_count;       /* GGUF_T_ARRAY only */
	size_t off, len;          /* the whole KV (key, type, value) in the file */
	size_t val_off;           /* the value (after the type field) */
};

struct gguf_tensor_info {
	char *name; /* owned */
	uint32_t ndim;
	uint64_t ne[GGUF_MAX_DIMS]; /* ggml order: ne[0] innermost */
	uint32_t type;              /* ggml_type id */
	uint64_t offset;            /* from data_start */
	uint64_t nelem, nbytes;
};

struct gguf_file {
	uint32_t version;
	uint64_t nkv, ntensors;
	struct gguf_kv *kv;          /* nkv, owned */
	struct gguf_tensor_info *ti; /* ntensors, owned */
	uint32_t alignment;
	size_t data_start;
};

/* Parse and check a GGUF image buf[0..len) (label names it in errors). */
int gguf_parse(const uint8_t *buf, size_t len, const char *label, struct gguf_file **out,
               struct qs_error *err);
void gguf_file_free(struct gguf_file *g); /* NULL-safe */

/* The KV with this key, or NULL. */
const struct gguf_kv *gguf_kv_find(const struct gguf_file *g, const char *key);

/* Value of a UINT32 / STRING KV (string: pointer into buf, not terminated). */
bool gguf_kv_get_u32(const struct gguf_file *g, const uint8_t *buf, const char *key, uint32_t *v);
bool gguf_kv_get_str(const struct gguf_file *g, const uint8_t *buf, const char *key, const char **s,
                     size_t *len);

/* Text of a KV's value for display ("2", "\"llama\"", "[STRING × 32000]"). */
void gguf_kv_format(const struct gguf_kv *kv, const uint8_t *buf, char *out, size_t cap);

/* The parsed header of a loaded GGUF model, and its file bytes. */
const struct gguf_file *gguf_model_file(const struct model *m, const uint8_t **buf);

/* llama_ftype written as general.file_type for a ggml type id (−1: none). */
int gguf_ftype_of(int ggml_type);

extern const struct model_format_ops gguf_format_ops;

#endif
