/* safetensors.h — Hugging Face safetensors checkpoints, single files and
 * sharded ones, with the quantized-checkpoint naming conventions.
 *
 * Reading (safetensors_format_ops.load): each file is mmapped read-only;
 * the header is u64 N + N bytes of JSON (jansson, duplicate keys refused).
 * Checks, mirroring the reference reader: the file holds the 8-byte length,
 * N ≤ SAFETENSORS_MAX_HEADER (100,000,000) and 8 + N ≤ file size, the JSON
 * is an object starting with '{', `__metadata__` (optional) maps strings to
 * strings, every other entry has a known dtype, a shape of non-negative
 * integers whose product times the dtype's bits is a whole number of bytes
 * that does not overflow, and data_offsets [BEGIN, END] with END − BEGIN
 * equal to that byte count; sorted by BEGIN the tensors start at 0 and follow
 * each other with no hole and no overlap, and the last END + 8 + N equals the
 * file size. Errors are one line naming the file and the tensor or field.
 * Tensor bytes are borrowed from the mmap (any alignment; read by memcpy).
 *
 * dtypes: F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I8 U8 I16 U16 I32 U32 I64 U64 BOOL
 * map to enum dtype; F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, F4, F6_E2M3,
 * F6_E3M2 and C64 are checked for size and listed as auxiliary byte tensors.
 *
 * Sharded checkpoints: loading `model.safetensors.index.json` (its
 * weight_map names the shard of every tensor; shard names must be plain file
 * names in the same folder) or any `*-0000k-of-0000n.safetensors` shard (all
 * n siblings) gives one model holding every shard's tensors.
 *
 * Quantized conventions (formats.md §2.3–2.4); the quantized tensor gets
 * model_tensor.quant with float_name = `<m>.weight`, its codes are unpacked
 * at load into a buffer the model owns (dtype I8/U8/I32 as needed, shape
 * [out, in]), and the scale / zero-point / index tensors become auxiliary:
 *   compressed-tensors int8 (`<m>.weight` I8 + `<m>.weight_scale`
 *     [+ `<m>.weight_zero_point`]; any I8/U8 tensor T with a float T_scale,
 *     as qscope writes them): scale shape (1,) per tensor, (out, 1) per
 *     channel, (out, G) per group of ceil(in/G); the float name is T itself;
 *   compressed-tensors pack-quantized (`<m>.weight_packed` I32 +
 *     `<m>.weight_shape` + `<m>.weight_scale` [+ zero point packed along
 *     dim 0]): offset-binary codes q + 2^(b−1), 32/b per word, first element
 *     in the low bits; b ∈ {4, 8, 2} is the first that matches the packed
 *     width;
 *   GPTQ (`<m>.qweight` I32 [in·b/32, out], `<m>.qzeros` I32
 *     [G, out·b/32] stored as zero − 1, `<m>.scales` [G, out], `<m>.g_idx`
 *     I32 [in]): b = 32·rows/in (from g_idx; 4 without it), b ∈ {2, 4, 8};
 *     x = s[g]·(q − (z[g] + 1)) with g = g_idx[i]; a non-trivial g_idx
 *     (act-order) gets one scale per element;
 *   AWQ (`<m>.qweight` I32 [in, out·b/32], `<m>.qzeros`, `<m>.scales`
 *     [G, out], no g_idx): nibble p of a word holds column [0,2,4,6,1,3,5,7][p]
 *     of its group of 8, x = s·(q − z).
 *   bitsandbytes LLM.int8 (`<m>.weight` I8 + `<m>.SCB` F32 [out]):
 *     per-channel scale SCB/127.
 * bitsandbytes 4-bit (nf4/fp4), fp8 weights with weight_scale, 3-bit GPTQ
 * and the nvfp4/mxfp4 formats are not decoded (their tensors stay listed as
 * stored).
 *
 * Writing (safetensors_format_ops.write, one file): tensors in source order,
 * packed back to back, header padded with spaces to a multiple of 8,
 * `__metadata__` copied from a safetensors source (else {"format": "pt"}).
 * A tensor planned for quantization with a signed linear scheme of at most
 * 8 bits is written compressed-tensors style: `<name>` I8 codes,
 * `<name>_scale` F32 (shape (1,), per-channel [.., d_axis, ..] with 1
 * elsewhere — (out, 1) for axis 0 — or per-group with the axis shrunk to the
 * group count), and `<name>_zero_point` I8 when the scheme is asymmetric.
 * fake_quant writes x̂ in the source's float dtype (F32 for non-floats).
 * Unplanned tensors of a safetensors source are copied byte for byte with
 * their original dtype, shape and name (also packed GPTQ/AWQ tensors);
 * from other formats they keep their dtype when safetensors has it, else
 * they are decoded to F32.
 */
#ifndef QS_SAFETENSORS_H
#define QS_SAFETENSORS_H

#include "model.h"

#define SAFETENSORS_MAX_HEADER 100000000ull

extern const struct model_format_ops safetensors_format_ops;

#endif
