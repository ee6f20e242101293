/* What other library parts (the server, src/serve via src/api/serve.c) may see of a public model
 * handle: its T5 on the device. */
#ifndef FV_API_MODEL_INTERNAL_H
#define FV_API_MODEL_INTERNAL_H

#include "flanvk/model.h"
#include "model/t5.h"

fv_t5 *fv_api_model_t5(flanvk_model *m);

#endif
