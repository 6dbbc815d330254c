/*
 * A tiny log API: levels, stderr or syslog.  Messages about network input go
 * to log_debug() only, so that no client can flood the log.
 */
#ifndef DNSMARK_LOG_H
#define DNSMARK_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Sends messages at level and more severe to syslog (use_syslog) or stderr. */
void log_init(const char *ident, enum log_level level, int use_syslog);

/* Returns non-zero when messages at level are written. */
int log_enabled(enum log_level level);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs at error level and exits with status 1.  Start-up only. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
