/*
 * fy_core_tuning.h -- nginx tuning directives ferry accepts where they
 * cannot change anything in its design (fy_core_tuning.c, main and
 * events; fy_http_tuning.c, http), and load_module (fy_load_module.c).
 */
#ifndef FY_CORE_TUNING_H
#define FY_CORE_TUNING_H

#include "fy_core.h"

extern const fy_command_t  fy_core_tuning_commands[];
extern const fy_command_t  fy_load_module_commands[];

/* Log the start-up warning of a directive accepted without effect:
 *   [warn] "WHAT" has no effect in ferry: WHY; ignored in FILE:LINE */
void fy_conf_ignored(fy_conf_t *cf, const char *what, const char *why);

#endif /* FY_CORE_TUNING_H */
