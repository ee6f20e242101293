/* Public multi-process API (include/flanvk/dist.h) over src/dist/comm.h. */
#include "dist/comm.h"
#include "flanvk/dist.h"

int flanvk_dist_init(void) { return fv_dist_init(); }
int flanvk_dist_rank(void) { return fv_dist_get()->rank; }
int flanvk_dist_size(void) { return fv_dist_get()->size; }
int flanvk_dist_local_rank(void) { return fv_dist_get()->local_rank; }
int flanvk_dist_device(int requested, int *device) { return fv_dist_pick_device(requested, device); }
int flanvk_dist_reports_error(void) { return fv_dist_reports_error(); }
void flanvk_dist_end(int rc) { fv_dist_end(rc); }
const char *flanvk_dist_info(void) { return fv_dist_build_info(); }
