/*
 * Logging to stderr or syslog with a level.  Start-up failures go through
 * fatal(); nothing on the packet path logs above debug level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "log.h"

static enum log_level max_level = LOG_LEVEL_INFO;
static int to_syslog;
static const char *log_ident = "dnsmark";

void
log_init(const char *ident, enum log_level level, int use_syslog)
{
	log_ident = ident;
	max_level = level;
	to_syslog = use_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_enabled(enum log_level level)
{
	return level <= max_level;
}

static void
log_write(enum log_level level, const char *fmt, va_list ap)
{
	static const int priorities[] = {
		[LOG_LEVEL_ERR] = LOG_ERR,
		[LOG_LEVEL_WARN] = LOG_WARNING,
		[LOG_LEVEL_INFO] = LOG_INFO,
		[LOG_LEVEL_DEBUG] = LOG_DEBUG,
	};
	static const char *const prefixes[] = {
		[LOG_LEVEL_ERR] = "error: ",
		[LOG_LEVEL_WARN] = "warning: ",
		[LOG_LEVEL_INFO] = "",
		[LOG_LEVEL_DEBUG] = "debug: ",
	};

	if (!log_enabled(level))
		return;
	if (to_syslog) {
		vsyslog(priorities[level], fmt, ap);
		return;
	}
	fprintf(stderr, "%s: %s", log_ident, prefixes[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define LOG_FUNCTION(name, level)			\
	void						\
	name(const char *fmt, ...)			\
	{						\
		va_list ap;				\
							\
		va_start(ap, fmt);			\
		log_write(level, fmt, ap);		\
		va_end(ap);				\
	}

LOG_FUNCTION(log_err, LOG_LEVEL_ERR)
LOG_FUNCTION(log_warn, LOG_LEVEL_WARN)
LOG_FUNCTION(log_info, LOG_LEVEL_INFO)
LOG_FUNCTION(log_debug, LOG_LEVEL_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
