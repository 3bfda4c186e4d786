#define _GNU_SOURCE
#include "mem_release.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIN_RELEASE (1u << 20)

/* Is [a, b) inside one private read-only mapping of a file? */
static int file_mapped(uintptr_t a, uintptr_t b)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int ok = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		uintptr_t lo, hi;
		unsigned long long off, inode;
		char perms[5], dev[16];
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %llx %15s %llu", &lo, &hi, perms,
		           &off, dev, &inode) != 6)
			continue;
		if (a < lo || b > hi)
			continue;
		ok = inode != 0 && perms[1] == '-' && perms[3] == 'p';
		break;
	}
	fclose(f);
	return ok;
}

/* The whole pages of [p, p + len). */
static bool whole_pages(const void *p, size_t len, uintptr_t *a, uintptr_t *b)
{
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t pg = page > 0 ? (uintptr_t)page : 4096u;

	*a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	*b = ((uintptr_t)p + len) & ~(pg - 1);
	return p && *b > *a;
}

size_t mem_release_mapped(const void *p, size_t len)
{
	uintptr_t a, b;

	if (len < MIN_RELEASE || !whole_pages(p, len, &a, &b) || !file_mapped(a, b))
		return 0;
	if (madvise((void *)a, b - a, MADV_DONTNEED) != 0)
		return 0;
	return b - a;
}

size_t mem_release_own_map(const void *p, size_t len)
{
	uintptr_t a, b;

	if (!whole_pages(p, len, &a, &b) || madvise((void *)a, b - a, MADV_DONTNEED) != 0)
		return 0;
	return b - a;
}
