/* Logging to stderr with program name, level and UTC time. Not for events or
 * results: those go over the wire and into Redis. */
#ifndef BS_LOG_H
#define BS_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

/* Sets the program name shown on every line and the lowest level printed.
 * BOOTSTORM_LOG=debug|info|warn|error in the environment overrides level. */
void log_init(const char *prog, enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)

#endif
