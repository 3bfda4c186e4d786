/* Streaming access (io/model.h): model_tensor_to_f32_range over random
 * (first, count) pairs must equal the matching slice of the whole-tensor
 * model_tensor_to_f32 bit for bit, for every tensor of models in each format
 * (npy, npz stored and deflated, safetensors with GPTQ/AWQ/compressed-tensors,
 * GGUF Q4_0/Q8_0/Q4_K/F16/F32, ONNX inline and external data with int4 and
 * DequantizeLinear per-channel codes), written by numpy/onnx in Python.
 * Independent values: numpy's own float32 conversions and (q − z)·s for the
 * npz arrays, and hand-worked tensors in exact-size heap buffers (so ASan
 * catches a read past the tensor). model_tensor_f32_view must be non-NULL
 * exactly for plain aligned little-endian f32 tensors and equal the decode.
 * model_tensor_codes_range likewise equals the slice of model_tensor_codes
 * for every quant and block tensor, and the hand-worked codes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_fixture.h"
#include "qs_test.h"

static const char gen[] =
        "import json, struct, numpy as np, onnx\n"
        "from onnx import helper, TensorProto, numpy_helper\n"
        "rng = np.random.default_rng(11)\n"
        "def ref(name, a):\n"
        "    np.ascontiguousarray(a, dtype='<f4').tofile('ref_' + name + '.bin')\n"
        "# ---- npy / npz ----\n"
        "f32 = rng.standard_normal((37, 53)).astype(np.float32)\n"
        "np.save('v.npy', f32)\n"
        "np.save('vf.npy', np.asfortranarray(f32))\n"
        "np.save('vbe.npy', f32.astype('>f4'))\n"
        "f16f = np.asfortranarray(rng.standard_normal((5, 7, 9)).astype(np.float16))\n"
        "f16 = rng.standard_normal((64, 33)).astype(np.float16)\n"
        "f16[0, :4] = [np.inf, -np.inf, np.nan, 6e-8]\n"
        "f16be = f16.astype('>f2')\n"
        "arrs = dict(f32=f32, f32f=np.asfortranarray(f32), f32col=np.asfortranarray(f32[:1]),\n"
        "    f32be=f32.astype('>f4'), f16=f16, f16be=f16be, f16f=f16f,\n"
        "    f64=rng.standard_normal((11, 3)), i8=rng.integers(-128, 128, 77, dtype=np.int8),\n"
        "    u8=rng.integers(0, 256, 77, dtype=np.uint8),\n"
        "    i16be=rng.integers(-3000, 3000, (6, 9)).astype('>i2'),\n"
        "    i32=rng.integers(-10**6, 10**6, 40, dtype=np.int32),\n"
        "    i64=rng.integers(-10**6, 10**6, 40, dtype=np.int64),\n"
        "    u16=np.asfortranarray(rng.integers(0, 60000, (4, 5, 6)).astype(np.uint16)),\n"
        "    b=rng.integers(0, 2, 19).astype(bool))\n"
        "ref('f16', f16.astype(np.float32)); ref('f16be', f16be.astype(np.float32))\n"
        "ref('f16f', f16f.astype(np.float32)); ref('f32be', f32)\n"
        "def quant(name, q, s, z):\n"
        "    arrs[name + '.q'] = q; arrs[name + '.scale'] = s.astype(np.float32)\n"
        "    arrs[name + '.zero_point'] = z.astype(np.int32)\n"
        "    def grow(p):\n"
        "        p = np.asarray(p)\n"
        "        for a in range(p.ndim):\n"
        "            if p.shape[a] not in (1, q.shape[a]):\n"
        "                blk = -(-q.shape[a] // p.shape[a])\n"
        "                p = np.repeat(p, blk, axis=a).take(range(q.shape[a]), axis=a)\n"
        "        return p\n"
        "    ref(name, (q.astype(np.int64) - grow(z)).astype(np.float32) * "
        "grow(s).astype(np.float32))\n"
        "# per channel along axis 0, along the last axis, per group on both axes,\n"
        "# Fortran-ordered codes, per tensor\n"
        "quant('W', rng.integers(-128, 128, (16, 24), dtype=np.int8),\n"
        "      rng.uniform(0.01, 0.1, (16, 1)), rng.integers(-5, 5, (16, 1)))\n"
        "quant('V', rng.integers(0, 256, (12, 20), dtype=np.uint8),\n"
        "      rng.uniform(0.01, 0.1, (1, 20)), rng.integers(100, 150, (1, 20)))\n"
        "quant('G', rng.integers(-128, 128, (6, 40), dtype=np.int8),\n"
        "      rng.uniform(0.01, 0.1, (6, 5)), rng.integers(-3, 3, (6, 5)))\n"
        "quant('H', rng.integers(-3000, 3000, (9, 4, 5)).astype(np.int16),\n"
        "      rng.uniform(0.001, 0.01, (3, 4, 5)), rng.integers(-3, 3, (3, 4, 5)))\n"
        "quant('F', np.asfortranarray(rng.integers(-128, 128, (10, 14), dtype=np.int8)),\n"
        "      rng.uniform(0.01, 0.1, (10, 1)), rng.integers(-3, 3, (10, 1)))\n"
        "quant('T', rng.integers(-128, 128, 50, dtype=np.int8), np.float32(0.03), np.int32(2))\n"
        "np.savez('a.npz', **arrs)\n"
        "np.savez_compressed('c.npz', f16=f16, f16f=f16f, **{k: arrs[k] for k in arrs if k[0] in "
        "'WGF'})\n"
        "# ---- safetensors ----\n"
        "def st(path, items):\n"
        "    hdr, off, blobs = {}, 0, []\n"
        "    for name, dt, shape, data in items:\n"
        "        b = data.tobytes(); hdr[name] = dict(dtype=dt, shape=list(shape), "
        "data_offsets=[off, off + len(b)])\n"
        "        off += len(b); blobs.append(b)\n"
        "    h = json.dumps(hdr).encode(); h += b' ' * (-len(h) % 8)\n"
        "    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))\n"
        "u32 = lambda shape: rng.integers(0, 2**32, shape, dtype=np.uint32)\n"
        "pos16 = lambda shape: rng.uniform(0.01, 0.1, shape).astype('<f2')\n"
        "st('s.safetensors', [\n"
        "    ('d', 'F32', (64,), rng.standard_normal(64).astype('<f4')),\n"
        "    ('a', 'F16', (3,), rng.standard_normal(3).astype('<f2')),\n"
        "    ('b', 'F32', (31, 17), rng.standard_normal((31, 17)).astype('<f4')),\n"
        "    ('c', 'BF16', (40, 30), (rng.standard_normal((40, 30)).astype('<f4').view('<u4') >> "
        "16).astype('<u2')),\n"
        "    ('e', 'I8', (5, 7), rng.integers(-128, 128, (5, 7), dtype=np.int8)),\n"
        "    ('f', 'F64', (9,), rng.standard_normal(9)),\n"
        "    ('g', 'F8_E4M3', (45,), rng.integers(0, 256, 45, dtype=np.uint8)),\n"
        "    ('h', 'F8_E5M2', (45,), rng.integers(0, 256, 45, dtype=np.uint8)),\n"
        "    ('x.qweight', 'I32', (8, 16), u32((8, 16))), ('x.qzeros', 'I32', (2, 2), u32((2, "
        "2))),\n"
        "    ('x.scales', 'F16', (2, 16), pos16((2, 16))),\n"
        "    ('x.g_idx', 'I32', (64,), (np.arange(64) // 32).astype('<i4')),\n"
        "    ('y.qweight', 'I32', (32, 2), u32((32, 2))), ('y.qzeros', 'I32', (2, 2), u32((2, "
        "2))),\n"
        "    ('y.scales', 'F16', (2, 16), pos16((2, 16))),\n"
        "    ('l.weight_packed', 'I32', (6, 3), u32((6, 3))),\n"
        "    ('l.weight_shape', 'I32', (2,), np.array([6, 21], dtype='<i4')),\n"
        "    ('l.weight_scale', 'F16', (6, 1), pos16((6, 1))),\n"
        "    ('m.weight', 'I8', (7, 9), rng.integers(-128, 128, (7, 9), dtype=np.int8)),\n"
        "    ('m.weight_scale', 'F32', (7, 1), rng.uniform(0.01, 0.1, (7, 1)).astype('<f4'))])\n"
        "# ---- GGUF v3 ----\n"
        "gs = lambda s: struct.pack('<Q', len(s)) + s.encode()\n"
        "def blocks(n, size, scales):\n"
        "    b = rng.integers(0, 256, (n, size), dtype=np.uint8)\n"
        "    for o in scales:\n"
        "        b[:, o:o + 2] = rng.uniform(0.01, 1, (n, 1)).astype('<f2').view(np.uint8)\n"
        "    return b.tobytes()\n"
        "gt = [('q40', [64, 6], 2, blocks(12, 18, [0])), ('q80', [96, 5], 8, blocks(15, 34, "
        "[0])),\n"
        "      ('q4k', [512, 2], 12, blocks(4, 144, [0, 2])),\n"
        "      ('h', [33, 7], 1, rng.standard_normal(231).astype('<f2').tobytes()),\n"
        "      ('w', [10, 3], 0, rng.standard_normal(30).astype('<f4').tobytes())]\n"
        "head = b'GGUF' + struct.pack('<IQQ', 3, len(gt), 1) + gs('general.architecture')\n"
        "head += struct.pack('<I', 8) + gs('test')\n"
        "data, infos = b'', b''\n"
        "for name, ne, ty, b in gt:\n"
        "    data += b'\\0' * (-len(data) % 32)\n"
        "    infos += gs(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d "
        "in ne)\n"
        "    infos += struct.pack('<IQ', ty, len(data)); data += b\n"
        "head += infos; head += b'\\0' * (-len(head) % 32)\n"
        "open('g.gguf', 'wb').write(head + data)\n"
        "# ---- ONNX ----\n"
        "def raw(name, dt, dims, b):\n"
        "    t = TensorProto(); t.name = name; t.data_type = dt; t.dims.extend(dims); t.raw_data = "
        "b\n"
        "    return t\n"
        "nib = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()\n"
        "inits = [numpy_helper.from_array(rng.standard_normal((20, 30)).astype(np.float32), 'w'),\n"
        "    numpy_helper.from_array(rng.standard_normal((7, 9)).astype(np.float16), 'h'),\n"
        "    raw('bf', 16, [5, 11], rng.integers(0, 65536, 55, "
        "dtype=np.uint16).astype('<u2').tobytes()),\n"
        "    raw('i4', 22, [13], nib[:7]), raw('u4', 21, [13], nib[:7]),\n"
        "    numpy_helper.from_array(rng.integers(-128, 128, (8, 10), dtype=np.int8), 'Wq'),\n"
        "    numpy_helper.from_array(rng.uniform(0.01, 0.1, 8).astype(np.float32), 'Wq_scale'),\n"
        "    numpy_helper.from_array(rng.integers(-5, 5, 8, dtype=np.int8), 'Wq_zp'),\n"
        "    raw('Kq', 22, [3, 5], nib[:8]),\n"
        "    numpy_helper.from_array(np.array(0.25, dtype=np.float32), 'Kq_scale')]\n"
        "nodes = [helper.make_node('DequantizeLinear', ['Wq', 'Wq_scale', 'Wq_zp'], ['W'], "
        "axis=0),\n"
        "    helper.make_node('MatMul', ['x', 'W'], ['y']),\n"
        "    helper.make_node('DequantizeLinear', ['Kq', 'Kq_scale'], ['K']),\n"
        "    helper.make_node('MatMul', ['y2', 'K'], ['z'])]\n"
        "g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', 1, [1, 8])],\n"
        "    [helper.make_tensor_value_info('y', 1, [1, 10])], initializer=inits)\n"
        "m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 21)])\n"
        "onnx.save_model(m, 'o.onnx')\n"
        "onnx.save_model(m, 'e.onnx', save_as_external_data=True, all_tensors_to_one_file=True,\n"
        "    location='e.data', size_threshold=16)\n";

static int setup(void **state)
{
	char *dir = qs_tmpdir();

	*state = dir;
	return dir && qs_run_py(dir, gen) == 0 ? 0 : -1;
}

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

#define SENTINEL 0x7FC0DEADu

static float sentinel(void)
{
	uint32_t u = SENTINEL;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Range [first, first+count) of t equals whole[first..] bit for bit, and
 * nothing is written past dst[count - 1]. */
static void check_range(const struct model *m, const struct model_tensor *t, const float *whole,
                        float *buf, uint64_t first, uint64_t count)
{
	struct qs_error err = {0};

	buf[count] = sentinel();
	if (model_tensor_to_f32_range(m, t, first, count, buf, &err))
		fail_msg("%s [%llu, +%llu): %s", t->name, (unsigned long long)first,
		         (unsigned long long)count, err.msg);
	for (uint64_t k = 0; k < count; k++)
		if (bits(buf[k]) != bits(whole[first + k]))
			fail_msg("%s [%llu, +%llu): element %llu is %08x, whole decode %08x",
			         t->name, (unsigned long long)first, (unsigned long long)count,
			         (unsigned long long)(first + k), bits(buf[k]),
			         bits(whole[first + k]));
	assert_int_equal(bits(buf[count]), SENTINEL);
}

static void expect_range_error(const struct model *m, const struct model_tensor *t, float *buf,
                               uint64_t first, uint64_t count)
{
	struct qs_error err = {0};

	buf[0] = sentinel();
	assert_int_equal(model_tensor_to_f32_range(m, t, first, count, buf, &err), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, t->name));
	assert_int_equal(bits(buf[0]), SENTINEL);
}

static bool listed(const char *name, const char *const *names)
{
	for (; names && *names; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

/* Codes of [first, first+count) equal whole[first..] and nothing is written
 * past dst[count - 1]. */
static void check_codes_range(const struct model_tensor *t, const int32_t *whole, int32_t *buf,
                              uint64_t first, uint64_t count)
{
	struct qs_error err = {0};

	buf[count] = (int32_t)SENTINEL;
	if (model_tensor_codes_range(NULL, t, first, count, buf, &err))
		fail_msg("%s codes [%llu, +%llu): %s", t->name, (unsigned long long)first,
		         (unsigned long long)count, err.msg);
	for (uint64_t k = 0; k < count; k++)
		if (buf[k] != whole[first + k])
			fail_msg("%s codes [%llu, +%llu): element %llu is %d, whole %d", t->name,
			         (unsigned long long)first, (unsigned long long)count,
			         (unsigned long long)(first + k), buf[k], whole[first + k]);
	assert_int_equal(buf[count], (int32_t)SENTINEL);
}

/* A tensor with codes: fixed and random ranges against model_tensor_codes,
 * bounds errors; a tensor without: both refuse alike. */
static void check_codes(const struct model *m, const struct model_tensor *t, struct qs_rng *rng)
{
	uint64_t n = t->nelem, align = model_tensor_range_align(t);
	int32_t *whole = malloc((n + 1) * sizeof *whole), *buf = malloc((n + 1) * sizeof *buf);
	struct qs_error err = {0};
	int rc = model_tensor_codes(m, t, whole, &err);

	assert_non_null(whole);
	assert_non_null(buf);
	if (rc) {
		assert_int_equal(model_tensor_codes_range(m, t, 0, n, buf, &err), rc);
		free(whole);
		free(buf);
		return;
	}
	check_codes_range(t, whole, buf, 0, n);
	check_codes_range(t, whole, buf, n, 0);
	if (n) {
		check_codes_range(t, whole, buf, n - 1, 1);
		check_codes_range(t, whole, buf, 1, n - 1);
	}
	for (int k = 0; k < 100; k++) {
		uint64_t first = qs_rng_next(rng) % (n + 1);
		uint64_t count = qs_rng_next(rng) % (n - first + 1);
		if (k % 2 && align > 1) {
			first -= first % align;
			count -= count % align;
		}
		check_codes_range(t, whole, buf, first, count);
	}
	buf[0] = (int32_t)SENTINEL;
	assert_int_equal(model_tensor_codes_range(m, t, n, 1, buf, &err), QS_ERR_USAGE);
	assert_int_equal(model_tensor_codes_range(m, t, 1, UINT64_MAX, buf, &err), QS_ERR_USAGE);
	assert_non_null(strstr(err.msg, t->name));
	assert_int_equal(buf[0], (int32_t)SENTINEL);
	free(whole);
	free(buf);
}

/* Every tensor of m: whole decode, fixed and random ranges, bounds errors and
 * the view. views lists the plain f32 tensors (a view when 4-byte aligned).
 * Returns how many tensors were checked. */
/* For models whose tensors are not listed by name: plain little-endian f32
 * in C order (or one long dimension), 4-byte aligned, no quant/block. */
static const char *const PLAIN_F32[] = {NULL};

static bool plain_f32(const struct model_tensor *t)
{
	int big = 0;

	for (int k = 0; k < t->ndim; k++)
		big += t->shape[k] > 1;
	return t->dtype == DTYPE_F32 && !t->quant && !t->block && !t->big_endian &&
	       !(t->fortran_order && big > 1) && t->nelem > 0 && t->data &&
	       (uintptr_t)t->data % 4 == 0;
}

static size_t check_model(const struct model *m, const char *const *views, uint64_t seed)
{
	struct qs_rng rng = {seed};
	size_t checked = 0;

	for (size_t i = 0; i < m->ntensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		uint64_t n = t->nelem, align = model_tensor_range_align(t);
		float *whole = malloc((n + 1) * sizeof *whole),
		      *buf = malloc((n + 1) * sizeof *buf);
		struct qs_error err = {0};

		assert_non_null(whole);
		assert_non_null(buf);
		if (model_tensor_to_f32(m, t, whole, &err))
			fail_msg("%s: whole decode: %s", t->name, err.msg);
		check_range(m, t, whole, buf, 0, n);
		check_range(m, t, whole, buf, 0, 0);
		check_range(m, t, whole, buf, n, 0);
		if (n) {
			check_range(m, t, whole, buf, n - 1, 1);
			check_range(m, t, whole, buf, 1, n - 1);
		}
		for (int k = 0; k < 300; k++) {
			uint64_t first = qs_rng_next(&rng) % (n + 1);
			uint64_t count = qs_rng_next(&rng) % (n - first + 1);
			if (k % 2 && align > 1) { /* block-aligned half of the time */
				first -= first % align;
				count -= count % align;
			}
			check_range(m, t, whole, buf, first, count);
		}
		expect_range_error(m, t, buf, n, 1);
		expect_range_error(m, t, buf, 0, n + 1);
		expect_range_error(m, t, buf, n + 1, 0);
		expect_range_error(m, t, buf, UINT64_MAX, 2);
		expect_range_error(m, t, buf, 1, UINT64_MAX);

		const float *v = model_tensor_f32_view(m, t);
		bool want = views == PLAIN_F32
		                    ? plain_f32(t)
		                    : listed(t->name, views) && (uintptr_t)t->data % 4 == 0;
		if ((v != NULL) != want)
			fail_msg("%s: view %s, expected %s", t->name, v ? "given" : "NULL",
			         want ? "one" : "NULL");
		if (v)
			assert_memory_equal(v, whole, n * sizeof *v);
		if (t->quant || t->block)
			check_codes(m, t, &rng);
		free(whole);
		free(buf);
		checked++;
	}
	return checked;
}

/* The whole range equals numpy's float32 values in ref_<name>.bin. */
static void check_numpy_ref(const char *dir, const struct model *m, const char *tensor,
                            const char *ref)
{
	char file[64];
	size_t nb;
	const struct model_tensor *t = find(m, tensor);
	struct qs_error err = {0};

	snprintf(file, sizeof file, "ref_%s.bin", ref);
	float *want = qs_read_file(qs_path(dir, file), &nb);
	float *got = malloc((t->nelem ? t->nelem : 1) * sizeof *got);
	assert_int_equal(nb, t->nelem * sizeof *got);
	/* an odd split: two ranges covering the tensor */
	uint64_t h = t->nelem / 2 | 1;
	assert_int_equal(model_tensor_to_f32_range(m, t, 0, h, got, &err), 0);
	assert_int_equal(model_tensor_to_f32_range(m, t, h, t->nelem - h, got + h, &err), 0);
	for (uint64_t k = 0; k < t->nelem; k++)
		if (bits(got[k]) != bits(want[k]) && !(isnan(got[k]) && isnan(want[k])))
			fail_msg("%s[%llu]: %08x, numpy %08x", tensor, (unsigned long long)k,
			         bits(got[k]), bits(want[k]));
	free(want);
	free(got);
}

static void test_npy(void **state)
{
	const char *dir = *state;
	static const char *const views[] = {"v", NULL};
	const char *files[] = {"v.npy", "vf.npy", "vbe.npy"};

	for (int k = 0; k < 3; k++) {
		struct model *m = load_ok(qs_path(dir, files[k]));
		const struct model_tensor *t = &m->tensors[0];
		assert_int_equal(check_model(m, views, 1 + (uint64_t)k), 1);
		/* npy data starts at a multiple of 64 in a page-aligned mapping */
		assert_int_equal((uintptr_t)t->data % 4, 0);
		assert_true((model_tensor_f32_view(m, t) != NULL) == (k == 0));
		model_free(m);
	}
}

static void test_npz_stored(void **state)
{
	const char *dir = *state;
	static const char *const views[] = {"f32",     "f32col",  "W.scale", "V.scale", "G.scale",
	                                    "H.scale", "F.scale", "T.scale", NULL};
	struct model *m = load_ok(qs_path(dir, "a.npz"));
	static const char *const quant[] = {"W.q", "V.q", "G.q", "H.q", "F.q", "T.q"};

	assert_int_equal(check_model(m, views, 7), m->ntensors);
	assert_true(m->ntensors >= 30);
	/* the features the fixture is there for */
	for (size_t k = 0; k < sizeof quant / sizeof quant[0]; k++)
		assert_non_null(find(m, quant[k])->quant);
	assert_int_equal(find(m, "W.q")->quant->layout.gran, GRAN_CHANNEL);
	assert_int_equal(find(m, "V.q")->quant->layout.axis, 1);
	assert_int_equal(find(m, "G.q")->quant->layout.gran, GRAN_GROUP);
	assert_int_equal(find(m, "H.q")->quant->layout.gran, GRAN_GROUP);
	assert_int_equal(find(m, "H.q")->quant->layout.axis, 0);
	assert_int_equal(find(m, "T.q")->quant->layout.gran, GRAN_TENSOR);
	assert_true(find(m, "F.q")->fortran_order);
	assert_true(find(m, "f16f")->fortran_order);
	assert_true(find(m, "f16be")->big_endian);
	check_numpy_ref(dir, m, "f16", "f16");
	check_numpy_ref(dir, m, "f16be", "f16be");
	check_numpy_ref(dir, m, "f16f", "f16f");
	check_numpy_ref(dir, m, "f32be", "f32be");
	static const char *const qn[] = {"W", "V", "G", "H", "F", "T"};
	for (size_t k = 0; k < sizeof qn / sizeof qn[0]; k++)
		check_numpy_ref(dir, m, quant[k], qn[k]);
	model_free(m);
}

static void test_npz_deflated(void **state)
{
	const char *dir = *state;
	struct model *m = load_ok(qs_path(dir, "c.npz"));

	static const char *const views[] = {"W.scale", "G.scale", "F.scale", NULL};

	assert_int_equal(check_model(m, views, 8), m->ntensors);
	check_numpy_ref(dir, m, "f16f", "f16f");
	check_numpy_ref(dir, m, "G.q", "G");
	check_numpy_ref(dir, m, "F.q", "F");
	model_free(m);
}

static void test_safetensors(void **state)
{
	const char *dir = *state;
	static const char *const views[] = {"b", "d", "m.weight_scale", NULL};
	struct model *m = load_ok(qs_path(dir, "s.safetensors"));

	assert_int_equal(check_model(m, views, 9), m->ntensors);
	/* b sits 6 bytes into the data (after a's 3 f16): no view, decoded */
	assert_int_not_equal((uintptr_t)find(m, "b")->data % 4, 0);
	assert_null(model_tensor_f32_view(m, find(m, "b")));
	assert_non_null(model_tensor_f32_view(m, find(m, "d")));
	assert_int_equal(find(m, "c")->dtype, DTYPE_BF16);
	assert_int_equal(find(m, "g")->dtype, DTYPE_F8E4M3FN);
	assert_non_null(find(m, "x.qweight")->quant);       /* GPTQ */
	assert_non_null(find(m, "y.qweight")->quant);       /* AWQ */
	assert_non_null(find(m, "l.weight_packed")->quant); /* compressed-tensors int4 */
	assert_non_null(find(m, "m.weight")->quant);        /* compressed-tensors int8 */
	assert_int_equal(find(m, "x.qweight")->quant->layout.gran, GRAN_GROUP);
	model_free(m);
}

static void test_gguf(void **state)
{
	const char *dir = *state;
	static const char *const views[] = {"w", NULL};
	struct model *m = load_ok(qs_path(dir, "g.gguf"));

	assert_int_equal(check_model(m, views, 10), 5);
	assert_string_equal(find(m, "q40")->block->name, "Q4_0");
	assert_string_equal(find(m, "q80")->block->name, "Q8_0");
	assert_string_equal(find(m, "q4k")->block->name, "Q4_K");
	assert_int_equal(model_tensor_range_align(find(m, "q4k")), 256);
	assert_int_equal(model_tensor_range_align(find(m, "h")), 1);
	assert_non_null(model_tensor_f32_view(m, find(m, "w")));
	model_free(m);
}

static void test_onnx(void **state)
{
	const char *dir = *state;
	const char *files[] = {"o.onnx", "e.onnx"};

	for (int k = 0; k < 2; k++) {
		static const char *const views[] = {"w", "Wq_scale", "Kq_scale", NULL};
		struct model *m = load_ok(qs_path(dir, files[k]));
		assert_int_equal(check_model(m, views, 11 + (uint64_t)k), m->ntensors);
		assert_int_equal(find(m, "i4")->dtype, DTYPE_I4);
		assert_int_equal(find(m, "u4")->dtype, DTYPE_U4);
		assert_non_null(find(m, "Wq")->quant);
		assert_int_equal(find(m, "Wq")->quant->layout.gran, GRAN_CHANNEL);
		assert_non_null(find(m, "Kq")->quant);
		assert_int_equal(find(m, "Kq")->dtype, DTYPE_I4);
		model_free(m);
	}
}

/* ---- hand-made tensors in exact-size heap buffers ---------------------- */

static struct model_tensor hand(const char *name, enum dtype dt, const void *bytes, size_t nbytes,
                                int64_t rows, int64_t cols)
{
	uint8_t *d = malloc(nbytes);
	struct model_tensor t = {.name = (char *)name,
	                         .dtype = dt,
	                         .ndim = 2,
	                         .data = d,
	                         .nbytes = nbytes,
	                         .nelem = (uint64_t)(rows * cols)};

	assert_non_null(d);
	memcpy(d, bytes, nbytes);
	t.shape[0] = rows;
	t.shape[1] = cols;
	return t;
}

/* u4 codes 1..7 in 4 bytes (the 8th nibble unused), both nibble orders, at
 * every odd and even start. */
static void test_nibbles_by_hand(void **state)
{
	static const uint8_t lo[4] = {0x21, 0x43, 0x65, 0x07}, hi[4] = {0x12, 0x34, 0x56, 0x70};
	struct model_tensor a = hand("lo", DTYPE_U4, lo, 4, 1, 7),
	                    b = hand("hi", DTYPE_U4, hi, 4, 1, 7);
	float out[8];

	(void)state;
	b.nibbles = NIBBLE_HIGH_FIRST;
	for (uint64_t first = 0; first <= 7; first++)
		for (uint64_t count = 0; first + count <= 7; count++) {
			for (int w = 0; w < 2; w++) {
				assert_int_equal(model_tensor_to_f32_range(NULL, w ? &b : &a, first,
				                                           count, out, NULL),
				                 0);
				for (uint64_t k = 0; k < count; k++)
					assert_true(out[k] == (float)(first + k + 1));
			}
		}
	/* i4: the same nibbles signed: 0x7 → 7, 0xF → −1 */
	static const uint8_t s4[1] = {0xF7};
	struct model_tensor c = hand("s4", DTYPE_I4, s4, 1, 1, 2);
	assert_int_equal(model_tensor_to_f32_range(NULL, &c, 1, 1, out, NULL), 0);
	assert_true(out[0] == -1.0f);
	free((void *)a.data);
	free((void *)b.data);
	free((void *)c.data);
}

/* i4 codes [3, 5] with per-channel (axis 0) scales 0.5, 0.25, 2 and zero
 * points 1, −2, 0: x = (q − z)·s worked by hand. */
static void check_quant_hand(enum dtype dt, enum nibble_order order, const int *q,
                             const int32_t *zp)
{
	static float scale[3] = {0.5f, 0.25f, 2.0f};
	uint8_t packed[8] = {0};
	const char *why = NULL;
	float out[16], whole[15];

	for (int i = 0; i < 15; i++) {
		bool low = (i % 2 == 0) == (order == NIBBLE_LOW_FIRST);
		packed[i / 2] |= (uint8_t)((q[i] & 0xF) << (low ? 0 : 4));
	}
	struct model_tensor t = hand("qh", dt, packed, 8, 3, 5);
	struct tensor_quant tq = {.bits = 4,
	                          .qmin = dt == DTYPE_I4 ? -8 : 0,
	                          .qmax = dt == DTYPE_I4 ? 7 : 15,
	                          .scale = scale,
	                          .zero_point = (int32_t *)zp};
	assert_true(layout_init(&tq.layout, t.shape, 2, GRAN_CHANNEL, 0, 0, &why));
	t.quant = &tq;
	t.nibbles = order;
	assert_int_equal(model_tensor_to_f32(NULL, &t, whole, NULL), 0);
	for (uint64_t first = 0; first < 15; first++) {
		uint64_t count = 15 - first;
		assert_int_equal(model_tensor_to_f32_range(NULL, &t, first, count, out, NULL), 0);
		for (uint64_t k = 0; k < count; k++) {
			uint64_t i = first + k, r = i / 5;
			assert_close(out[k], (q[i] - zp[r]) * (double)scale[r], 0, 0);
			assert_close(whole[i], (q[i] - zp[r]) * (double)scale[r], 0, 0);
		}
		int32_t codes[16];
		assert_int_equal(model_tensor_codes_range(NULL, &t, first, count, codes, NULL), 0);
		for (uint64_t k = 0; k < count; k++)
			assert_int_equal(codes[k], q[first + k]);
	}
	/* float codes and a layout of another size are format errors */
	struct qs_error err = {0};
	t.dtype = DTYPE_F16;
	assert_int_equal(model_tensor_to_f32_range(NULL, &t, 0, 2, out, &err), QS_ERR_FORMAT);
	t.dtype = dt;
	tq.layout.n = 14;
	assert_int_equal(model_tensor_to_f32_range(NULL, &t, 0, 2, out, &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "qh"));
	free((void *)t.data);
}

/* 4-bit codes [3, 5], per-channel (axis 0) scales 0.5, 0.25, 2: x = (q − z)·s
 * worked by hand, both nibble orders, signed and unsigned codes. */
static void test_quant_by_hand(void **state)
{
	static const int qs[15] = {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6};
	static const int qu[15] = {15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
	static const int32_t zs[3] = {1, -2, 0}, zu[3] = {8, 0, 15};

	(void)state;
	for (int o = 0; o < 2; o++) {
		enum nibble_order order = o ? NIBBLE_HIGH_FIRST : NIBBLE_LOW_FIRST;
		check_quant_hand(DTYPE_I4, order, qs, zs);
		check_quant_hand(DTYPE_U4, order, qu, zu);
	}
}

/* Q8_0: two blocks of (f16 d, 32 int8): d 0.5 and −2, q_j = j − 16; any
 * range across the block edge, decoded from 68 bytes exactly. */
static void test_q8_0_by_hand(void **state)
{
	uint8_t b[68];
	float out[64];
	const struct qtype *q8 = qtype_find("Q8_0");

	(void)state;
	assert_non_null(q8);
	b[0] = 0x00, b[1] = 0x38;   /* 0.5 */
	b[34] = 0x00, b[35] = 0xC0; /* −2 */
	for (int j = 0; j < 32; j++)
		b[2 + j] = b[36 + j] = (uint8_t)(int8_t)(j - 16);
	struct model_tensor t = hand("q8", DTYPE_U8, b, 68, 2, 32);
	t.block = q8;
	for (uint64_t first = 0; first < 64; first += 3)
		for (uint64_t count = 0; first + count <= 64; count += 7) {
			assert_int_equal(
			        model_tensor_to_f32_range(NULL, &t, first, count, out, NULL), 0);
			for (uint64_t k = 0; k < count; k++) {
				uint64_t i = first + k;
				double d = i < 32 ? 0.5 : -2.0;
				assert_close(out[k], d * ((double)(i % 32) - 16), 0, 0);
			}
			int32_t codes[64];
			assert_int_equal(
			        model_tensor_codes_range(NULL, &t, first, count, codes, NULL), 0);
			for (uint64_t k = 0; k < count; k++)
				assert_int_equal(codes[k], (int32_t)((first + k) % 32) - 16);
		}
	/* 67 bytes cannot hold two blocks */
	struct qs_error err = {0};
	t.nbytes = 67;
	assert_int_equal(model_tensor_to_f32_range(NULL, &t, 0, 32, out, &err), QS_ERR_FORMAT);
	int32_t codes[32];
	assert_int_equal(model_tensor_codes_range(NULL, &t, 0, 32, codes, &err), QS_ERR_FORMAT);
	free((void *)t.data);
}

/* Storage shorter than nelem elements is refused before any read; an
 * unknown dtype is unsupported, as for the whole-tensor decode. */
static void test_bad_storage(void **state)
{
	static const uint16_t h[3] = {0x3C00, 0x4000, 0x4200};
	struct model_tensor t = hand("short", DTYPE_F16, h, 6, 2, 2); /* 4 elements, 3 stored */
	struct qs_error err = {0};
	float out[4];

	(void)state;
	assert_int_equal(model_tensor_to_f32_range(NULL, &t, 0, 1, out, &err), QS_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "short"));
	int32_t codes[4];
	assert_int_equal(model_tensor_codes_range(NULL, &t, 0, 1, codes, &err), QS_ERR_USAGE);
	assert_null(model_tensor_f32_view(NULL, &t));
	t.shape[0] = 1, t.shape[1] = 3, t.nelem = 3;
	assert_int_equal(model_tensor_to_f32_range(NULL, &t, 1, 2, out, &err), 0);
	assert_true(out[0] == 2.0f && out[1] == 3.0f);
	t.dtype = DTYPE_COUNT;
	assert_int_equal(model_tensor_to_f32_range(NULL, &t, 0, 1, out, &err), QS_ERR_UNSUPPORTED);
	model_tensor_prefetch(&t); /* a heap buffer: a harmless hint */
	free((void *)t.data);
}

/* The real models beside the checkout (../shared/models): every tensor of
 * each GGUF (F32, F16 and llama.cpp's Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 blocks) and
 * ONNX file. Skipped when the folder is missing. */
static void test_real_models(void **state)
{
	static const char *const files[] = {"silero_vad_legacy.F32.gguf",
	                                    "silero_vad_legacy.F16.gguf",
	                                    "silero_vad_legacy.Q8_0.gguf",
	                                    "silero_vad_legacy.Q4_0.gguf",
	                                    "silero_vad_legacy.Q4_1.gguf",
	                                    "silero_vad_legacy.Q5_0.gguf",
	                                    "silero_vad_legacy.Q5_1.gguf",
	                                    "silero_vad_legacy.onnx",
	                                    "ch_ppocr_mobile_v2.0_cls_infer.onnx",
	                                    "face_detection_front_128x128_barracuda.onnx"};
	char path[4096];
	size_t found = 0, blocks = 0, views = 0;

	(void)state;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/models/%s", QSCOPE_SHARED, files[i]);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		fclose(f);
		found++;
		struct model *m = load_ok(path);
		assert_int_equal(check_model(m, PLAIN_F32, 100 + i), m->ntensors);
		for (size_t k = 0; k < m->ntensors; k++) {
			blocks += m->tensors[k].block != NULL;
			views += model_tensor_f32_view(m, &m->tensors[k]) != NULL;
		}
		model_free(m);
	}
	if (!found)
		skip();
	assert_true(views > 0);
	if (found == sizeof files / sizeof files[0])
		assert_int_equal(blocks, 5 * 16); /* the README: 16 block tensors per quant GGUF */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_npy),
	        cmocka_unit_test(test_npz_stored),
	        cmocka_unit_test(test_npz_deflated),
	        cmocka_unit_test(test_safetensors),
	        cmocka_unit_test(test_gguf),
	        cmocka_unit_test(test_onnx),
	        cmocka_unit_test(test_nibbles_by_hand),
	        cmocka_unit_test(test_quant_by_hand),
	        cmocka_unit_test(test_q8_0_by_hand),
	        cmocka_unit_test(test_bad_storage),
	        cmocka_unit_test(test_real_models),
	};
	return cmocka_run_group_tests(tests, setup, qs_group_rmtree);
}
