/* Diagnostics on stderr. Level from FLANVK_LOG (error, warn, info, debug); default warn. */
#ifndef FV_BASE_LOG_H
#define FV_BASE_LOG_H

#include "base/error.h"

enum { FV_LOG_ERROR, FV_LOG_WARN, FV_LOG_INFO, FV_LOG_DEBUG };

void fv_log(int level, const char *fmt, ...) FV_PRINTF(2, 3);
int fv_log_level(void);

#define fv_warn(...) fv_log(FV_LOG_WARN, __VA_ARGS__)
#define fv_info(...) fv_log(FV_LOG_INFO, __VA_ARGS__)
#define fv_debug(...) fv_log(FV_LOG_DEBUG, __VA_ARGS__)

#endif
