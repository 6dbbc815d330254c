/*
 * The sources of copies (include/source.h): the dispatch to each kind's
 * operations, nothing more.  The kinds are in nflog.c and bpfclient.c (or
 * bpfclient_none.c where bpf mode was not built).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "source.h"

void
source_init(struct source *source, const struct source_ops *ops, void *impl,
    const char *what, ...)
{
	va_list ap;

	memset(source, 0, sizeof(*source));
	source->ops = ops;
	source->impl = impl;
	va_start(ap, what);
	vsnprintf(source->what, sizeof(source->what), what, ap);
	va_end(ap);
}

int
source_is_open(const struct source *source)
{
	return source->ops != NULL;
}

int
source_fd(const struct source *source)
{
	return source->ops != NULL ? source->ops->fd(source->impl) : -1;
}

int
source_read(struct source *source, enum source_moment moment)
{
	return source->ops != NULL ? source->ops->read(source->impl, moment) :
	    0;
}

void
source_counters(const struct source *source, struct stats *stats)
{
	if (source->ops != NULL && source->ops->counters != NULL)
		source->ops->counters(source->impl, stats);
}

void
source_close(struct source *source)
{
	if (source->ops == NULL)
		return;
	source->ops->close(source->impl);
	memset(source, 0, sizeof(*source));
}

void
source_question(struct source *source, const struct dns_question *q)
{
	if (source->ops != NULL && source->ops->question != NULL)
		source->ops->question(source->impl, q);
}
