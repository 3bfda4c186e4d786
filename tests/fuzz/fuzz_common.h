/* fuzz_common.h — shared pieces of the libFuzzer harnesses in tests/fuzz.
 *
 * Every reader takes a path, so a harness writes the fuzz input to files in a
 * private scratch folder (under /dev/shm when it exists) and calls the reader
 * through its public entry point (model_load, recipe_load). After a
 * successful load the harness walks every tensor and checks the reader's
 * promises (io/model.h): nelem = Π shape, nbytes covers nelem elements, and
 * the bytes of each tensor lie inside the file when they point into an mmap
 * of it. It then decodes small tensors, which reads their data.
 *
 * Two checks need the linker's --wrap (see CMakeLists.txt):
 *   mmap/munmap  record each file mapping with its file size, so a tensor
 *                whose bytes run past the end of the file (silently readable
 *                up to the page end, invisible to ASan) aborts the run;
 *   open/fopen   while a reader runs, opening a file outside the scratch
 *                folder aborts: external data and shard names from a file
 *                must not escape the model's folder ("../../etc/passwd").
 *
 * A violated promise calls fuzz_fail, which prints one line and aborts so
 * libFuzzer keeps the input. Multi-file inputs (ONNX + external data,
 * safetensors index + shards) are split on the separator FUZZ_SEP.
 */
#ifndef QS_FUZZ_COMMON_H
#define QS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "../../io/model.h"

#define FUZZ_SEP     "@@QSPART@@"
#define FUZZ_SEP_LEN (sizeof FUZZ_SEP - 1)

/* The scratch folder (created on first use, removed at exit). */
const char *fuzz_dir(void);

/* Write len bytes to <fuzz_dir>/name; returns the full path (static buffer
 * per call slot, 4 slots) or aborts when the write fails. */
const char *fuzz_write(const char *name, const uint8_t *data, size_t len);

/* Remove every file in the scratch folder (between inputs). */
void fuzz_clear(void);

/* Split data on FUZZ_SEP into at most maxparts parts; returns the count.
 * The last part takes the rest of the input. */
size_t fuzz_split(const uint8_t *data, size_t len, const uint8_t **part, size_t *plen,
                  size_t maxparts);

/* Load path with model_load and exercise the result as described above. */
void fuzz_model(const char *path);

/* Print "fuzz: <message>" and abort. */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
