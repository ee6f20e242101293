/* The public context: a device plus what the API layer keeps with it. */
#ifndef FV_API_CONTEXT_H
#define FV_API_CONTEXT_H

#include "flanvk/flanvk.h"
#include "check/check.h"
#include "vk/device.h"

struct flanvk_ctx {
    fv_dev *dev;
    fv_check_log checks;  /* results of flanvk_test_ops, for flanvk_op_results */
};

#endif
