/* The device-memory check `glow-vk train` runs before it builds a model. */
#ifndef GLOW_APP_MEMORY_CHECK_H
#define GLOW_APP_MEMORY_CHECK_H

#include "glow/backend.h"
#include "glow/model.h"

/* GLOW_ERR_OUT_OF_MEMORY when training `cfg` in batches of `batch` with
 * activations kept as `mode` needs more than the device's memory
 * (glow_model_memory_need against info->memory_bytes; no check when the
 * device does not report its memory). The message states what is needed, in
 * parts, and what the device has, and suggests --memory reversible when it
 * would fit, and the largest --batch that fits. */
glow_status app_check_train_memory(const glow_device_info *info, const glow_model_config *cfg, int batch,
                                   glow_memory_mode mode);

#endif
