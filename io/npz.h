/* npz.h — NumPy .npz archives (np.savez / np.savez_compressed) as models.
 *
 * An .npz is a ZIP archive of .npy members; the model's tensors are its
 * arrays, named after the members without ".npy" (members with other names
 * are ignored). Read with libzip:
 *   stored members (np.savez) borrow from a read-only mmap of the archive at
 *     the member's data offset, computed from its LOCAL header
 *     (30 + name length + local extra length; numpy puts ZIP64 extras in the
 *     local headers only) and checked against libzip's stat (name, method,
 *     sizes, CRC field) and the file size;
 *   deflated members (np.savez_compressed) are inflated by libzip (which
 *     checks their CRC) into buffers the model owns until model_free.
 * Memory: the mmap (paged in on use) plus the uncompressed size of every
 * deflated member, all resident from load to model_free.
 *
 * Quantized arrays convention (written by qscope, recognised on read). For a
 * quantized tensor T of shape D:
 *   T             float32, the dequantized values x̂ = (q − z)·s (so any
 *                 numpy user reads the fake-quant tensor directly);
 *   T.q           the integer codes q, shape D, in the smallest of int8,
 *                 uint8, int16, uint16, int32 that holds [qmin, qmax];
 *   T.scale       float32 s per group; T.zero_point int32 z, same shape:
 *                   per tensor   shape ()
 *                   per channel  D with every axis but the channel axis set
 *                                to 1 (numpy broadcasting gives x̂ directly)
 *                   per group    D with the axis cut to ceil(D[axis]/block)
 *                                (the ONNX blocked layout; repeat by block)
 *   T.qinfo       int64 [bits, qmin, qmax, axis (−1 per tensor), block
 *                 (0 unless per group)].
 * On read, an array X.q with an X.scale becomes a quantized tensor
 * (model_tensor.quant, float_name "X") so the archive pairs with its float
 * source; X.scale, X.zero_point (optional, default 0), X.qinfo (optional)
 * and the dequantized X are marked auxiliary. Without X.qinfo, bits and the
 * code range come from X.q's integer type and the layout from X.scale's
 * shape (scalar/one element: per tensor; one non-1 axis equal to D[a], or a
 * 1-D scale whose length matches exactly one axis: per channel; one axis
 * shorter than D[a]: per group with block = ceil(D[a]/nblk)).
 *
 * Writing (npz_format_ops.write) stores every array uncompressed (so the
 * result mmaps back), member names "<name>.npy", via libzip writing straight
 * into the output stream. Each member's bytes are made when libzip asks for
 * them, one source tensor at a time: memory while writing is one tensor's
 * arrays (its x̂, codes and scales), whatever the model's size. A model with
 * no tensors is written as an empty archive (the 22-byte end record).
 */
#ifndef QS_NPZ_H
#define QS_NPZ_H

#include "model.h"

extern const struct model_format_ops npz_format_ops;

/* Apply the quantized-arrays convention above to a loaded model's tensors
 * (used by the npz reader; exposed for tests). label names the file. */
int npz_link_quant(struct model *m, const char *label, struct qs_error *err);

#endif
