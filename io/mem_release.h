/* Releasing the resident pages of tensor data read through a file mapping.
 *
 * Readers map whole model files (io/model.c, MAP_PRIVATE, read-only) and
 * tensors point into the mapping. Once a worker has decoded a tensor into
 * its own float buffer, the mapped pages are no longer needed, but they stay
 * in the process's resident set until the file is unmapped, so analysing an
 * 8 GiB model would show 8 GiB of RSS. mem_release_mapped drops them from
 * this process (MADV_DONTNEED); the page cache keeps them, and a later read
 * of the same tensor (a TUI retune) faults them in again from the file.
 *
 * Only whole pages inside [p, p+len) of a private, read-only, file-backed
 * mapping are touched (checked in /proc/self/maps); heap or anonymous memory
 * (tensors decoded or decompressed by a reader) and ranges under 1 MiB are
 * left alone. Best effort: returns the number of bytes released (0 when
 * nothing qualified or the check could not be made). Thread-safe. */
#ifndef QS_MEM_RELEASE_H
#define QS_MEM_RELEASE_H

#include <stddef.h>

size_t mem_release_mapped(const void *p, size_t len);

/* The same for a range the caller knows lies in a private read-only file
 * mapping of its own (model_map_file's), without the check or the 1 MiB
 * floor: for a reader stepping over tensor bytes it has not read. */
size_t mem_release_own_map(const void *p, size_t len);

#endif
