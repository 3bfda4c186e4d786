/* io_fixture.h — model helpers shared by the tests/io programs (header-only:
 * each tests/io/test_*.c is its own program). */
#ifndef QS_IO_FIXTURE_H
#define QS_IO_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "qs_test.h"

/* Load path with one format's ops (no sniffing), as model_load would once it
 * picked them; *out is NULL on failure. */
static inline int load_with(const struct model_format_ops *ops, const char *path,
                            struct model **out, struct qs_error *err)
{
	struct model *m = calloc(1, sizeof *m);
	int rc;

	assert_non_null(m);
	m->format = ops->format;
	m->ops = ops;
	m->path = strdup(path);
	rc = ops->load(path, m, err);
	if (rc) {
		model_free(m);
		m = NULL;
	}
	*out = m;
	return rc;
}

/* model_load that fails the test with the message. */
static inline struct model *load_ok(const char *path)
{
	struct model *m = NULL;
	struct qs_error e = {0};
	if (model_load(path, &m, &e))
		fail_msg("%s: %s", path, e.msg);
	return m;
}

/* The tensor called name; fails the test when there is none. */
static inline const struct model_tensor *find(const struct model *m, const char *name)
{
	int64_t i = model_find(m, name);
	if (i < 0)
		fail_msg("tensor %s not found", name);
	return &m->tensors[i];
}

#endif
